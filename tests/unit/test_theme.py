"""Accent colours: the text on them and the links made from them stay readable."""

from __future__ import annotations

import random
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from portal.workspaces.theme import (
    DARK_BACKGROUNDS,
    DEFAULT_ACCENT,
    PAGE_BACKGROUNDS,
    accent_for_links,
    accent_shades,
    accent_shades_dark,
    accent_surface,
    contrast,
    text_on,
    theme_css,
)

APP_CSS = (Path(__file__).resolve().parents[2] / "static" / "css" / "app.css").read_text()
_sweep = random.Random(20260)
SWEEP = [f"#{_sweep.randrange(0x1000000):06x}" for _ in range(300)]


@pytest.mark.parametrize("accent", ["#2952cc", "#ffdd00", "#00ff88", "#111111", "#e11d48", "#ffffff", "#7dd3fc", "#ff7a00"])
def test_text_on_the_accent_surface_meets_aa(accent):
    surface = accent_surface(accent)
    assert contrast(surface, text_on(surface)) >= 4.5


@pytest.mark.parametrize("accent", ["#f2f2f2", "#ffffff", "#ffdd00", "#7dd3fc", "#00ff88", "#fde68a", "#2952cc"])
def test_buttons_and_bars_in_the_accent_stand_out_from_the_page(accent):
    """The accent as a surface (Approve button, progress bar) reaches 3:1 on every page background."""
    surface = accent_surface(accent)
    assert all(contrast(surface, background) >= 3 for background in ("#ffffff", "#f6f7f9")), surface
    css = theme_css(SimpleNamespace(accent_color=accent, full_branding=True))
    assert f"--accent:{surface};" in css


@pytest.mark.parametrize("accent", ["#ffdd00", "#7dd3fc", "#2952cc", "#ffffff"])
def test_link_colour_reaches_aa_on_white(accent):
    assert contrast(accent_for_links(accent), "#ffffff") >= 4.5


def test_yellow_gets_dark_text_and_navy_gets_white():
    assert text_on("#ffdd00") == "#111111"
    assert text_on("#1e3a8a") == "#ffffff"


def test_starter_plan_keeps_the_default_accent():
    starter = SimpleNamespace(accent_color="#ff0000", full_branding=False)
    growth = SimpleNamespace(accent_color="#ff0000", full_branding=True)
    assert f"--accent:{DEFAULT_ACCENT}" in theme_css(starter)
    assert "--accent:#ff0000" in theme_css(growth)


def test_a_malformed_colour_falls_back():
    site = SimpleNamespace(accent_color="red;}body{display:none", full_branding=True)
    css = theme_css(site)
    assert "display:none" not in css and f"--accent:{DEFAULT_ACCENT}" in css


@pytest.mark.parametrize("accent", ["#f2f2f2", "#ffffff", "#000000", "#111111", "#2952cc", "#ffff00", "#777777", "#e11d48", *SWEEP])
def test_dark_shades_stand_out_and_read_on_every_dark_background(accent):
    dark = accent_shades_dark(accent)
    assert all(contrast(dark.surface, background) >= 3 for background in DARK_BACKGROUNDS), dark
    assert contrast(dark.text, dark.surface) >= 4.5, dark
    assert all(contrast(dark.ink, background) >= 4.5 for background in (*DARK_BACKGROUNDS, dark.soft)), dark
    assert contrast(dark.soft, "#e6e8eb") >= 4.5, dark  # the dark palette's text on the tint


@pytest.mark.parametrize("accent", ["#ffffff", "#f2f2f2", "#ffff00", "#e11d48"])
def test_an_accent_that_already_stands_out_on_dark_is_kept(accent):
    assert accent_shades_dark(accent).surface == accent


def test_theme_css_has_a_dark_block_with_the_dark_shades():
    css = theme_css(SimpleNamespace(accent_color="#111111", full_branding=True))
    light, dark = accent_shades("#111111"), accent_shades_dark("#111111")
    assert dark.surface != light.surface
    block = re.search(r"@media screen and \(prefers-color-scheme:dark\)\{:root\{([^}]*)\}\}", css)
    assert block and f"--accent:{dark.surface};" in block[1] and f"--accent-ink:{dark.ink};" in block[1]
    assert css.index(f"--accent:{light.surface};") < block.start()  # the dark block comes last and wins


def _variables(start: str) -> dict[str, str]:
    """The custom properties of the stylesheet's first ``:root`` block after ``start``."""
    at = APP_CSS.index(":root {", APP_CSS.index(start))
    return dict(re.findall(r"(--[\w-]+):\s*([^;]+);", APP_CSS[at:APP_CSS.index("}", at)]))


LIGHT, DARK = _variables("1. Tokens"), _variables("@media screen and (prefers-color-scheme: dark) {")


def test_the_stylesheet_defaults_are_the_default_accents_shades_in_both_schemes():
    """Pages without a workspace theme (the studio, sign-in) get the same shades theme.py gives #2952cc."""
    for values, shades in ((LIGHT, accent_shades(DEFAULT_ACCENT)), (DARK, accent_shades_dark(DEFAULT_ACCENT))):
        assert (values["--accent"], values["--accent-text"], values["--accent-ink"], values["--accent-soft"]) == (
            shades.surface, shades.text, shades.ink, shades.soft)
    # theme.py's backgrounds are the stylesheet's.
    assert (LIGHT["--surface"], LIGHT["--bg"]) == PAGE_BACKGROUNDS
    assert (DARK["--bg"], DARK["--surface"], DARK["--surface-2"]) == DARK_BACKGROUNDS


def test_the_dark_palette_text_reads_on_its_backgrounds():
    backgrounds = [DARK[name] for name in ("--bg", "--surface", "--surface-2", "--surface-3")]
    for name in ("--text", "--text-2", "--muted", "--placeholder", "--danger", "--success", "--warning"):
        assert all(contrast(DARK[name], background) >= 4.5 for background in backgrounds), name
    assert contrast(DARK["--input-border"], DARK["--surface"]) >= 3
    for tone in ("neutral", "info", "review", "warn", "good", "teal", "bad", "stopped", "banner"):
        assert contrast(DARK[f"--tone-{tone}"], DARK[f"--tone-{tone}-text"]) >= 4.5, tone
