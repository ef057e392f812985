"""A client's data on request, in Chromium with JavaScript on a 375 px phone: the export
downloads a ZIP; deleting asks for the client's name (a wrong one is refused in the form),
then removes the client and lands on the clients list with a confirmation."""

from __future__ import annotations

import json
import zipfile

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_deliverables_studio import sign_in_owner
from tests.e2e.test_quality import serious_violations

pytestmark = pytest.mark.e2e


def open_northwind(page: Page, live_server) -> None:
    sign_in_owner(page, live_server)
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Clients").click()
    page.get_by_test_id("client-list").get_by_role("link", name="Northwind Traders").click()
    expect(page.get_by_test_id("client-name")).to_have_text("Northwind Traders")


def watch(page: Page) -> list[str]:
    """Console errors and failed requests; the one 422 expected is the refused form."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text[:80]}")
            if m.type == "error" and "422" not in m.text else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}")
            if r.failure != "net::ERR_ABORTED" else None)  # abandoned by the browser as the page moved on
    page.on("response", lambda r: problems.append(f"{r.status}: {r.url}")
            if r.status >= 400 and not (r.status == 422 and r.url.endswith("/delete")) else None)
    return problems


@pytest.mark.browser_context_args(viewport={"width": 375, "height": 812})
def test_the_owner_exports_then_deletes_a_client_on_a_phone(page: Page, fresh_db, screenshot, tmp_path):
    problems = watch(page)
    open_northwind(page, fresh_db)
    zone = page.get_by_test_id("danger-zone")
    expect(zone).to_contain_text("Delete this client and all its data")
    zone.scroll_into_view_if_needed()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot("danger-zone-375")

    with page.expect_download() as download:
        page.get_by_test_id("export-client").click()
    assert download.value.suggested_filename.startswith("northwind-traders-export-")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        data = json.loads(archive.read("data.json"))
    assert data["organisation"]["name"] == "Northwind Traders"
    assert "alice@northwind.example" in [p["email"] for p in data["people"]]

    form = page.get_by_test_id("delete-client-form")
    form.get_by_label("Type the client's name to confirm: Northwind Traders").fill("Northwind")
    form.get_by_test_id("delete-client").click()
    error = page.locator("#error-confirm_name")
    expect(error).to_contain_text("Type the client's name exactly as shown, Northwind Traders, to delete it.")
    expect(page.get_by_test_id("client-name")).to_have_text("Northwind Traders")
    expect(page.get_by_label("Type the client's name to confirm: Northwind Traders")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert serious_violations(page) == []
    screenshot("danger-zone-error-375")

    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    form = page.get_by_test_id("delete-client-form")
    form.get_by_label("Type the client's name to confirm: Northwind Traders").fill("Northwind Traders")
    form.get_by_test_id("delete-client").click()
    expect(page).to_have_url(f"{fresh_db.url}/studio/clients")
    expect(page.get_by_test_id("flash")).to_contain_text("Northwind Traders and all its data were deleted:")
    expect(page.get_by_test_id("client-list")).not_to_contain_text("Northwind Traders")
    expect(page.get_by_test_id("client-list")).to_contain_text("Globex Corporation")
    screenshot("deleted-375")
    assert problems == [], "\n".join(problems)


@pytest.mark.browser_context_args(viewport={"width": 1280, "height": 900})
def test_the_danger_zone_at_1280(page: Page, fresh_db, screenshot):
    problems = watch(page)
    open_northwind(page, fresh_db)
    page.get_by_test_id("danger-zone").scroll_into_view_if_needed()
    assert serious_violations(page) == []
    screenshot("danger-zone-1280")
    assert problems == [], "\n".join(problems)
