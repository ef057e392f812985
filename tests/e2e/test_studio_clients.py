"""The studio's Clients in Chromium: create a client, add a person to a demo client, then
give them access on a project's Access tab; with JavaScript at 1280 px and without it on
a 375 px phone, accessible (axe) and without sideways scrolling."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_deliverables_studio import sign_in_owner
from tests.e2e.test_quality import serious_violations

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots/clients")


def check_page(page: Page, name: str, width: int, problems: dict, javascript: bool = True) -> None:
    """Axe clean (it needs JavaScript), nothing wider than the viewport; a screenshot kept."""
    if javascript and (violations := serious_violations(page)):
        problems[f"{name} axe"] = violations
    overflowing = page.evaluate(
        f"() => Array.from(document.querySelectorAll('main *'))"
        f".filter(e => !e.closest('.table-wrap') && e.getBoundingClientRect().right > {width + 1})"
        ".map(e => e.outerHTML.slice(0, 80))"
    )
    if overflowing:
        problems[f"{name} overflow"] = overflowing
    clipped = page.eval_on_selector_all(
        "table", "ts => ts.filter(t => t.scrollWidth > t.parentElement.clientWidth + 1).map(t => t.dataset.testid)")
    if clipped:
        problems[f"{name} clipped tables"] = clipped
    # caret="initial": Playwright's default hides the caret with an inline style, which
    # the Content-Security-Policy refuses (a console error this test would count).
    SHOTS.mkdir(parents=True, exist_ok=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"studio-clients-{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True, caret="initial")
    shutil.copy(path, SHOTS / path.name)


def clients_cycle(page: Page, live_server, width: int, javascript: bool) -> None:
    failed: list[str] = []
    page.on("console", lambda m: failed.append(f"{page.url}: {m.text[:60]}") if m.type == "error" and "422" not in m.text else None)
    problems: dict = {}
    sign_in_owner(page, live_server)
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Clients").click()
    expect(page).to_have_url(f"{live_server.url}/studio/clients")
    expect(page.get_by_test_id("client-list")).to_contain_text("Northwind Traders")
    expect(page.get_by_test_id("client-list")).to_contain_text("Globex Corporation")
    check_page(page, "clients", width, problems, javascript)

    # A name that is taken is refused beside the field, and nothing is created.
    form = page.get_by_test_id("new-client-form")
    form.get_by_label("Organisation name").fill("  northwind traders ")
    form.get_by_role("button", name="Create client").click()
    expect(page.locator("#error-name")).to_contain_text("There is already a client called “Northwind Traders”")
    expect(page.get_by_test_id("client-row")).to_have_count(2)
    check_page(page, "clients-error", width, problems, javascript)

    form = page.get_by_test_id("new-client-form")
    form.get_by_label("Organisation name").fill("Initech")
    form.get_by_role("button", name="Create client").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Client created.")
    expect(page.get_by_test_id("client-name")).to_have_text("Initech")
    expect(page.get_by_test_id("people-empty")).to_be_visible()
    check_page(page, "client-new", width, problems, javascript)

    # Alice's colleague Bob joins Northwind; being added gives him no access yet.
    page.get_by_role("link", name="Clients", exact=True).first.click()
    page.get_by_test_id("client-list").get_by_role("link", name="Northwind Traders").click()
    add = page.get_by_test_id("add-person-form")
    add.get_by_label("Email").fill("bob@")
    add.get_by_role("button", name="Add person").click()
    expect(page.locator("#error-email")).to_contain_text("Enter an email address")
    # Let htmx finish swapping and settling the answer before typing into it.
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    add = page.get_by_test_id("add-person-form")
    add.get_by_label("Name (optional)").fill("Bob Brown")
    add.get_by_label("Email").fill("bob@northwind.example")
    expect(add.get_by_label("Name (optional)")).to_have_value("Bob Brown")
    add.get_by_role("button", name="Add person").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Bob Brown added.")
    bob = page.get_by_test_id("person-row").filter(has_text="Bob Brown")
    expect(bob.get_by_test_id("person-state")).to_have_text("No access")
    expect(bob.get_by_test_id("person-last-login")).to_have_text("Never")
    alice = page.get_by_test_id("person-row").filter(has_text="Alice Andrews")
    expect(alice.get_by_test_id("person-state")).to_have_text("Active")
    check_page(page, "client", width, problems, javascript)
    bob.get_by_role("link", name="Edit").click()
    expect(page.get_by_test_id("edit-person-form").get_by_label("Email")).to_have_value("bob@northwind.example")
    check_page(page, "person", width, problems, javascript)
    page.get_by_role("link", name="Northwind Traders").click()

    # On the project's Access tab, inviting his email reuses the person just added.
    page.get_by_test_id("client-projects").get_by_role("link", name="Website redesign").click()
    invite = page.get_by_test_id("invite-form")
    invite.get_by_label("Email").fill("bob@northwind.example")
    page.get_by_test_id("send-invite").click()
    expect(page.get_by_test_id("access-list")).to_contain_text("Bob Brown")
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Clients").click()
    page.get_by_test_id("client-list").get_by_role("link", name="Northwind Traders").click()
    expect(page.get_by_test_id("person-row").filter(has_text="Bob Brown").get_by_test_id("person-state")).to_have_text(
        "Invited")
    expect(page.get_by_test_id("person-row").filter(has_text="bob@northwind.example")).to_have_count(1)
    check_page(page, "client-invited", width, problems, javascript)
    assert problems == {}
    assert failed == [], "\n".join(failed)


@pytest.mark.browser_context_args(viewport={"width": 1280, "height": 900})
def test_staff_create_a_client_and_add_a_person_who_is_then_invited(page: Page, fresh_db):
    clients_cycle(page, fresh_db, 1280, javascript=True)


@pytest.mark.browser_context_args(viewport={"width": 375, "height": 812}, java_script_enabled=False)
def test_the_same_on_a_phone_without_javascript(page: Page, fresh_db):
    clients_cycle(page, fresh_db, 375, javascript=False)


@pytest.mark.browser_context_args(viewport={"width": 375, "height": 812})
def test_removing_a_person_asks_first_then_lists_them_as_removed(page: Page, fresh_db):
    sign_in_owner(page, fresh_db)
    page.goto(f"{fresh_db.url}/studio/clients")
    page.get_by_test_id("client-list").get_by_role("link", name="Northwind Traders").click()
    page.get_by_test_id("person-row").filter(has_text="Alice Andrews").get_by_role("link", name="Edit").click()
    expect(page.get_by_test_id("confirm-remove")).to_be_hidden()
    page.get_by_test_id("remove-person").click()
    page.get_by_test_id("confirm-remove").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Person removed and signed out everywhere.")
    expect(page.get_by_test_id("person-row")).to_have_count(0)
    expect(page.get_by_test_id("removed-people")).to_contain_text("Alice Andrews")
    problems: dict = {}
    check_page(page, "client-removed", 375, problems)
    assert problems == {}
