"""Every studio route, walked from the route table, as each kind of outsider would try it.

- Staff of another workspace get 404 on every URL that names an object of workspace A,
  and their POSTs change nothing (the whole database is compared before and after).
- A client session and a signed-out visitor never reach a studio page: GETs are sent to
  the studio sign-in, POSTs are refused, nothing changes.
- A member gets 403 on what only owners and admins may do (``MANAGER_ONLY``), and nothing
  changes.

A new studio route with an object id in its path is covered automatically, and fails
here until ``object_ids`` knows how to fill it with a real object of workspace A: the
owner of A must be able to open every GET, so a 404 for outsiders proves isolation, not
a broken URL.
"""

from __future__ import annotations

import re

import pytest
from piccolo.conf.apps import Finder

from portal.accounts.tables import StaffMember
from portal.files import previews
from portal.files.storage import store_bytes
from portal.mail.tables import OutboxMessage
from portal.projects.tables import Milestone, Task
from portal.web.sites import STUDIO_ROUTES
from portal.workspaces.tables import Workspace
from tests.factories import DEMO_PDF, PNG_1X1, insert, make_deliverable, make_file, make_invoice, make_staff, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff

PARAM = re.compile(r"\{(\w+):\w+\}")
#: Rows that a refused request may still touch: its own session and rate limits.
VOLATILE = {"user_session", "rate_limit_hit", "sign_in_request"}
#: (method, path) that only owners and admins may use: members get 403.
MANAGER_ONLY = {
    ("GET", "/studio/outbox"),
    ("GET", "/studio/outbox/{message_id:int}"),
    ("POST", "/studio/outbox/{message_id:int}/retry"),
    ("POST", "/studio/team"),
    ("POST", "/studio/team/{member_id:int}/remove"),
    ("POST", "/studio/team/{member_id:int}/role"),
    ("POST", "/studio/settings/portal"),
    ("POST", "/studio/settings/portal/logo/remove"),
    ("POST", "/studio/invoices/{invoice_id:int}/paid"),
    ("POST", "/studio/invoices/{invoice_id:int}/void"),
    ("GET", "/studio/settings/billing"),
    ("POST", "/studio/settings/billing"),
    ("GET", "/studio/clients/{org_id:int}/export"),
    ("POST", "/studio/clients/{org_id:int}/delete"),
    ("GET", "/studio/settings/payments"),
    ("POST", "/studio/settings/payments"),
    ("POST", "/studio/settings/payments/test"),
    ("POST", "/studio/settings/payments/remove"),
}


def public_paths() -> set[str]:
    return {"/studio" + handler.paths.copy().pop().rstrip("/") for module in STUDIO_ROUTES
            for handler in getattr(module, "PUBLIC_HANDLERS", [])}


def studio_routes(app) -> list[tuple[str, str]]:
    """(method, path template) of every signed-in studio route."""
    public = public_paths()
    routes = []
    for route in app.routes:
        if not route.path.startswith("/studio") or route.path in public or route.path.startswith("/studio/login"):
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, route.path))
    return routes


def fill(path: str, ids: dict[str, int]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in ids:
            pytest.fail(f"the studio matrix does not know how to fill {{{name}}} in {path}: add it to object_ids")
        return str(ids[name])

    return PARAM.sub(value, path)


async def object_ids(settings, world) -> dict[str, int]:
    """One real object of workspace A for each kind of path parameter."""
    member = await make_staff(world.workspace, "mia@acme.example", role="member", name="Mia Member")
    inbox_task = await insert(Task(workspace=world.workspace, project=world.project_a, kind="inbox", title="Feedback"))
    message = await insert(OutboxMessage(workspace=world.workspace, to_address="alice@northwind.example",
                                         subject="Hello", text_body="Hi", status="failed"))
    grant_id = 1  # alice's grant to project A, the world's first
    logo = await store_bytes(settings, world.workspace, PNG_1X1, "image/png")  # the portal logo route has one to serve
    await Workspace.update({Workspace.portal_logo_sha256: logo.sha256, Workspace.portal_logo_type: "image/png"}).where(
        Workspace.id == world.workspace)
    # A PDF deliverable whose preview is made: its preview route has one to serve.
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Logo", content=DEMO_PDF,
                                         filename="logo.pdf")
    assert await previews.make_pending(settings) == 1
    return {
        "project_id": world.project_a,
        "deliverable_id": deliverable,
        "number": 1,
        "file_id": await make_file(settings, world.workspace, world.project_a, "Brief.png"),
        "invoice_id": await make_invoice(world.workspace, world.project_a, "INV-1", status="draft"),
        "grant_id": grant_id,
        "member_id": member,
        "task_id": inbox_task,
        "message_id": message,
        "client_user_id": world.alice,  # preview as client
        "org_id": world.org_a,
        "person_id": world.alice,
        "milestone_id": await insert(Milestone(project=world.project_a, name="Design")),
        "work_task_id": await insert(Task(workspace=world.workspace, project=world.project_a, title="Wireframes")),
    }


