"""One-time messages after a redirect: shown once, signed, never taken from elsewhere."""

from __future__ import annotations

from portal.feedback.tables import Task
from portal.web.flash import COOKIE, flash_cookie
from tests.fixtures import post_form, sign_in_client, sign_in_staff


async def _inbox_task(app, http, world) -> int:
    await sign_in_client(http, world.workspace, world.alice)
    response = await post_form(http, f"/p/acme/projects/{world.project_a}/feedback",
                               {"subject": "Store locator", "message": "Shops on a map."})
    assert response.status_code == 303
    http.cookies.clear()
    return (await Task.select(Task.id).where(Task.kind == "inbox").first())["id"]


async def test_the_message_shows_once_after_the_redirect(app, http, world):
    task = await _inbox_task(app, http, world)
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, f"/studio/inbox/{task}/status", {"status": "done"})
    assert response.status_code == 303 and "?" not in response.headers["location"]
    first = await http.get(response.headers["location"])
    assert first.status_code == 200
    assert 'data-testid="flash"' in first.text and "Status updated." in first.text
    assert http.cookies.get(COOKIE) is None  # spent by the page that showed it
    again = await http.get("/studio/inbox")
    assert 'data-testid="flash"' not in again.text


async def test_a_forged_or_foreign_message_is_never_shown(app, http, world, settings):
    await sign_in_staff(http, world.workspace, world.staff)
    forged = flash_cookie("another secret", "Your account is closed: call +1 555", secure=False)
    http.cookies.set(COOKIE, forged.value)
    page = await http.get("/studio/inbox")
    assert page.status_code == 200
    assert "Your account is closed" not in page.text and 'data-testid="flash"' not in page.text
    genuine = flash_cookie(settings.secret_key, "Saved <b>now</b>", secure=False)
    http.cookies.set(COOKIE, genuine.value)
    page = await http.get("/studio/inbox")
    assert "Saved &lt;b&gt;now&lt;/b&gt;" in page.text  # escaped like any text
