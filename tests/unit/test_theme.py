"""Accent colours: the text on them and the links made from them stay readable."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from portal.workspaces.theme import DEFAULT_ACCENT, accent_for_links, accent_surface, contrast, text_on, theme_css


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
