"""An invite sent from the studio arrives over real SMTP and its link signs the client in."""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, Page, expect

from tests.conftest import empty_all_tables
from tests.e2e.conftest import demo_links, free_port, run_db, start_server

pytestmark = pytest.mark.e2e


class Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, to: str, timeout: float = 15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if to in message["To"]:
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no email to {to} arrived in {timeout}s")


@pytest.fixture(scope="module")
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def mail_server(schema, smtp):
    with start_server("smtp", {"SMTP_URL": f"smtp+plain://127.0.0.1:{smtp[1]}"}) as server:
        yield server


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
