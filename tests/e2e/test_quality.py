"""The quality bar of every portal page: accessible (axe), and right at 375 px wide.

The test crawls the portal as alice from the home page, so every page a client can
reach is checked, including tabs and detail pages added later, in light and dark mode.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from portal.workspaces.theme import contrast
from tests.e2e.conftest import demo_links, run_db, sign_in_with

pytestmark = pytest.mark.e2e

SKIP = re.compile(r"/(file|download|thumbnail|logo|theme\.css|logout|logout-everywhere|preview|pdf|export)(/|$|\?)|/print$")
MAX_PAGES = 40
STUDIO_PAGES = 60
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
SCHEMES = pytest.mark.parametrize("scheme", ["light", "dark"])
PAGE_BACKGROUND = {"light": "rgb(246, 247, 249)", "dark": "rgb(17, 20, 24)"}  # app.css --bg


def use_scheme(page: Page, scheme: str) -> None:
    """The system's colour scheme for the rest of the test; checked on the next page shown.

    With reduced motion, as the stylesheet then has no transitions: axe reads the colours
    the scheme gives, not those of a background still fading from the other scheme.
    """
    page.emulate_media(color_scheme=scheme, reduced_motion="reduce")


def expect_scheme(page: Page, scheme: str) -> None:
    """The page shows ``scheme``: its background has switched, and two frames have been drawn
    since, so that every element's colours are those of the scheme, not of the one before."""
    expect(page.locator("body")).to_have_css("background-color", PAGE_BACKGROUND[scheme])
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def crawl(page: Page, start: str, limit: int = MAX_PAGES) -> list[str]:
    """Same-portal pages reachable by links from ``start`` (breadth first)."""
    base = urlsplit(start)
    seen, queue, pages = {start}, [start], []
    while queue and len(pages) < limit:
        url = queue.pop(0)
        response = page.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        pages.append(url)
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            parts = urlsplit(href)
            link = f"{parts.scheme}://{parts.netloc}{parts.path}"
            if parts.netloc == base.netloc and parts.path.startswith(base.path) and not SKIP.search(parts.path):
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
    return pages


#: axe's rules that depend on colours alone (what a colour scheme changes).
COLOUR_RULES = {"type": "rule", "values": ["color-contrast", "link-in-text-block"]}
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def serious_violations(page: Page, rules: dict | list = WCAG_AA) -> list[str]:
    results = Axe().run(page, options={"runOnly": rules})
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]} {_colours(v['nodes'][:3])}".rstrip()
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _colours(nodes: list[dict]) -> str:
    """The colours axe measured for a contrast finding (text on background, ratio), if any."""
    found = [check["data"] for node in nodes for check in node.get("any", [])
             if isinstance(check.get("data"), dict) and "fgColor" in check["data"]]
    return " ".join(f"{d['fgColor']} on {d['bgColor']} = {d.get('contrastRatio')}" for d in found)


def dark_violations(page: Page) -> list[str]:
    """axe's colour findings in dark mode, each confirmed by a second look half a second
    later (a finding that was a page still repainting is gone by then; a real one stays)."""
    found = serious_violations(page, COLOUR_RULES)
    if found:
        page.wait_for_timeout(500)
        found = serious_violations(page, COLOUR_RULES)
    return found


@pytest.mark.browser_context_args(**PHONE)
def test_every_portal_page_is_accessible_and_fits_a_phone(page: Page, fresh_db, screenshot):
    links = demo_links(fresh_db)
    sign_in_with(page, links["alice@northwind.example"])
    pages = crawl(page, f"{fresh_db.url}/p/demo/")
    assert len(pages) >= 3, pages
    assert check_pages(page, pages, screenshot) == {}


def check_pages(page: Page, pages: list[str], screenshot, prefix: str = "", part: slice = slice(None)) -> dict[str, list[str]]:
    """Each page (of ``part`` of them) at 375 px, in light then dark mode (the same page, its
    colour scheme switched): axe's serious findings, sideways scrolling, clipped tables,
    failed requests."""
    problems: dict[str, list[str]] = {}
    failed: list[str] = []
    page.on("console", lambda message: failed.append(message.text) if message.type == "error" else None)
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    for number, url in list(enumerate(pages))[part]:
        failed.clear()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        found = []
        for scheme in ("light", "dark"):
            use_scheme(page, scheme)
            expect_scheme(page, scheme)
            if scheme == "light":
                found += [f"light: {violation}" for violation in serious_violations(page)]
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > 375:
                    found.append(f"page is {width}px wide at a 375px viewport")
                found += [f"table {name} clips a column" for name in _clipped_tables(page)]
            else:
                # Only colours change with the scheme: the layout and the markup were checked in light.
                found += [f"dark: {violation}" for violation in dark_violations(page)]
            if scheme == "light" or not prefix:  # the studio's dark pages: the README's screenshots show them
                screenshot(f"{prefix}{number:02d}-{urlsplit(url).path.strip('/').replace('/', '_') or 'home'}-{scheme}")
        found += [f"failed: {text}" for text in failed]
        if found:
            problems[url] = found
        use_scheme(page, "light")
    return problems


