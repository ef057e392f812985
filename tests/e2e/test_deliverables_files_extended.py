"""Deliverable thread replies, upload progress, several files at once, rename, and the
delete refusal, in Chromium: with JavaScript at 1280 px, without at 375 px."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import demo_links, run_db
from tests.e2e.test_quality import serious_violations

pytestmark = pytest.mark.e2e

ASSETS = Path(__file__).resolve().parents[2] / "portal" / "demo_assets"
SHOTS = Path("/tmp/shots/deliverables")
MB = 1024 * 1024


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, live_server, email: str) -> None:
    page.goto(demo_links(live_server)[email])
    page.get_by_test_id("continue").click()


def fits(page: Page) -> None:
    width = page.viewport_size["width"]
    overflow = page.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= width, overflow


def outbox(kind: str) -> list[tuple[str, str]]:
    async def work():
        from portal.mail.tables import OutboxMessage

        rows = await OutboxMessage.select(OutboxMessage.to_address, OutboxMessage.text_body).where(
            OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return [(r["to_address"], r["text_body"]) for r in rows]

    return run_db(work)


def project_id(name: str) -> int:
    async def work():
        from portal.projects.tables import Project

        return (await Project.select(Project.id).where(Project.name == name).first())["id"]

    return run_db(work)


MODES = [
    pytest.param({"viewport": {"width": 1280, "height": 900}}, id="js-1280"),
    pytest.param({"viewport": {"width": 375, "height": 812}, "java_script_enabled": False}, id="nojs-375"),
]


@pytest.mark.parametrize("mode", MODES)
def test_staff_and_client_reply_in_the_thread_and_both_are_emailed(browser, fresh_db, mode):
    tag = "1280" if mode["viewport"]["width"] == 1280 else "375"
    staff = browser.new_context(**mode).new_page()
    sign_in(staff, fresh_db, "owner@brightline.example")
    staff.goto(f"{fresh_db.url}/studio/projects/{project_id('Website redesign')}/deliverables")
    staff.get_by_role("link", name="Homepage mockup").first.click()
    form = staff.get_by_test_id("reply-form")
    form.get_by_label("Your reply").fill("")
    form.get_by_role("button", name="Send reply").click()
    expect(staff.get_by_test_id("reply-form")).to_contain_text("Write a reply before sending.")
    staff.get_by_test_id("reply-form").get_by_label("Your reply").fill("We kept the hero photo, as discussed.")
    staff.get_by_test_id("reply-form").get_by_role("button", name="Send reply").click()
    expect(staff.get_by_test_id("flash")).to_contain_text("client")
    expect(staff.locator(".thread")).to_contain_text("We kept the hero photo, as discussed.")
    fits(staff)
    shot(staff, f"studio-deliverable-reply-{tag}")
    to_clients = outbox("deliverable_reply_client")
    assert "alice@northwind.example" in [to for to, _ in to_clients]
    assert "We kept the hero photo" in to_clients[0][1] and "/deliverables/" in to_clients[0][1]
    if mode.get("java_script_enabled", True):
        assert serious_violations(staff) == []

    client = browser.new_context(**mode).new_page()
    sign_in(client, fresh_db, "alice@northwind.example")
    link = next(line for line in to_clients[0][1].splitlines() if "/deliverables/" in line).strip()
    client.goto(link)
    thread = client.get_by_test_id("feedback-thread")
    expect(thread).to_contain_text("We kept the hero photo, as discussed.")
    thread.get_by_label("Reply to the team").fill("Lovely, thank you. Can the button be green?")
    thread.get_by_role("button", name="Send reply").click()
    expect(client.get_by_test_id("flash")).to_contain_text("Reply sent.")
    expect(client.get_by_test_id("feedback-thread")).to_contain_text("Can the button be green?")
    fits(client)
    shot(client, f"portal-deliverable-reply-{tag}")
    to_staff = outbox("deliverable_reply")
    assert [to for to, _ in to_staff] == ["owner@brightline.example"]
    assert "Can the button be green?" in to_staff[0][1]
    if mode.get("java_script_enabled", True):
        assert serious_violations(client) == []
    staff.reload()
    expect(staff.locator(".thread")).to_contain_text("Can the button be green?")


@pytest.mark.parametrize("mode", MODES)
def test_several_files_rename_and_the_delete_refusal(browser, fresh_db, mode, tmp_path):
    tag = "1280" if mode["viewport"]["width"] == 1280 else "375"
    page = browser.new_context(**mode).new_page()
    sign_in(page, fresh_db, "owner@brightline.example")
    page.goto(f"{fresh_db.url}/studio/projects/{project_id('Website redesign')}/files")
    first, second = tmp_path / "moodboard.png", tmp_path / "notes.csv"
    shutil.copy(ASSETS / "logo.png", first)
    shutil.copy(ASSETS / "content-inventory.csv", second)
    page.get_by_label("File", exact=True).set_input_files([str(first), str(second)])
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("files-done")).to_have_text("2 files uploaded.")
    rows = page.get_by_test_id("studio-file")
    expect(rows.filter(has_text="moodboard.png")).to_have_count(1)
    expect(rows.filter(has_text="notes.csv")).to_have_count(1)

    row = rows.filter(has_text="notes.csv")
    row.get_by_test_id("rename-toggle").click()
    row.get_by_label("New name").fill("   ")
    row.get_by_role("button", name="Save name").click()
    expect(page.get_by_test_id("rename-error")).to_have_text("Give the file a name.")
    row = page.get_by_test_id("studio-file").filter(has=page.get_by_test_id("rename-error"))
    row.get_by_label("New name").fill("Content inventory (April).csv")
    row.get_by_role("button", name="Save name").click()
    expect(page.get_by_test_id("files-done")).to_have_text("File renamed.")
    expect(page.get_by_test_id("studio-file").filter(has_text="Content inventory (April).csv")).to_have_count(1)
    shot(page, f"studio-files-{tag}")

    # The approved "Style guide" deliverable's PDF is also a project file: it must stay.
    held = page.get_by_test_id("studio-file").filter(has_text="Northwind brand guidelines.pdf")
    held.get_by_test_id("delete-file-toggle").click()  # a confirm step first
    held.get_by_test_id("delete-file").click()
    if mode.get("java_script_enabled", True):
        expect(page.locator("#flash-error")).to_contain_text("cannot be deleted")
    else:
        expect(page.get_by_test_id("files-conflict")).to_contain_text("approved deliverable")
    expect(page.get_by_test_id("studio-file").filter(has_text="Northwind brand guidelines.pdf")).to_have_count(1)
    fits(page)
    shot(page, f"studio-files-delete-refused-{tag}")
    if mode.get("java_script_enabled", True):
        assert serious_violations(page) == []


#: After app.js's own listener: reports what the bar shows at each progress event.
PROGRESS_PROBE = """() => {
  document.addEventListener("htmx:xhr:progress", () => {
    const bar = document.querySelector("[data-testid=upload-progress]");
    const box = bar.closest("[data-upload-progress-bar]");
    window.reportProgress(!box.hidden && bar.getBoundingClientRect().height > 0, bar.value);
  });
}"""


@pytest.mark.parametrize("where", ["files", "deliverable"])
@pytest.mark.browser_context_args(viewport={"width": 1280, "height": 900})
def test_a_large_upload_shows_a_progress_bar(page: Page, fresh_db, tmp_path, where):
    big = tmp_path / "footage.bin"
    with open(big, "wb") as handle:
        for _ in range(30):
            handle.write(os.urandom(MB))
    sign_in(page, fresh_db, "owner@brightline.example")
    project = project_id("Website redesign")
    if where == "files":
        page.goto(f"{fresh_db.url}/studio/projects/{project}/files")
        form = page.get_by_test_id("upload-form")
        form.get_by_label("File", exact=True).set_input_files(str(big))
    else:
        page.goto(f"{fresh_db.url}/studio/projects/{project}/deliverables")
        page.get_by_role("link", name="Homepage mockup").first.click()
        form = page.get_by_test_id("upload-form")
        form.get_by_label("File").set_input_files(str(big))
    bar = page.get_by_test_id("upload-progress")
    expect(bar).to_be_hidden()
    seen: list[tuple[bool, float]] = []
    page.expose_function("reportProgress", lambda visible, value: seen.append((visible, value)))
    page.evaluate(PROGRESS_PROBE)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 10 * MB,
    })
    form.get_by_role("button", name="Upload").click()
    expect(bar).to_be_visible(timeout=5000)
    shot(page, f"upload-progress-{where}-1280")
    if where == "files":
        expect(page.get_by_test_id("files-done")).to_have_text("File uploaded.", timeout=30000)
        expect(page.get_by_test_id("studio-file").filter(has_text="footage.bin")).to_have_count(1)
    else:
        expect(page.get_by_test_id("studio-versions")).to_contain_text("footage.bin", timeout=30000)
    expect(page.get_by_test_id("upload-progress")).to_be_hidden()
    # The bar was on screen and filled up while the bytes went out, never backwards.
    assert seen and all(visible for visible, _ in seen), seen[:5]
    values = [value for _, value in seen]
    assert values == sorted(values) and values[-1] >= 90 and len(set(values)) >= 3, values
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    shot(page, f"upload-done-{where}-1280")


def test_a_file_over_the_limit_says_so_with_javascript(browser, fresh_db, tmp_path):
    """A server with a 1 MB limit, on the same database: the 413's own message shows."""
    from tests.servers import start_server

    links = demo_links(fresh_db)
    too_big = tmp_path / "too-big.bin"
    too_big.write_bytes(os.urandom(2 * MB))
    with start_server("small-limit", {"PORTAL_MAX_UPLOAD_MB": "1"}) as small:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(links["owner@brightline.example"].replace(fresh_db.url, small.url))
        page.get_by_test_id("continue").click()
        page.goto(f"{small.url}/studio/projects/{project_id('Website redesign')}/files")
        before = page.get_by_test_id("studio-file").count()
        page.get_by_label("File", exact=True).set_input_files(str(too_big))
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("#flash-error")).to_contain_text("Files can be up to 1.0 MB")
        expect(page.get_by_test_id("upload-progress")).to_be_hidden()
        page.reload()
        expect(page.get_by_test_id("studio-file")).to_have_count(before)
