"""The studio inbox: the member's feedback tasks across projects; status changes scoped."""

from __future__ import annotations

import re

import httpx

from portal.db import count_queries
from portal.projects.tables import Task
from tests.factories import make_staff, make_task, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff


async def send(app, world, client_user: int, project: int, subject: str, message: str = "Hello team") -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as http:
        await sign_in_client(http, world.workspace, client_user)
        response = await post_form(http, f"/p/acme/projects/{project}/feedback", {"subject": subject, "message": message})
        assert response.status_code == 303


async def test_the_inbox_lists_the_workspaces_feedback_tasks_and_mine_on_request(app, http, world):
    await send(app, world, world.alice, world.project_a, "Store locator", "Shops on a map, please.")
    await send(app, world, world.carol, world.project_b, "New logo colours", "Greener?")
    other_member = await make_staff(world.workspace, "sam@acme.example", role="member")
    await make_task(world.workspace, world.project_a, "Not mine", kind="inbox", assignee=other_member)
    await make_task(world.workspace, world.project_a, "Internal: work task", assignee=world.staff)
    await sign_in_staff(http, world.workspace, world.staff)

    response = await http.get("/studio/inbox")

    assert response.status_code == 200
    html = response.text
    assert html.count('data-testid="inbox-item"') == 3
    assert "Store locator" in html and "Shops on a map, please." in html
    assert "Alice Andrews" in html and "Northwind" in html and "Northwind website" in html
    assert "New logo colours" in html and "Carol Chen" in html and "Globex rebrand" in html
    assert "Not mine" in html and "Internal: work task" not in html

    mine = (await http.get("/studio/inbox?assignee=me")).text
    assert mine.count('data-testid="inbox-item"') == 2
    assert "Store locator" in mine and "New logo colours" in mine and "Not mine" not in mine


async def test_setting_a_status_moves_the_task_and_the_client_sees_it(app, http, world):
    await send(app, world, world.alice, world.project_a, "Store locator")
    task = (await Task.select(Task.id).where(Task.kind == "inbox").first())["id"]
    await sign_in_staff(http, world.workspace, world.staff)

    response = await post_form(http, f"/studio/inbox/{task}/status", {"status": "in_progress"})
    assert response.status_code == 303 and response.headers["location"] == "/studio/inbox"
    row = await Task.select(Task.status, Task.completed_at).where(Task.id == task).first()
    assert row["status"] == "in_progress" and row["completed_at"] is None

    await post_form(http, f"/studio/inbox/{task}/status", {"status": "done"})
    row = await Task.select(Task.status, Task.completed_at).where(Task.id == task).first()
    assert row["status"] == "done" and row["completed_at"] is not None
    html = (await http.get("/studio/inbox")).text  # open ones by default: a done task has left it
    assert 'data-testid="inbox-empty"' in html and "Store locator" not in html
    html = (await http.get("/studio/inbox?status=done")).text
    assert re.findall(r'data-testid="inbox-status">([^<]+)<', html) == ["Done"]

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as alice:
        await sign_in_client(alice, world.workspace, world.alice)
        page = (await alice.get(f"/p/acme/projects/{world.project_a}/feedback")).text
        assert re.findall(r'data-testid="feedback-status">([^<]+)<', page) == ["Done"]


async def test_an_unknown_status_is_refused(app, http, world):
    await send(app, world, world.alice, world.project_a, "Store locator")
    task = (await Task.select(Task.id).where(Task.kind == "inbox").first())["id"]
    await sign_in_staff(http, world.workspace, world.staff)
    for status in ("cancelled", "", "deleted"):
        assert (await post_form(http, f"/studio/inbox/{task}/status", {"status": status})).status_code == 422
    assert (await Task.select(Task.status).where(Task.id == task).first())["status"] == "todo"


async def test_staff_of_another_workspace_and_work_tasks_get_404(app, http, world):
    await send(app, world, world.alice, world.project_a, "Store locator")
    task = (await Task.select(Task.id).where(Task.kind == "inbox").first())["id"]
    work = await make_task(world.workspace, world.project_a, "Work", assignee=world.staff)
    other = await make_workspace("other", "Other Agency")
    mallory = await make_staff(other, "mallory@other.example")
    await sign_in_staff(http, other, mallory)
    assert (await post_form(http, f"/studio/inbox/{task}/status", {"status": "done"})).status_code == 404
    # Her own inbox renders, and it is empty: the other workspace's message is not in it.
    inbox = await http.get("/studio/inbox")
    assert inbox.status_code == 200
    assert 'data-testid="inbox-empty"' in inbox.text and 'data-testid="inbox-item"' not in inbox.text
    assert "Store locator" not in inbox.text
    http.cookies.clear()
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, f"/studio/inbox/{work}/status", {"status": "done"})).status_code == 404
    statuses = {row["id"]: row["status"] for row in await Task.select(Task.id, Task.status)}
    assert statuses[task] == "todo" and statuses[work] == "todo"


async def test_clients_cannot_open_the_inbox(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get("/studio/inbox")
    assert response.status_code == 303 and response.headers["location"] == "/studio/login"


async def test_the_inbox_query_count_does_not_grow(app, http, world):
    await send(app, world, world.alice, world.project_a, "First")
    await sign_in_staff(http, world.workspace, world.staff)
    await http.get("/studio/inbox")
    with count_queries() as few:
        await http.get("/studio/inbox")
    for i in range(8):
        await send(app, world, world.alice if i % 2 else world.carol, world.project_a if i % 2 else world.project_b, f"N{i}")
    with count_queries() as many:
        response = await http.get("/studio/inbox")
    assert response.text.count('data-testid="inbox-item"') == 9
    assert len(many) == len(few), (few, many)
