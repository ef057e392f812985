"""The review cycle across both sides in Chromium, with and without JavaScript: staff upload
a version of a new deliverable (with JavaScript the progress bar shows), mark it ready, the
email reaches a real SMTP server (aiosmtpd), the client opens the link from that email and
approves, and the studio's dashboard shows the approval."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import empty_all_tables
from tests.e2e.conftest import SCREENSHOTS, demo_links, run_db, sign_in_with

pytestmark = pytest.mark.e2e

ASSETS = Path(__file__).resolve().parents[2] / "portal" / "demo_assets"


@pytest.mark.parametrize("javascript, width", [(True, 1280), (False, 375)], ids=["js-1280", "nojs-375"])
def test_ready_for_review_email_to_approval_on_the_dashboard(browser: Browser, mail_server, smtp, javascript, width):
    inbox = smtp[0]
    run_db(empty_all_tables)
    links = demo_links(mail_server)
    title = f"Launch banner {width}"
    staff = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=javascript)
    page = staff.new_page()
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    page.goto(f"{mail_server.url}/studio/projects")
    page.get_by_role("link", name="Website redesign").first.click()
    page.get_by_role("navigation", name="Project sections").get_by_role("link", name="Deliverables").click()
    form = page.get_by_test_id("create-deliverable")
    form.get_by_label("Title").fill(title)
    form.get_by_role("button", name="Create draft").click()
    upload = page.get_by_test_id("upload-form")
    upload.get_by_label("File").set_input_files(str(ASSETS / "key-visual-v2.png"))
    progress = upload.locator("[data-upload-progress-bar]")
    if javascript:
        # The page reloads after the upload: report through the console, which outlives it.
        seen: list[str] = []
        page.on("console", lambda message: seen.append(message.text) if message.text == "progress-bar-visible" else None)
        page.evaluate("""() => document.addEventListener('htmx:xhr:progress',
            () => { const box = document.querySelector('[data-testid=upload-form] [data-upload-progress-bar]');
                    if (box && !box.hidden) console.log('progress-bar-visible'); })""")
        upload.get_by_role("button", name="Upload").click()
        expect(page.locator("figure img")).to_be_visible()
        assert seen, "the progress bar was not shown while uploading"
    else:
        assert progress.count() == 0 or progress.first.is_hidden()  # nothing half-working without JavaScript
        upload.get_by_role("button", name="Upload").click()
        expect(page.locator("figure img")).to_be_visible()
    page.get_by_test_id("mark-ready").click()
    expect(page.get_by_test_id("deliverable-status")).to_have_text("Ready for review")

    message = inbox.wait_for("alice@northwind.example", title)
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(rf"{re.escape(mail_server.url)}/p/demo/projects/\d+/deliverables/\d+", text).group(0)

    client = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=javascript)
    client_page = client.new_page()
    sign_in_with(client_page, links["alice@northwind.example"])
    client_page.goto(link)
    expect(client_page.locator("main")).to_contain_text(title)
    client_page.get_by_test_id("approve").click()
    client_page.get_by_test_id("confirm-approve").click()
    expect(client_page.get_by_test_id("deliverable-status")).to_have_text("Approved")
    client.close()

    page.goto(f"{mail_server.url}/studio/")
    activity = page.get_by_text(re.compile("approved a deliverable")).first
    expect(activity).to_be_visible()
    expect(page.locator("main")).to_contain_text(title)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"review-cycle-dashboard-{width}.png"), full_page=True)
    staff.close()
