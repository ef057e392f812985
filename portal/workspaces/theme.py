"""The portal's accent colour as CSS variables, with a readable text colour on it, for the
light page and for dark mode (``prefers-color-scheme: dark``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def _shift_until(colour: str, toward: str, step: float, tries: int, good) -> str:
    """``colour`` mixed ``step`` at a time toward ``toward`` until ``good(colour)``, at most ``tries`` times."""
    for _ in range(tries):
        if good(colour):
            return colour
        colour = _mix(colour, toward, step)
    return colour


def accent_for_links(accent: str) -> str:
    """The accent darkened until it reaches 4.5:1 on white, for links and outlines."""
    return _shift_until(accent, "#000000", 0.12, 20, lambda c: contrast(c, "#ffffff") >= 4.5)


def _stands_out(colour: str, backgrounds: tuple[str, ...]) -> bool:
    """Text on ``colour`` reads (4.5:1) and ``colour`` stands out from each background (3:1)."""
    return contrast(colour, text_on(colour)) >= 4.5 and all(contrast(colour, bg) >= 3 for bg in backgrounds)


#: The portal's light backgrounds (cards and the page, app.css --surface and --bg): buttons
#: and progress bars in the accent must stand out from both.
PAGE_BACKGROUNDS = ("#ffffff", "#f6f7f9")


def accent_surface(accent: str) -> str:
    """The accent, darkened if needed so that black or white text on it reaches 4.5:1 and the
    accent itself (a button, a progress bar) reaches 3:1 against the page (WCAG 1.4.11)."""
    return _shift_until(accent, "#000000", 0.08, 40, lambda c: _stands_out(c, PAGE_BACKGROUNDS))


#: The dark palette's backgrounds (app.css, dark mode: --bg, --surface, --surface-2): there
#: the accent is lightened until buttons, bars and links stand out from each of them.
DARK_BACKGROUNDS = ("#111418", "#1b1f24", "#21262c")


def dark_surface(accent: str) -> str:
    """The accent, lightened if needed so that it reaches 3:1 against every dark background and
    black or white text on it reaches 4.5:1."""
    return _shift_until(accent, "#ffffff", 0.08, 40, lambda c: _stands_out(c, DARK_BACKGROUNDS))


def dark_ink(surface: str, soft: str) -> str:
    """Links in dark mode: the surface lightened until it reaches 4.5:1 on every dark background
    and on the dark tint (notices)."""
    return _shift_until(surface, "#ffffff", 0.12, 20,
                        lambda c: all(contrast(c, bg) >= 4.5 for bg in (*DARK_BACKGROUNDS, soft)))


@dataclass(frozen=True)
class AccentShades:
    """What the portal makes of a chosen accent (Settings shows it, the theme uses it)."""

    chosen: str
    surface: str  # buttons, progress bars
    text: str  # text on the surface
    ink: str  # links, outlines
    soft: str  # tints
    dark: AccentShades | None = None  # the same four for dark mode

    @property
    def adjusted(self) -> bool:
        return self.surface != self.chosen

    def css(self) -> str:
        return f"--accent:{self.surface};--accent-text:{self.text};--accent-ink:{self.ink};--accent-soft:{self.soft};"


def _chosen(accent: str) -> str:
    return accent.lower() if HEX.match(accent or "") else DEFAULT_ACCENT


def accent_shades_dark(accent: str) -> AccentShades:
    chosen = _chosen(accent)
    surface = dark_surface(chosen)
    soft = _mix(surface, DARK_BACKGROUNDS[1], 0.8)
    return AccentShades(chosen, surface, text_on(surface), dark_ink(surface, soft), soft)


def accent_shades(accent: str) -> AccentShades:
    chosen = _chosen(accent)
    surface = accent_surface(chosen)
    return AccentShades(chosen, surface, text_on(surface), accent_for_links(surface), _mix(surface, "#ffffff", 0.88),
                        accent_shades_dark(chosen))


def theme_css(site) -> str:
    """CSS custom properties for a workspace (starter plans keep the default accent)."""
    shades = accent_shades(site.accent_color if site.full_branding else DEFAULT_ACCENT)
    return f":root{{{shades.css()}}}\n@media screen and (prefers-color-scheme:dark){{:root{{{shades.dark.css()}}}}}\n"