async def snapshot() -> dict[str, list]:
    """Every row of every table but the volatile ones, comparable before and after."""
    state = {}
    for table in Finder().get_table_classes():
        if table._meta.tablename in VOLATILE:
            continue
        rows = await table.select().order_by(table._meta.primary_key)
        state[table._meta.tablename] = [sorted(row.items(), key=lambda kv: kv[0]) for row in rows]
    return state


async def _outsider(world) -> tuple[int, int]:
    other = await make_workspace("other", "Other Agency")
    mallory = await make_staff(other, "mallory@other.example", role="owner")
    return other, mallory


async def test_the_owner_of_a_opens_every_studio_page(app, http, world, settings):
    ids = await object_ids(settings, world)
    routes = studio_routes(app)
    assert len(routes) > 20, "the route table walk found too few studio routes"
    await sign_in_staff(http, world.workspace, world.staff)
    for method, path in routes:
        if method == "GET":
            response = await http.get(fill(path, ids))
            assert response.status_code == 200, (path, response.status_code)


async def test_staff_of_another_workspace_get_404_and_change_nothing(app, http, world, settings):
    ids = await object_ids(settings, world)
    other, mallory = await _outsider(world)
    await sign_in_staff(http, other, mallory)
    before = await snapshot()
    checked = 0
    for method, path in studio_routes(app):
        if not PARAM.search(path):
            continue
        url = fill(path, ids)
        response = await (http.get(url) if method == "GET" else post_form(http, url, {}))
        assert response.status_code == 404, (method, path, response.status_code)
        checked += 1
    assert checked > 15
    assert await snapshot() == before


async def test_another_workspaces_lists_show_nothing_of_a(app, http, world, settings):
    await object_ids(settings, world)
    other, mallory = await _outsider(world)
    await sign_in_staff(http, other, mallory)
    for method, path in studio_routes(app):
        if method != "GET" or PARAM.search(path) or path == "/studio/patterns":  # patterns: made-up sample data
            continue
        response = await http.get(path)
        assert response.status_code == 200, (path, response.status_code)
        for name in ("Northwind", "Globex", "alice@northwind.example", "Olivia Owner", "Brief.png", "INV-1"):
            assert name not in response.text, (path, name)


@pytest.mark.parametrize("who", ["client", "nobody"])
async def test_clients_and_visitors_never_reach_the_studio(app, http, world, settings, who):
    ids = await object_ids(settings, world)
    if who == "client":
        await sign_in_client(http, world.workspace, world.alice)
    before = await snapshot()
    for method, path in studio_routes(app):
        url = fill(path, ids)
        if method == "GET":
            response = await http.get(url)
            assert response.status_code == 303 and response.headers["location"] == "/studio/login", (path, response.status_code)
        else:
            response = await post_form(http, url, {})
            assert response.status_code in (303, 403, 404), (path, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"] == "/studio/login", path
    assert await snapshot() == before


async def test_members_get_403_on_what_owners_and_admins_do(app, http, world, settings):
    ids = await object_ids(settings, world)
    known = set(studio_routes(app))
    assert MANAGER_ONLY <= known, f"MANAGER_ONLY names routes that do not exist: {MANAGER_ONLY - known}"
    member = (await StaffMember.select(StaffMember.id).where(StaffMember.role == "member").first())["id"]
    await sign_in_staff(http, world.workspace, member)
    before = await snapshot()
    for method, path in sorted(MANAGER_ONLY):
        url = fill(path, ids)
        response = await (http.get(url) if method == "GET" else post_form(http, url, {"role": "owner", "email": "x@y.example"}))
        assert response.status_code == 403, (method, path, response.status_code)
    assert await snapshot() == before


async def test_the_settings_pages_link_each_other_for_managers_only(app, http, world, settings):
    ids = await object_ids(settings, world)
    await sign_in_staff(http, world.workspace, world.staff)
    page = await http.get("/studio/settings/portal")
    assert 'href="/studio/settings/billing"' in page.text and 'href="/studio/settings/payments"' in page.text
    http.cookies.clear()
    await sign_in_staff(http, world.workspace, ids["member_id"])
    page = await http.get("/studio/settings/portal")
    assert page.status_code == 200 and 'href="/studio/settings/billing"' not in page.text
    assert 'href="/studio/settings/payments"' not in page.text
