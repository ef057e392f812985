"""Isolation, the product's promise: carol reaches nothing of alice's; no internal data leaks.

The matrix walks the app's route table, so a new portal route with an object id in its
path is covered automatically (and fails here until the test knows how to fill it).
"""

from __future__ import annotations

import re

import pytest

from portal.accounts.tables import ClientUser
from portal.feedback.tables import FeedbackMessage, FeedbackReply
from portal.files import previews
from portal.projects.tables import Task, TaskComment
from tests.factories import DEMO_PDF, insert, make_client, make_deliverable, make_file, make_invoice, make_staff, make_task
from tests.fixtures import csrf_token, sign_in_client

PORTAL_PREFIX = "/p/{workspace_slug:str}"
PARAM = re.compile(r"\{(\w+):\w+\}")
#: Path parameters that name no object of a project (a login token is its own check; "unknown"
#: is the rest of an address no page has).
NOT_OBJECTS = {"workspace_slug", "token", "unknown"}


def portal_routes_with_ids(app) -> list[tuple[str, str]]:
    """(method, path template) of every portal route that names an object by id."""
    routes = []
    for route in app.routes:
        if not route.path.startswith("/p/{workspace_slug"):
            continue
        params = set(PARAM.findall(route.path)) - NOT_OBJECTS
        if not params:
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, route.path))
    return routes


def fill(path: str, ids: dict[str, int | str]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in ids:
            pytest.fail(f"the isolation matrix does not know how to fill {{{name}}} in {path}")
        return str(ids[name])

    return PARAM.sub(value, path)


async def alices_objects(settings, world) -> dict:
    """One of each object of alice's project, for the URL parameters of every portal route: a
    PDF deliverable with its preview made, so that every URL (the preview's too) answers her."""
    ids = {"workspace_slug": "acme", "project_id": world.project_a}
    ids |= {"deliverable_id": await make_deliverable(settings, world.workspace, world.project_a, "Logo",
                                                     content=DEMO_PDF, filename="logo.pdf"), "number": 1}
    ids |= {"file_id": await make_file(settings, world.workspace, world.project_a, "Brief.png"),
            "invoice_id": await make_invoice(world.workspace, world.project_a, "INV-1")}
    assert await previews.make_pending(settings) == 1
    return ids


async def test_carol_gets_404_for_every_url_of_alices_projects(app, http, world, settings):
    ids = await alices_objects(settings, world)
    routes = portal_routes_with_ids(app)
    assert routes, "no portal routes found: the route table walk is broken"
    # Alice can open them (GETs), so a 404 for carol is isolation, not a broken URL.
    await sign_in_client(http, world.workspace, world.alice)
    for method, path in routes:
        if method == "GET":
            response = await http.get(fill(path, ids))
            assert response.status_code == 200, (path, response.status_code)
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.carol)
    for method, path in routes:
        url = fill(path, ids)
        for headers in ({}, {"HX-Request": "true"}):
            if method == "GET":
                response = await http.get(url, headers=headers)
            else:
                response = await http.request(method, url, headers={**headers, "x-csrftoken": csrf_token(http)})
            assert response.status_code == 404, (method, url, headers, response.status_code)
            assert "Northwind" not in response.text


async def test_signed_out_visitors_are_sent_to_sign_in(http, world):
    response = await http.get(f"/p/acme/projects/{world.project_a}")
    assert response.status_code == 303
    assert response.headers["location"] == "/p/acme/login"


async def test_a_client_session_does_not_open_another_workspace(http, world):
    from tests.factories import make_workspace

    await make_workspace("other", "Other Agency")
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get("/p/other/")
    assert response.status_code == 303 and response.headers["location"] == "/p/other/login"


