"""An accent colour cannot break the portal: a too-light one is darkened where it would be unreadable."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from portal.workspaces.theme import DARK_BACKGROUNDS, accent_shades, contrast
from tests.e2e.conftest import demo_links, sign_in_with

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}


def hex_of(css_colour: str) -> str:
    r, g, b = (int(float(x)) for x in re.findall(r"[\d.]+", css_colour)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def colour(page: Page, selector: str, prop: str) -> str:
    return hex_of(page.locator(selector).first.evaluate(f"e => getComputedStyle(e).{prop}"))


@pytest.mark.browser_context_args(**PHONE)
def test_a_too_light_accent_is_previewed_darker_and_the_portal_stays_readable(page: Page, fresh_db, screenshot):
    links = demo_links(fresh_db)
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{fresh_db.url}/studio/")
    page.goto(f"{fresh_db.url}/studio/settings/portal")

    # The browser's shades are the server's, colour for colour.
    for chosen in ("#f2f2f2", "#ffdd00", "#2952cc", "#7dd3fc", "#00ff88", "#111111", "#ff7a00"):
        in_browser = page.evaluate("c => window.portalAccentShades(c)", chosen)
        expected = accent_shades(chosen)
        dark = expected.dark
        assert in_browser == {"chosen": chosen, "surface": expected.surface, "text": expected.text,
                              "ink": expected.ink, "soft": expected.soft,
                              "dark": {"surface": dark.surface, "text": dark.text, "ink": dark.ink, "soft": dark.soft}}, chosen

    accent = page.get_by_label("Accent colour", exact=True)
    accent.fill("#f2f2f2")
    expect(page.get_by_test_id("accent-adjusted")).to_contain_text("#f2f2f2 is too light")
    expect(page.locator("[data-accent-picker]")).to_have_value("#f2f2f2")
    button = accent_shades("#f2f2f2").surface
    r, g, b = (int(button[i:i + 2], 16) for i in (1, 3, 5))
    expect(page.get_by_test_id("preview-button")).to_have_css("background-color", f"rgb({r}, {g}, {b})")  # after its transition
    assert contrast(button, "#f6f7f9") >= 3
    assert contrast(colour(page, "[data-testid=preview-button]", "color"), button) >= 4.5
    assert contrast(colour(page, "[data-testid=preview-link]", "color"), "#f6f7f9") >= 4.5
    # The dark-mode preview beside it: the accent there is lightened until it stands out on the dark page.
    accent.fill("#111111")
    dark = accent_shades("#111111").dark
    r, g, b = (int(dark.surface[i:i + 2], 16) for i in (1, 3, 5))
    expect(page.get_by_test_id("preview-button-dark")).to_have_css("background-color", f"rgb({r}, {g}, {b})")
    assert all(contrast(dark.surface, background) >= 3 for background in DARK_BACKGROUNDS)
    assert contrast(colour(page, "[data-testid=preview-link-dark]", "color"), "#111418") >= 4.5
    accent.fill("#f2f2f2")
    screenshot("accent-preview-375")
    page.get_by_test_id("save-settings").click()
    expect(page).to_have_url(re.compile(r"/studio/settings/portal\?notice=saved$"))  # saved, the page loaded again
    expect(page.get_by_test_id("accent-adjusted")).to_be_visible()
    page.wait_for_load_state("load")

    # In the portal: the progress bars and the Approve button stand out; their text reads.
    page.context.clear_cookies()
    sign_in_with(page, links["alice@northwind.example"])
    bar = colour(page, ".progress__bar", "color")
    assert contrast(bar, "#ffffff") >= 3 and contrast(bar, "#f6f7f9") >= 3
    page.get_by_role("link", name=re.compile("Website redesign")).click()
    page.get_by_test_id("project-tabs").get_by_role("link", name="Deliverables").click()
    page.locator("a[href*='/deliverables/']").filter(has_text=re.compile("Homepage")).first.click()
    approve = page.locator(".button--primary").first
    expect(approve).to_be_visible()
    surface = hex_of(approve.evaluate("e => getComputedStyle(e).backgroundColor"))
    assert contrast(surface, "#ffffff") >= 3
    assert contrast(hex_of(approve.evaluate("e => getComputedStyle(e).color")), surface) >= 4.5
    screenshot("portal-light-accent-375")
