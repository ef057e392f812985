"""The studio's layout in Chromium: the deliverable work view (two columns on a desktop, one on a
phone), the project title above its tabs on every project page, the workspace named once in the
header, file inputs that name the chosen file, Remove logo beside the logo, and deleting a file
asking first, with and without JavaScript."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import demo_links, run_db

pytestmark = pytest.mark.e2e

ASSETS = Path(__file__).resolve().parents[2] / "portal" / "demo_assets"
SHOTS = Path("/tmp/studio-shots")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in_owner(page: Page, live_server) -> None:
    page.goto(demo_links(live_server)["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{live_server.url}/studio/")


def ids() -> dict[str, int]:
    """The demo's Website redesign, its Homepage mockup deliverable and one of its work tasks."""

    async def work():
        from portal.deliverables.tables import Deliverable
        from portal.projects.tables import Project, Task

        project = (await Project.select(Project.id).where(Project.name == "Website redesign").first())["id"]
        deliverable = (await Deliverable.select(Deliverable.id).where(Deliverable.title == "Homepage mockup").first())["id"]
        task = (await Task.select(Task.id).where((Task.project == project) & (Task.kind == "work")).first())["id"]
        return {"project": project, "deliverable": deliverable, "task": task}

    return run_db(work)


def box(page: Page, testid: str) -> dict:
    found = page.get_by_test_id(testid).first.bounding_box()
    assert found, f"{testid} is not shown"
    return found


def fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_the_deliverable_page_is_two_columns_on_a_desktop_and_one_on_a_phone(page: Page, fresh_db):
    sign_in_owner(page, fresh_db)
    known = ids()
    page.set_viewport_size(DESKTOP)
    page.goto(f"{fresh_db.url}/studio/projects/{known['project']}/deliverables/{known['deliverable']}")
    expect(page.get_by_test_id("viewer-image")).to_be_visible()

    preview, side, upload = box(page, "work-preview"), box(page, "work-side"), box(page, "upload-form")
    versions = box(page, "studio-versions")
    # Side by side: the work on the left, status, actions and the thread on the right, tops level.
    assert preview["x"] + preview["width"] <= side["x"], (preview, side)
    assert abs(preview["y"] - side["y"]) < 40, (preview, side)
    assert side["width"] >= 300 and preview["width"] > side["width"]
    # The versions and the upload form stay in the left column, under the preview.
    for part in (versions, upload):
        assert part["x"] + part["width"] <= side["x"] and part["y"] >= preview["y"] + preview["height"], part
    for testid in ("review-card", "studio-thread"):
        inside = box(page, testid)
        assert inside["x"] >= side["x"] - 1, testid
    shot(page, "deliverable-work-view-1280")

    page.set_viewport_size(PHONE)
    page.wait_for_timeout(100)
    preview, side, files = box(page, "work-preview"), box(page, "work-side"), box(page, "studio-versions")
    # One column: the preview, then status and the thread, then the versions and upload.
    assert abs(preview["x"] - side["x"]) < 2 and abs(preview["width"] - side["width"]) < 2, (preview, side)
    assert preview["y"] + preview["height"] <= side["y"] + 1, (preview, side)
    assert side["y"] + side["height"] <= files["y"] + 1, (side, files)
    fits(page)
    shot(page, "deliverable-work-view-375")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_every_project_page_shows_the_title_then_its_tabs_with_the_right_one_current(page: Page, fresh_db, viewport):
    page.set_viewport_size(viewport)
    sign_in_owner(page, fresh_db)
    known = ids()
    base = f"{fresh_db.url}/studio/projects/{known['project']}"
    pages = [
        ("", "Overview"), ("/milestones", "Milestones"), ("/tasks", "Tasks"), (f"/tasks/{known['task']}", "Tasks"),
        ("/deliverables", "Deliverables"), (f"/deliverables/{known['deliverable']}", "Deliverables"),
        ("/files", "Files"), ("/billing", "Billing"), ("/feedback", "Feedback"), ("/access", "Client access"),
    ]
    for path, current in pages:
        page.goto(base + path)
        title = page.get_by_role("heading", level=1)
        expect(title).to_have_text("Website redesign")
        tabs = page.get_by_role("navigation", name="Project sections")
        expect(tabs).to_be_visible()
        expect(tabs.locator("[aria-current=page]")).to_have_count(1)
        expect(tabs.locator("[aria-current=page]")).to_have_text(current)
        title_box, tabs_box = title.bounding_box(), tabs.bounding_box()
        assert tabs_box["y"] >= title_box["y"] + title_box["height"] - 1, (path, title_box, tabs_box)
        main = page.locator("#main").bounding_box()
        # Nothing of the page comes between the breadcrumb and the title, or sits above the tabs' content.
        assert title_box["y"] - main["y"] < 120, (path, title_box, main)
        fits(page)
        if path == "" and viewport == PHONE:
            shot(page, "project-overview-375")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_the_header_names_the_workspace_once(page: Page, fresh_db, viewport):
    page.set_viewport_size(viewport)
    sign_in_owner(page, fresh_db)
    header = page.locator("header.topbar")
    text = header.inner_text()
    assert text.count("Brightline Studio") == 1, text
    assert text.lower().count("studio") == 1, text  # no "Studio" tag after a name that says it already
    expect(page.get_by_test_id("studio-brand")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_deleting_a_file_asks_first(browser, fresh_db, javascript):
    page = browser.new_context(viewport=PHONE if not javascript else DESKTOP, java_script_enabled=javascript).new_page()
    sign_in_owner(page, fresh_db)
    page.goto(f"{fresh_db.url}/studio/projects/{ids()['project']}/files")
    name = "Content inventory.csv"
    row = page.get_by_test_id("studio-file").filter(has_text=name)
    expect(row.get_by_test_id("delete-file")).to_be_hidden()  # no one-click delete
    row.get_by_test_id("delete-file-toggle").click()
    expect(row.get_by_test_id("delete-file-form")).to_contain_text(f"Delete “{name}”?")
    expect(row.get_by_test_id("delete-file")).to_be_visible()

    page.reload()  # walking away without confirming deletes nothing
    expect(page.get_by_test_id("studio-file").filter(has_text=name)).to_have_count(1)
    row = page.get_by_test_id("studio-file").filter(has_text=name)
    row.get_by_test_id("delete-file-toggle").click()
    row.get_by_test_id("delete-file").click()
    expect(page.get_by_role("status").filter(has_text="File deleted.")).to_be_visible()
    expect(page.get_by_test_id("studio-file").filter(has_text=name)).to_have_count(0)
    fits(page)
    page.context.close()


def test_file_inputs_name_the_chosen_files(page: Page, fresh_db):
    page.set_viewport_size(DESKTOP)
    sign_in_owner(page, fresh_db)
    known = ids()

    page.goto(f"{fresh_db.url}/studio/projects/{known['project']}/deliverables/{known['deliverable']}")
    upload = page.get_by_test_id("upload-form")
    expect(upload.get_by_test_id("file-chosen")).to_have_text("Choose a file or drop it here.")
    upload.get_by_label("File").set_input_files(str(ASSETS / "key-visual-v2.png"))
    expect(upload.get_by_test_id("file-chosen")).to_contain_text("Chosen: key-visual-v2.png")
    # The input stays a real, labelled file input whose description includes that line.
    described = upload.get_by_label("File").get_attribute("aria-describedby")
    assert "field-file-chosen" in described.split()
    shot(page, "file-input-chosen-1280")

    page.goto(f"{fresh_db.url}/studio/projects/{known['project']}/files")
    form = page.get_by_test_id("upload-form")
    form.get_by_label("File", exact=True).set_input_files([str(ASSETS / "logo.png"), str(ASSETS / "content-inventory.csv")])
    expect(form.get_by_test_id("file-chosen")).to_contain_text("2 files chosen: logo.png")
    expect(form.get_by_test_id("file-chosen")).to_contain_text("content-inventory.csv")

    page.goto(f"{fresh_db.url}/studio/settings/portal")
    logo = page.get_by_label("Upload a new logo")
    logo.set_input_files(str(ASSETS / "logo.png"))
    expect(page.get_by_test_id("portal-settings").get_by_test_id("file-chosen")).to_contain_text("Chosen: logo.png")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_remove_logo_sits_next_to_the_logo_and_removes_it(browser, fresh_db, javascript):
    page = browser.new_context(viewport=DESKTOP, java_script_enabled=javascript).new_page()
    sign_in_owner(page, fresh_db)
    page.goto(f"{fresh_db.url}/studio/settings/portal")
    current = page.get_by_test_id("logo-current")
    expect(current.get_by_test_id("logo-preview")).to_be_visible()
    expect(current.get_by_role("button", name="Remove logo")).to_be_visible()
    logo, button = box(page, "logo-preview"), box(page, "remove-logo")
    assert button["x"] >= logo["x"] + logo["width"] and button["x"] - (logo["x"] + logo["width"]) < 48, (logo, button)
    assert logo["y"] <= button["y"] + button["height"] / 2 <= logo["y"] + logo["height"], (logo, button)
    if javascript:
        shot(page, "settings-logo-1280")

    page.get_by_role("button", name="Remove logo").click()
    expect(page.get_by_test_id("logo-current")).to_have_count(0)
    expect(page.get_by_label("Portal logo")).to_be_visible()  # the input is the only logo control left