async def test_a_client_session_does_not_open_the_studio(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get("/studio/")
    assert response.status_code == 303 and response.headers["location"] == "/studio/login"


async def test_internal_data_reaches_no_portal_page(app, http, world, settings):
    canaries = ["CANARY-task-title-7f3a", "CANARY-task-details-91bc", "CANARY-comment-55d0",
                "CANARY-assignee-c41d", "canary-assignee-c41d@acme.example"]
    task = await make_task(world.workspace, world.project_a, canaries[0], details=canaries[1], status="done")
    await insert(TaskComment(task=task, author=world.staff, body=canaries[2]))
    # Alice's own feedback, its inbox task assigned to a team member and answered: she sees her
    # message, its status and the reply, never who it is assigned to or the task's comments.
    assignee = await make_staff(world.workspace, canaries[4], role="member", name=canaries[3])
    inbox = await make_task(world.workspace, world.project_a, "Store locator", kind="inbox", assignee=assignee,
                            details="Shops on a map")
    await insert(TaskComment(task=inbox, author=assignee, body="CANARY-inbox-comment-0be2"))
    canaries.append("CANARY-inbox-comment-0be2")
    message = await insert(FeedbackMessage(workspace=world.workspace, project=world.project_a, client_user=world.alice,
                                           author_email="alice@northwind.example", subject="Store locator",
                                           body="Shops on a map", task=inbox))
    await insert(FeedbackReply(workspace=world.workspace, message=message, staff=world.staff,
                               author_name="Olivia Owner", body="A map by Friday"))
    assert await Task.count().where(Task.project == world.project_a) == 3
    # The studio's client directory: a colleague added to Alice's organisation without
    # access, and one removed, are the agency's records, not Alice's to see.
    colleague = ["CANARY-colleague-3e1d", "canary-colleague-3e1d@northwind.example", "CANARY-removed-a4c2"]
    canaries += colleague
    await make_client(world.workspace, world.org_a, colleague[1], colleague[0])
    removed = await make_client(world.workspace, world.org_a, "removed@northwind.example", colleague[2])
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == removed)
    await sign_in_client(http, world.workspace, world.alice)
    urls = ["/p/acme/", "/p/acme/login"]
    ids = await alices_objects(settings, world)
    urls += [fill(path, ids) for method, path in portal_routes_with_ids(app) if method == "GET"]
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            response = await http.get(url, headers=headers)
            # An error page holds no canary: only a page really rendered for Alice proves anything.
            assert response.status_code == 200, (url, headers, response.status_code)
            body = response.text
            for canary in canaries:
                assert canary not in body, (url, canary)
            assert "Internal:" not in body, url
    feedback = (await http.get(f"/p/acme/projects/{world.project_a}/feedback")).text
    assert "A map by Friday" in feedback and "Shops on a map" in feedback  # the canaries were on a real page


async def test_work_added_in_the_studio_reaches_no_portal_page(app, http, world, settings):
    """Tasks, their details and comments written through the studio's forms (not only by
    factories) never show on a client's page; the milestone they belong to does."""
    from portal.projects.tables import Milestone
    from tests.factories import make_staff
    from tests.fixtures import post_form, sign_in_staff

    canaries = ["CANARY-studio-task-title-3e1d", "CANARY-studio-details-b7a2", "CANARY-studio-comment-0c94",
                "CANARY-edited-title-5f60", "CANARY-assignee-name-a81e"]
    assignee = await make_staff(world.workspace, "sam@acme.example", role="member", name=canaries[4])
    staff = http.__class__(transport=http._transport, base_url=http.base_url)
    async with staff:
        await sign_in_staff(staff, world.workspace, world.staff)
        base = f"/studio/projects/{world.project_a}"
        assert (await post_form(staff, f"{base}/milestones", {"name": "Client-visible milestone"})).status_code == 303
        milestone = (await Milestone.select(Milestone.id).where(Milestone.project == world.project_a).first())["id"]
        for title in (canaries[0], canaries[3]):
            response = await post_form(staff, f"{base}/tasks", {
                "title": title, "details": canaries[1], "status": "in_progress", "assignee": str(assignee),
                "milestone": str(milestone)})
            assert response.status_code == 303
        task = (await Task.select(Task.id).where(Task.title == canaries[0]).first())["id"]
        assert (await post_form(staff, f"{base}/tasks/{task}/comments", {"body": canaries[2]})).status_code == 303
        assert (await post_form(staff, f"{base}/tasks/{task}/status", {"status": "done"})).status_code == 303
    assert await TaskComment.count().where(TaskComment.task == task) == 1
    await sign_in_client(http, world.workspace, world.alice)
    ids = await alices_objects(settings, world)
    urls = ["/p/acme/"] + [fill(path, ids) for method, path in portal_routes_with_ids(app) if method == "GET"]
    progress = (await http.get(f"/p/acme/projects/{world.project_a}")).text
    assert "Client-visible milestone" in progress  # the page really shows the project's progress
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            response = await http.get(url, headers=headers)
            assert response.status_code == 200, (url, headers, response.status_code)
            for canary in canaries:
                assert canary not in response.text, (url, canary)
