"""The portal's accent colour as CSS variables, with a readable text colour on it."""

from __future__ import annotations

import re

DEFAULT_ACCENT = "#2952cc"
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str) -> str:
    """Black or white, whichever reads better on ``background``."""
    return "#ffffff" if contrast(background, "#ffffff") >= contrast(background, "#111111") else "#111111"


def _mix(hex_colour: str, other: str, weight: float) -> str:
    a = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x * (1 - weight) + y * weight):02x}" for x, y in zip(a, b))


def accent_for_links(accent: str) -> str:
    """The accent darkened until it reaches 4.5:1 on white, for links and outlines."""
    colour = accent
    for _ in range(20):
        if contrast(colour, "#ffffff") >= 4.5:
            return colour
        colour = _mix(colour, "#000000", 0.12)
    return colour


def accent_surface(accent: str) -> str:
    """The accent, darkened if needed so that black or white text on it reaches 4.5:1."""
    colour = accent
    for _ in range(20):
        if contrast(colour, text_on(colour)) >= 4.5:
            return colour
        colour = _mix(colour, "#000000", 0.08)
    return colour


def theme_css(site) -> str:
    """CSS custom properties for a workspace (starter plans keep the default accent)."""
    accent = site.accent_color if site.full_branding and HEX.match(site.accent_color or "") else DEFAULT_ACCENT
    accent = accent_surface(accent.lower())
    return (
        ":root{"
        f"--accent:{accent};"
        f"--accent-text:{text_on(accent)};"
        f"--accent-ink:{accent_for_links(accent)};"
        f"--accent-soft:{_mix(accent, '#ffffff', 0.88)};"
        "}\n"
    )