#: The studio's pages are checked in this many parts, each a test of its own (each crawls
#: the same pages, then checks every third), so that parallel workers share them.
STUDIO_PARTS = 3


@pytest.mark.browser_context_args(**PHONE)
@pytest.mark.parametrize("part", range(STUDIO_PARTS))
def test_every_studio_page_the_owner_reaches_fits_a_phone(page: Page, fresh_db, screenshot, part):
    links = demo_links(fresh_db)
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{fresh_db.url}/studio/")
    pages = crawl(page, f"{fresh_db.url}/studio/", limit=STUDIO_PAGES)
    assert len(pages) >= 20, pages
    assert check_pages(page, pages, screenshot, prefix="studio-", part=slice(part, None, STUDIO_PARTS)) == {}


@SCHEMES
def test_sign_in_pages_are_accessible(page: Page, fresh_db, scheme):
    fresh_db.cli("demo")
    use_scheme(page, scheme)
    for url in ("/p/demo/login", "/studio/login"):
        page.goto(fresh_db.url + url)
        expect_scheme(page, scheme)
        assert serious_violations(page) == [], url
    page.get_by_label("Work email").fill("nobody@example.com")
    page.get_by_test_id("send-link").click()
    expect(page.get_by_test_id("link-sent")).to_be_visible()
    assert serious_violations(page) == []


def _clipped_tables(page: Page) -> list[str]:
    """Tables wider than the box that shows them (a cut-off column on a phone)."""
    return page.eval_on_selector_all(
        "table", "tables => tables.filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)"
        ".map(t => t.dataset.testid || t.className)")


@pytest.mark.browser_context_args(**PHONE)
def test_the_team_and_emails_pages_fit_a_phone_and_hide_personal_links(page: Page, fresh_db, screenshot):
    links = demo_links(fresh_db)
    # A sign-in link for alice, asked for on the portal's form, lands in the outbox.
    page.goto(f"{fresh_db.url}/p/demo/login")
    page.get_by_label("Email address").fill("alice@northwind.example")
    page.get_by_test_id("send-link").click()
    expect(page.get_by_test_id("link-sent")).to_be_visible()
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{fresh_db.url}/studio/")
    for _ in range(150):  # up to 30 s: the server's mail loop makes the link (slower on a busy machine)
        page.goto(f"{fresh_db.url}/studio/outbox")
        if page.locator("a[href^='/studio/outbox/']").count():
            break
        page.wait_for_timeout(200)
    failed = []
    page.on("console", lambda message: failed.append(message.text) if message.type == "error" else None)
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}") if response.status >= 400 else None)
    problems = {}
    for name in ("team", "outbox"):
        page.goto(f"{fresh_db.url}/studio/{name}")
        if clipped := _clipped_tables(page):
            problems[name] = clipped
        if violations := serious_violations(page):
            problems[f"{name} axe"] = violations
        screenshot(f"studio-{name}-375")
    page.locator("a[href^='/studio/outbox/']").first.click()
    # Sent (the browser tests' server delivers to aiosmtpd; on a busy machine the mail loop
    # may take a while): its text, link and all, is not shown.
    for _ in range(150):
        if page.get_by_test_id("body-hidden").count():
            break
        assert "/p/demo/login/" not in page.content()  # queued, the link is hidden too
        page.wait_for_timeout(200)
        page.reload()
    expect(page.get_by_test_id("body-hidden")).to_be_visible()
    assert "/p/demo/login/" not in page.content()
    screenshot("studio-outbox-message-375")
    assert problems == {}
    assert failed == []  # no failed request (the favicon included) and no console error


