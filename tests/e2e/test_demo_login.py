"""The README's promise: the demo prints a link, and it shows alice her projects."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import demo_links, sign_in_with

pytestmark = pytest.mark.e2e


def check_alice_sees_her_projects(page: Page, live_server, screenshot) -> None:
    links = demo_links(live_server)
    sign_in_with(page, links["alice@northwind.example"])
    expect(page).to_have_url(f"{live_server.url}/p/demo/")
    cards = page.get_by_test_id("project-card")
    expect(cards).to_have_count(2)
    expect(page.get_by_test_id("project-list")).to_contain_text("Website redesign")
    expect(page.get_by_test_id("project-list")).not_to_contain_text("Brand refresh")
    screenshot("home")
    page.get_by_role("link", name=re.compile("Website redesign")).click()
    expect(page.get_by_test_id("progress-tab")).to_be_visible()
    expect(page.get_by_test_id("percent-done")).to_have_text(re.compile(r"^\d{1,3}%$"))
    expect(page.get_by_test_id("milestones")).to_be_visible()
    screenshot("progress")


def test_printed_link_shows_alice_her_projects(page: Page, fresh_db, screenshot):
    check_alice_sees_her_projects(page, fresh_db, screenshot)


@pytest.mark.browser_context_args(java_script_enabled=False)
def test_printed_link_works_without_javascript(page: Page, fresh_db, screenshot):
    check_alice_sees_her_projects(page, fresh_db, screenshot)


@pytest.mark.browser_context_args(viewport={"width": 375, "height": 812})
def test_owner_link_opens_the_studio(page: Page, fresh_db, screenshot):
    links = demo_links(fresh_db)
    page.goto(links["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{fresh_db.url}/studio/")
    expect(page.get_by_test_id("studio-projects")).to_contain_text("Brand refresh")
    screenshot("studio")
