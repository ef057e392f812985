"""The studio's projects in Chromium: a new project for Northwind, its milestones and tasks,
and the client's % done moving with them; milestones reordered with the buttons (no
JavaScript) and by drag and drop (JavaScript)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import SCREENSHOTS, demo_links, sign_in_with
from tests.e2e.test_quality import serious_violations

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots/projects")


def shoot(page: Page, test_name: str, name: str) -> None:
    """A full-page screenshot in test-results/screenshots and /tmp/shots/projects.

    Not the ``screenshot`` fixture: ``caret="initial"`` here, because hiding the caret makes
    Playwright add an inline style, which our CSP refuses (a console error that is the
    tool's, not the page's).
    """
    filename = f"{test_name}-{name}.png".replace("[", "-").replace("]", "")
    for folder in (SCREENSHOTS, SHOTS):
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / filename), full_page=True, caret="initial")


def fits(page: Page, width: int) -> list[str]:
    """Elements of our page wider than the viewport (tables and the tab strip scroll inside their frame)."""
    return page.evaluate(
        "(width) => Array.from(document.querySelectorAll('main *'))"
        ".filter(e => !e.closest('.table-wrap, .tabs') && e.getBoundingClientRect().right > width + 1)"
        ".map(e => e.outerHTML.slice(0, 80))", width)


def names(page: Page) -> list[str]:
    return [text.strip() for text in page.get_by_test_id("milestone-name").all_inner_texts()]


def project_cycle(page: Page, browser: Browser, server, test_name: str, *, javascript: bool, width: int) -> None:
    links = demo_links(server)
    checked: list[str] = []
    console: list[str] = []
    auditing: list[bool] = []  # axe's own inline styles are refused by our CSP while it runs: not the page's

    def on_console(message) -> None:
        # The one 422 is the deliberate form error below.
        if message.type == "error" and not auditing and "status of 422" not in message.text:
            console.append(message.text)

    page.on("console", on_console)

    def check(name: str) -> None:
        if javascript:
            auditing.append(True)
            violations = serious_violations(page)
            page.wait_for_timeout(50)  # its console messages arrive after the evaluation
            auditing.clear()
            assert violations == [], (name, page.url)
        else:
            assert fits(page, width) == [], (name, page.url)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, page.url)
        shoot(page, test_name, name)
        checked.append(name)

    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{server.url}/studio/")
    page.goto(f"{server.url}/studio/projects")
    expect(page.get_by_test_id("studio-projects")).to_contain_text("Website redesign")
    check("list")

    # A bad date pair first: the error shows beside the field, nothing is created.
    form = page.get_by_test_id("new-project-form")
    form.get_by_label("Client organisation").select_option(label="Northwind Traders")
    form.get_by_label("Name").fill("Loyalty app")
    form.get_by_label("Lead (optional)").select_option(label="Sam Lee")
    form.get_by_label("Status").select_option(label="In progress")
    form.get_by_label("Start date (optional)").fill("2027-03-01")
    form.get_by_label("Due date (optional)").fill("2027-02-01")
    form.get_by_role("button", name="Create project").click()
    form = page.get_by_test_id("new-project-form")
    expect(form.get_by_label("Due date (optional)")).to_have_attribute("aria-invalid", "true")
    expect(form).to_contain_text("The due date is before the start date.")
    expect(form.get_by_label("Name")).to_have_value("Loyalty app")
    check("list-error")
    form.get_by_label("Due date (optional)").fill("2027-06-30")
    form.get_by_role("button", name="Create project").click()
    expect(page.get_by_test_id("flash")).to_have_text("Project created.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Loyalty app")
    project_id = int(re.search(r"/studio/projects/(\d+)$", page.url).group(1))
    expect(page.get_by_test_id("project-details")).to_contain_text("Sam Lee")
    check("overview")

    # Milestones: three, so that there is something to reorder.
    page.get_by_role("link", name="Milestones").click()
    expect(page.get_by_test_id("no-milestones")).to_be_visible()
    for count, name in enumerate(("Design", "Build", "Launch"), start=1):
        add = page.get_by_test_id("add-milestone-form")
        add.get_by_label("Name").fill(name)
        add.get_by_role("button", name="Add milestone").click()
        expect(page.get_by_test_id("milestone")).to_have_count(count)
        expect(page.get_by_test_id("flash")).to_have_text("Milestone added.")
    assert names(page) == ["Design", "Build", "Launch"]
    check("milestones")
    # Up and Down (plain forms: they work with and without JavaScript).
    page.get_by_role("button", name="Move “Design” down").click()
    expect(page.get_by_test_id("milestone-name")).to_have_text(["Build", "Design", "Launch"])
    page.get_by_role("button", name="Move “Launch” up").click()
    expect(page.get_by_test_id("milestone-name")).to_have_text(["Build", "Launch", "Design"])
    expect(page.get_by_role("button", name="Move “Build” up")).to_be_disabled()
    if javascript:
        # Drag "Design" (last) onto the top half of the first item: it goes first.
        items = page.get_by_test_id("milestone")
        with page.expect_response(lambda r: r.url.endswith("/milestones/order")) as answer:
            items.nth(2).locator("[data-drag-handle]").drag_to(items.nth(0), target_position={"x": 40, "y": 4})
        assert answer.value.status == 200
        expect(page.get_by_test_id("milestone-name")).to_have_text(["Design", "Build", "Launch"])
        page.reload()  # saved on the server, not only moved in the page
        expect(page.get_by_test_id("milestone-name")).to_have_text(["Design", "Build", "Launch"])
        expect(page.get_by_role("button", name="Move “Design” up")).to_be_disabled()
    else:
        expect(page.locator("[data-drag-handle]").first).to_be_hidden()  # no handle that cannot work
        page.get_by_role("button", name="Move “Design” up").click()
        page.get_by_role("button", name="Move “Design” up").click()
        expect(page.get_by_test_id("milestone-name")).to_have_text(["Design", "Build", "Launch"])
    check("milestones-reordered")

    # Two tasks; one is done.
    page.get_by_role("link", name="Tasks").click()
    expect(page.get_by_test_id("no-tasks")).to_be_visible()
    for count, title in enumerate(("Wireframes", "Loyalty rules"), start=1):
        add = page.get_by_test_id("add-task-form")
        add.get_by_label("Title").fill(title)
        add.get_by_label("Assignee (optional)").select_option(label="Sam Lee")
        add.get_by_label("Milestone (optional)").select_option(label="Design")
        add.get_by_role("button", name="Add task").click()
        expect(page.get_by_test_id("task-row")).to_have_count(count)
        expect(page.get_by_test_id("flash")).to_have_text("Task added.")
    check("tasks")
    page.get_by_role("link", name="Wireframes").click()
    page.get_by_test_id("set-done").click()
    expect(page.get_by_test_id("flash")).to_have_text("Status set to Done.")
    expect(page.get_by_test_id("task-status")).to_have_text("Done")
    comment = page.get_by_test_id("comment-form")
    comment.get_by_label("Add a comment").fill("Signed off in the Tuesday call.")
    comment.get_by_role("button", name="Add comment").click()
    expect(page.get_by_test_id("comment")).to_contain_text("Signed off in the Tuesday call.")
    expect(page.get_by_test_id("comment")).to_contain_text("Olivia Owner")
    check("task")
    page.goto(f"{server.url}/studio/projects/{project_id}")
    expect(page.get_by_test_id("percent-done")).to_have_text("50%")
    expect(page.get_by_test_id("open-tasks")).to_have_text("1")

    # Give alice access, then look with her eyes.
    page.goto(f"{server.url}/studio/projects/{project_id}/access")
    page.get_by_label("Email").fill("alice@northwind.example")
    page.get_by_test_id("send-invite").click()
    expect(page.get_by_test_id("access-list")).to_contain_text("alice@northwind.example")
    client = browser.new_context(java_script_enabled=javascript, viewport={"width": width, "height": 900})
    alice = client.new_page()
    sign_in_with(alice, links["alice@northwind.example"])
    alice.goto(f"{server.url}/p/demo/projects/{project_id}")
    expect(alice.get_by_test_id("percent-done")).to_have_text("50%")
    expect(alice.get_by_test_id("milestones")).to_contain_text("Design")
    body = alice.content()
    assert "Wireframes" not in body and "Signed off" not in body and "Loyalty rules" not in body
    # Marking the second task done moves her % to 100.
    page.goto(f"{server.url}/studio/projects/{project_id}/tasks")
    page.get_by_role("link", name="Loyalty rules").click()
    page.get_by_test_id("set-done").click()
    expect(page.get_by_test_id("task-status")).to_have_text("Done")
    alice.reload()
    expect(alice.get_by_test_id("percent-done")).to_have_text("100%")
    client.close()

    # Archive (behind a confirm): read-only in the studio, gone from the list, back on Unarchive.
    page.goto(f"{server.url}/studio/projects/{project_id}")
    page.get_by_text("Archive this project").click()
    page.get_by_role("button", name="Yes, archive it").click()
    expect(page.get_by_test_id("archived-note")).to_be_visible()
    expect(page.get_by_test_id("edit-project-form")).to_have_count(0)
    check("archived")
    page.get_by_role("link", name="Projects", exact=True).first.click()
    expect(page.get_by_test_id("studio-projects")).not_to_contain_text("Loyalty app")
    page.get_by_role("link", name="Show archived projects (1)").click()
    page.get_by_role("link", name="Loyalty app").click()
    page.get_by_test_id("unarchive").click()
    expect(page.get_by_test_id("flash")).to_have_text("Project unarchived.")
    expect(page.get_by_test_id("edit-project-form")).to_be_visible()
    assert len(checked) == 8
    assert console == [], "\n".join(console)


@pytest.mark.browser_context_args(viewport={"width": 1280, "height": 900})
def test_a_new_project_its_milestones_and_tasks_move_the_clients_percent(page: Page, browser, fresh_db, request):
    project_cycle(page, browser, fresh_db, request.node.name, javascript=True, width=1280)


@pytest.mark.browser_context_args(viewport={"width": 375, "height": 812}, java_script_enabled=False)
def test_the_same_on_a_phone_without_javascript(page: Page, browser, fresh_db, request):
    project_cycle(page, browser, fresh_db, request.node.name, javascript=False, width=375)


@pytest.mark.browser_context_args(viewport={"width": 375, "height": 812})
def test_studio_project_pages_are_accessible_on_a_phone(page: Page, fresh_db, request):
    """With JavaScript at 375 px: axe on the demo's project pages, nothing scrolls sideways."""
    links = demo_links(fresh_db)
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    page.goto(f"{fresh_db.url}/studio/projects")
    page.get_by_role("link", name="Website redesign").click()
    expect(page.get_by_test_id("project-overview")).to_be_visible()
    base = page.url
    for tail, name in (("", "overview"), ("/milestones", "milestones"), ("/tasks", "tasks")):
        response = page.goto(base + tail)
        assert response is not None and response.status == 200, tail
        assert serious_violations(page) == [], tail
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, tail
        shoot(page, request.node.name, f"demo-{name}")
    page.get_by_role("link", name="Homepage responsive variants").click()
    expect(page.get_by_test_id("comments")).to_contain_text("stacked layout")
    assert serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(page, request.node.name, "demo-task")