@SCHEMES
@pytest.mark.browser_context_args(**PHONE)
def test_a_portal_404_is_branded_and_leads_home(page: Page, fresh_db, screenshot, scheme):
    links = demo_links(fresh_db)
    use_scheme(page, scheme)
    sign_in_with(page, links["alice@northwind.example"])
    response = page.goto(f"{fresh_db.url}/p/demo/projects/999999")
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("portal-header")).to_be_visible()
    expect_scheme(page, scheme)
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    screenshot("portal-404-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert serious_violations(page) == []
    page.get_by_test_id("start-page").click()
    expect(page).to_have_url(f"{fresh_db.url}/p/demo/")


@pytest.mark.browser_context_args(**PHONE)
def test_a_tab_strip_that_scrolls_says_so_and_shows_the_current_tab(page: Page, fresh_db):
    links = demo_links(fresh_db)
    sign_in_with(page, links["alice@northwind.example"])
    page.get_by_role("link", name=re.compile("Website redesign")).click()
    tabs = page.get_by_test_id("project-tabs")
    expect(tabs).to_have_class(re.compile(r"\bhas-more-end\b"))  # more tabs to the right: the edge fades
    page.goto(page.url + "/feedback")
    expect(tabs).to_have_class(re.compile(r"\bhas-more-start\b"))
    current = tabs.locator('[aria-current="page"]')
    box, strip = current.bounding_box(), tabs.bounding_box()
    assert box and strip and box["x"] >= strip["x"] and box["x"] + box["width"] <= strip["x"] + strip["width"] + 1
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(tabs).not_to_have_class(re.compile(r"has-more"))  # everything fits: no fade


def set_accent(accent: str) -> None:
    async def work():
        from portal.workspaces.tables import Workspace

        await Workspace.update({Workspace.accent_color: accent}).where(Workspace.slug == "demo")

    run_db(work)


def _hex(css_colour: str) -> str:
    r, g, b = (int(float(x)) for x in re.findall(r"[\d.]+", css_colour)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


# What an element is drawn in, and the first opaque background behind it (its own or an ancestor's).
COLOURS = """(e, prop) => {
  let back = e.parentElement;
  while (back && getComputedStyle(back).backgroundColor.replace(/ /g, "").match(/rgba\\(.*,0\\)$|^transparent$/))
    back = back.parentElement;
  return [getComputedStyle(e)[prop], getComputedStyle(back || document.body).backgroundColor,
          getComputedStyle(document.body).backgroundColor];
}"""


def stands_out(page: Page, selector: str, prop: str) -> tuple[str, float, float]:
    """An element's colour and its contrast with the background behind it and with the page."""
    colour, behind, body = (_hex(c) for c in page.locator(selector).first.evaluate(COLOURS, prop))
    return colour, contrast(colour, behind), contrast(colour, body)


@pytest.mark.parametrize("accent", ["#f2f2f2", "#111111"])
@pytest.mark.browser_context_args(**PHONE, color_scheme="dark")
def test_a_low_contrast_accent_still_stands_out_in_dark_mode(page: Page, fresh_db, screenshot, accent):
    """In dark mode the bars, the Approve button and the links in the workspace's accent reach
    3:1 (4.5:1 for links and for the text on the button) against what is behind them."""
    links = demo_links(fresh_db)
    set_accent(accent)
    sign_in_with(page, links["alice@northwind.example"])
    expect_scheme(page, "dark")
    bar, on_card, on_page = stands_out(page, ".progress__bar", "color")
    assert on_card >= 3 and on_page >= 3, (bar, on_card, on_page)
    screenshot("home")
    page.get_by_role("link", name=re.compile("Website redesign")).click()
    page.get_by_test_id("project-tabs").get_by_role("link", name="Deliverables").click()
    page.locator("a[href*='/deliverables/']").filter(has_text=re.compile("Homepage")).first.click()
    approve = ".button--primary"
    expect(page.locator(approve).first).to_be_visible()
    surface, behind, on_page = stands_out(page, approve, "backgroundColor")
    assert behind >= 3 and on_page >= 3, (surface, behind, on_page)
    text = _hex(page.locator(approve).first.evaluate("e => getComputedStyle(e).color"))
    assert contrast(text, surface) >= 4.5, (text, surface)
    link, behind, on_page = stands_out(page, "main a[href]:not(.button, .tabs__tab, .breadcrumbs a)", "color")
    assert behind >= 4.5 and on_page >= 4.5, (link, behind, on_page)
    screenshot("deliverable")
