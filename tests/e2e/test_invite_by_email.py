"""An invite sent from the studio arrives over real SMTP and its link signs the client in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import empty_all_tables
from tests.e2e.conftest import demo_links, run_db

pytestmark = pytest.mark.e2e


def test_invite_email_link_signs_the_client_in(page: Page, browser: Browser, mail_server, smtp, screenshot):
    inbox, _ = smtp
    run_db(empty_all_tables)
    links = demo_links(mail_server)
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    page.get_by_role("link", name="Website redesign").click()
    page.get_by_role("link", name="Client access").click()
    page.get_by_label("Email").fill("dana@northwind.example")
    page.get_by_label("Name (optional)").fill("Dana Diaz")
    page.get_by_test_id("send-invite").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Invite sent")
    expect(page.get_by_test_id("access-list")).to_contain_text("dana@northwind.example")

    message = inbox.wait_for("dana@northwind.example")
    assert message["From"].addresses[0].display_name == "Brightline Studio"
    assert "Website redesign" in message["Subject"] or "Brightline" in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    link = re.search(r"http://127\.0\.0\.1:\d+/p/demo/login/[\w-]+", text).group(0)
    assert link in html

    client = browser.new_context(viewport={"width": 375, "height": 812})
    client_page = client.new_page()
    client_page.goto(link)
    client_page.get_by_test_id("continue").click()
    expect(client_page).to_have_url(f"{mail_server.url}/p/demo/")
    expect(client_page.get_by_test_id("project-list")).to_contain_text("Website redesign")
    expect(client_page.get_by_test_id("signed-in-as")).to_contain_text("Dana Diaz")
    client_page.screenshot(path=str(screenshot("owner-view").parent / "invited-client-home.png"), full_page=True)
    client.close()
    page.reload()
    expect(page.get_by_test_id("access-list")).to_contain_text("Active")
