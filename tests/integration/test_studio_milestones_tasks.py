"""A project's milestones (dense positions, reorder) and work tasks (filters, status, comments) in the studio."""

from __future__ import annotations

import json
import re

import pytest

from portal.accounts.tables import StaffMember
from portal.audit.tables import AuditEvent
from portal.projects.tables import Milestone, Project, Task, TaskComment
from tests.factories import make_milestone, make_staff, make_task, make_workspace
from tests.fixtures import csrf_token, post_form, sign_in_client, sign_in_staff


def base(world, tail: str = "") -> str:
    return f"/studio/projects/{world.project_a}{tail}"


async def positions(project: int) -> list[tuple[str, int]]:
    rows = await Milestone.select(Milestone.name, Milestone.position).where(Milestone.project == project).order_by(
        Milestone.position)
    return [(r["name"], r["position"]) for r in rows]


async def actions() -> list[str]:
    return [r["action"] for r in await AuditEvent.select(AuditEvent.action).order_by(AuditEvent.id)]


async def three_milestones(world) -> list[int]:
    return [await make_milestone(world.project_a, name, position=i) for i, name in enumerate(("One", "Two", "Three"))]


# Milestones


async def test_add_edit_complete_reopen_a_milestone(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    empty = (await http.get(base(world, "/milestones"))).text
    assert 'data-testid="no-milestones"' in empty and "Add the project's first milestone" in empty
    for name in ("Design", "Build"):
        response = await post_form(http, base(world, "/milestones"), {"name": name, "due_date": "2027-02-01"})
        assert response.status_code == 303 and response.headers["location"] == base(world, "/milestones")
    assert await positions(world.project_a) == [("Design", 0), ("Build", 1)]
    build = (await Milestone.select(Milestone.id).where(Milestone.name == "Build").first())["id"]
    response = await post_form(http, base(world, f"/milestones/{build}/edit"), {"name": "Build and launch", "due_date": ""})
    assert response.status_code == 303
    row = await Milestone.select().where(Milestone.id == build).first()
    assert row["name"] == "Build and launch" and row["due_date"] is None
    assert (await post_form(http, base(world, f"/milestones/{build}/complete"))).status_code == 303
    assert (await Milestone.select().where(Milestone.id == build).first())["completed_at"] is not None
    page = (await http.get(base(world, "/milestones"))).text
    assert "Milestone completed." in page and 'data-testid="reopen"' in page
    assert (await post_form(http, base(world, f"/milestones/{build}/reopen"))).status_code == 303
    assert (await Milestone.select().where(Milestone.id == build).first())["completed_at"] is None
    assert [a for a in await actions() if a.startswith("milestone")] == [
            "milestone_created", "milestone_created", "milestone_updated", "milestone_completed", "milestone_reopened"]


async def test_bad_milestone_input_changes_nothing(http, world):
    [one, *_] = await three_milestones(world)
    await sign_in_staff(http, world.workspace, world.staff)
    before = await Milestone.select().order_by(Milestone.id)
    response = await post_form(http, base(world, "/milestones"), {"name": "  ", "due_date": "2027-02-01"})
    assert response.status_code == 422 and "Enter the milestone&#39;s name." in response.text
    assert 'value="2027-02-01"' in response.text
    response = await post_form(http, base(world, f"/milestones/{one}/edit"), {"name": "One", "due_date": "soon"})
    assert response.status_code == 422 and "Enter the date as YYYY-MM-DD" in response.text
    assert f'id="milestone-{one}-due_date" name="due_date" type="date" value="soon" aria-invalid="true"' in response.text
    assert await Milestone.select().order_by(Milestone.id) == before


async def test_deleting_a_milestone_keeps_its_tasks_and_a_dense_order(http, world):
    one, two, three = await three_milestones(world)
    task = await make_task(world.workspace, world.project_a, "Build it", milestone=two)
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, base(world, f"/milestones/{two}/delete"))
    assert response.status_code == 303
    assert await positions(world.project_a) == [("One", 0), ("Three", 1)]
    row = await Task.select().where(Task.id == task).first()
    assert row is not None and row["milestone"] is None
    assert "milestone_deleted" in await actions()
    assert "Milestone “Two” deleted; its tasks were kept." in (await http.get(base(world, "/milestones"))).text


async def test_up_and_down_move_one_place_and_keep_positions_dense(http, world):
    one, two, three = await three_milestones(world)
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, base(world, f"/milestones/{three}/move"), {"direction": "up"})).status_code == 303
    assert await positions(world.project_a) == [("One", 0), ("Three", 1), ("Two", 2)]
    await post_form(http, base(world, f"/milestones/{one}/move"), {"direction": "down"})
    assert await positions(world.project_a) == [("Three", 0), ("One", 1), ("Two", 2)]
    # The first cannot go up, the last not down.
    await post_form(http, base(world, f"/milestones/{three}/move"), {"direction": "up"})
    await post_form(http, base(world, f"/milestones/{two}/move"), {"direction": "down"})
    assert await positions(world.project_a) == [("Three", 0), ("One", 1), ("Two", 2)]
    page = (await http.get(base(world, "/milestones"))).text
    names = re.findall(r'data-testid="milestone-name">([^<]+)<', page)
    assert names == ["Three", "One", "Two"]
    assert [a for a in await actions() if a == "milestone_order_changed"] == ["milestone_order_changed"] * 2


async def test_a_gap_in_positions_is_closed_by_the_next_change(http, world):
    await make_milestone(world.project_a, "A", position=0)
    b = await make_milestone(world.project_a, "B", position=5)
    await make_milestone(world.project_a, "C", position=9)
    await sign_in_staff(http, world.workspace, world.staff)
    await post_form(http, base(world, f"/milestones/{b}/move"), {"direction": "up"})
    assert await positions(world.project_a) == [("B", 0), ("A", 1), ("C", 2)]


async def test_reorder_by_drag_and_drop_takes_exactly_the_projects_milestones(http, world):
    one, two, three = await three_milestones(world)
    foreign = await make_milestone(world.project_b, "Globex milestone")
    await sign_in_staff(http, world.workspace, world.staff)
    url = base(world, "/milestones/order")
    before = await positions(world.project_a)
    for order in (f"{one},{two},{foreign}", f"{one},{two}", f"{one},{two},{three},{foreign}", f"{one},{one},{two}",
                  f"{one},{two},abc", ""):
        response = await post_form(http, url, {"order": order}, headers={"HX-Request": "true"})
        assert response.status_code == 422, order
        assert "Reload the page" in response.headers["x-error-message"]
        assert await positions(world.project_a) == before
    assert await positions(world.project_b) == [("Globex milestone", 0)]
    response = await post_form(http, url, {"order": f"{three},{one},{two}"}, headers={"HX-Request": "true"})
    # The answer is the list alone, in the new order, for the page to swap in.
    assert response.status_code == 200 and "<html" not in response.text
    assert re.findall(r'data-testid="milestone-name">([^<]+)<', response.text) == ["Three", "One", "Two"]
    assert await positions(world.project_a) == [("Three", 0), ("One", 1), ("Two", 2)]
    event = (await AuditEvent.select().where(AuditEvent.action == "milestone_order_changed").first())
    assert json.loads(event["detail"])["order"] == [three, one, two]
    # Without htmx the same POST answers a redirect to the page.
    response = await post_form(http, url, {"order": f"{one},{two},{three}"})
    assert response.status_code == 303 and await positions(world.project_a) == [("One", 0), ("Two", 1), ("Three", 2)]


async def test_another_projects_milestone_is_404_in_a_path(http, world):
    foreign = await make_milestone(world.project_b, "Globex milestone")
    await sign_in_staff(http, world.workspace, world.staff)
    for tail in ("edit", "complete", "reopen", "move", "delete"):
        response = await post_form(http, base(world, f"/milestones/{foreign}/{tail}"), {"name": "X", "direction": "up"})
        assert response.status_code == 404, tail
    row = await Milestone.select().where(Milestone.id == foreign).first()
    assert row["name"] == "Globex milestone" and row["completed_at"] is None


# Tasks


def task_form(**changes) -> dict:
    return {"title": "Write the copy", "details": "Homepage and about page.", "assignee": "", "status": "todo",
            "milestone": "", "due_date": "", **changes}


async def test_add_a_task_and_see_it_listed(http, world):
    milestone = await make_milestone(world.project_a, "Build")
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, base(world, "/tasks"), task_form(
        assignee=str(world.staff), milestone=str(milestone), due_date="2027-02-02"))
    assert response.status_code == 303
    row = await Task.select().where(Task.title == "Write the copy").first()
    assert response.headers["location"] == base(world, f"/tasks#task-{row['id']}")
    assert (row["kind"], row["workspace"], row["assignee"], row["milestone"], row["status"]) == (
        "work", world.workspace, world.staff, milestone, "todo")
    assert row["completed_at"] is None
    page = (await http.get(base(world, "/tasks"))).text
    assert "Write the copy" in page and "Olivia Owner" in page and "Build" in page and "Task added." in page
    assert "task_created" in await actions()


@pytest.mark.parametrize("changes, field, message", [
    ({"title": ""}, "title", "Enter the task&#39;s title."),
    ({"title": "x" * 301}, "title", "Keep the title to 300 characters or fewer."),
    ({"milestone": "OTHER_PROJECT_MILESTONE"}, "milestone", "Choose one of this project&#39;s milestones."),
    ({"assignee": "FOREIGN_STAFF"}, "assignee", "Choose the assignee among this workspace&#39;s active team members."),
    ({"status": "blocked"}, "status", "Choose one of the statuses"),
    ({"due_date": "31/12/2027"}, "due_date", "Enter the date as YYYY-MM-DD"),
])
async def test_bad_task_input_shows_the_form_again_and_adds_nothing(http, world, changes, field, message):
    other = await make_workspace("rival", "Rival Agency")
    swap = {"OTHER_PROJECT_MILESTONE": str(await make_milestone(world.project_b, "Globex milestone")),
            "FOREIGN_STAFF": str(await make_staff(other, "eve@rival.example"))}
    changes = {key: swap.get(value, value) for key, value in changes.items()}
    await sign_in_staff(http, world.workspace, world.staff)
    before = await Task.select().order_by(Task.id)
    response = await post_form(http, base(world, "/tasks"), task_form(details="Kept after the error", **changes))
    assert response.status_code == 422 and message in response.text
    assert f'id="field-{field}" name="{field}" aria-invalid="true"' in response.text
    assert "Kept after the error" in response.text
    assert await Task.select().order_by(Task.id) == before


async def test_filters_by_status_assignee_and_milestone(http, world):
    sam = await make_staff(world.workspace, "sam@acme.example", role="member", name="Sam Lee")
    design = await make_milestone(world.project_a, "Design")
    await make_task(world.workspace, world.project_a, "Alpha task", status="todo", assignee=sam, milestone=design)
    await make_task(world.workspace, world.project_a, "Beta task", status="done", assignee=sam)
    await make_task(world.workspace, world.project_a, "Gamma task", status="todo", assignee=world.staff)
    await make_task(world.workspace, world.project_a, "Inbox message", status="todo", kind="inbox", assignee=sam)
    await make_task(world.workspace, world.project_b, "Globex task", status="todo", assignee=sam)
    await sign_in_staff(http, world.workspace, world.staff)

    async def titles(query: str = "") -> set[str]:
        page = await http.get(base(world, "/tasks") + query)
        assert page.status_code == 200
        return set(re.findall(r'/tasks/\d+">([^<]+)</a>', page.text))

    assert await titles() == {"Alpha task", "Beta task", "Gamma task", "Internal: fix CMS cache"}
    assert await titles("?status=todo") == {"Alpha task", "Gamma task"}
    assert await titles(f"?assignee={sam}") == {"Alpha task", "Beta task"}
    assert await titles(f"?milestone={design}") == {"Alpha task"}
    assert await titles(f"?status=done&assignee={sam}") == {"Beta task"}
    assert await titles("?status=nonsense&assignee=x") == await titles()  # unknown values filter nothing
    empty = (await http.get(base(world, "/tasks?status=cancelled"))).text
    assert "No tasks match these filters." in empty


async def test_inbox_tasks_are_not_work_tasks(http, world):
    inbox = await make_task(world.workspace, world.project_a, "Client feedback", status="todo", kind="inbox")
    await sign_in_staff(http, world.workspace, world.staff)
    assert "Client feedback" not in (await http.get(base(world, "/tasks"))).text
    assert (await http.get(base(world, f"/tasks/{inbox}"))).status_code == 404
    for tail, data in (("edit", task_form(title="Taken over")), ("status", {"status": "done"}),
                       ("comments", {"body": "Hello"})):
        assert (await post_form(http, base(world, f"/tasks/{inbox}/{tail}"), data)).status_code == 404
    row = await Task.select().where(Task.id == inbox).first()
    assert (row["title"], row["status"], row["kind"]) == ("Client feedback", "todo", "inbox")
    assert await TaskComment.count().where(TaskComment.task == inbox) == 0


async def test_status_changes_set_and_clear_completed_at_and_move_the_clients_percent(app, http, world):
    done = await make_task(world.workspace, world.project_a, "Second task", status="todo")
    await Task.update({Task.status: "todo"}).where(Task.project == world.project_a)
    client = http.__class__(transport=http._transport, base_url=http.base_url)
    async with client:
        await sign_in_client(client, world.workspace, world.alice)

        async def percent() -> str:
            page = (await client.get(f"/p/acme/projects/{world.project_a}")).text
            return re.search(r'data-testid="percent-done">(\d+)%', page).group(1)

        assert await percent() == "0"
        await sign_in_staff(http, world.workspace, world.staff)
        response = await post_form(http, base(world, f"/tasks/{done}/status"), {"status": "done"})
        assert response.status_code == 303
        row = await Task.select().where(Task.id == done).first()
        assert row["status"] == "done" and row["completed_at"] is not None
        assert await percent() == "50"
        page = (await http.get(base(world, f"/tasks/{done}"))).text
        assert "Status set to Done." in page and 'data-testid="completed-at"' in page
        # Edit keeps it done (and its completion time), then leaving done clears it.
        await post_form(http, base(world, f"/tasks/{done}/edit"), task_form(title="Second task", status="done"))
        assert (await Task.select().where(Task.id == done).first())["completed_at"] == row["completed_at"]
        await post_form(http, base(world, f"/tasks/{done}/edit"), task_form(title="Second task", status="in_progress"))
        row = await Task.select().where(Task.id == done).first()
        assert row["status"] == "in_progress" and row["completed_at"] is None
        assert await percent() == "0"
        await post_form(http, base(world, f"/tasks/{done}/status"), {"status": "cancelled"})
        await Task.update({Task.status: "done"}).where((Task.project == world.project_a) & (Task.id != done))
        assert await percent() == "100"  # cancelled tasks are left out
    refused = await post_form(http, base(world, f"/tasks/{done}/status"), {"status": "finished"})
    assert refused.status_code == 422
    assert (await Task.select().where(Task.id == done).first())["status"] == "cancelled"
    assert {"task_status_changed", "task_updated"} <= set(await actions())


async def test_edit_refuses_a_milestone_of_another_project(http, world):
    task = await make_task(world.workspace, world.project_a, "Keep me", status="todo")
    other = await make_milestone(world.project_b, "Globex milestone")
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, base(world, f"/tasks/{task}/edit"), task_form(title="Changed", milestone=str(other)))
    assert response.status_code == 422 and "Choose one of this project&#39;s milestones." in response.text
    row = await Task.select().where(Task.id == task).first()
    assert (row["title"], row["milestone"]) == ("Keep me", None)


async def test_internal_comments_are_listed_with_author_and_time(http, world):
    task = await make_task(world.workspace, world.project_a, "Discuss", status="todo")
    sam = await make_staff(world.workspace, "sam@acme.example", role="member", name="Sam Lee")
    await sign_in_staff(http, world.workspace, sam)
    url = base(world, f"/tasks/{task}")
    assert "No comments yet." in (await http.get(url)).text
    empty = await post_form(http, f"{url}/comments", {"body": "   "})
    assert empty.status_code == 422 and "Write your comment." in empty.text
    assert await TaskComment.count().where(TaskComment.task == task) == 0
    response = await post_form(http, f"{url}/comments", {"body": "Client wants it blue."})
    assert response.status_code == 303 and response.headers["location"] == f"{url}#comments"
    [row] = await TaskComment.select().where(TaskComment.task == task)
    assert (row["author"], row["body"]) == (sam, "Client wants it blue.")
    page = (await http.get(url)).text
    assert "<strong>Sam Lee</strong>" in page and "Client wants it blue." in page
    assert f'datetime="{row["created_at"].isoformat()}"' in page
    event = await AuditEvent.select().where(AuditEvent.action == "task_comment_added").first()
    assert (event["target_id"], event["actor_id"]) == (task, sam)


async def test_an_archived_project_is_read_only_for_milestones_and_tasks(http, world):
    [one, *_] = await three_milestones(world)
    task = await make_task(world.workspace, world.project_a, "Frozen", status="todo")
    await sign_in_staff(http, world.workspace, world.staff)
    await post_form(http, base(world, "/archive"))
    before = (await Milestone.select().order_by(Milestone.id), await Task.select().order_by(Task.id))
    for tail, data in (("/milestones", {"name": "New"}), (f"/milestones/{one}/complete", {}),
                       (f"/milestones/{one}/move", {"direction": "down"}), (f"/milestones/{one}/delete", {}),
                       ("/tasks", task_form()), (f"/tasks/{task}/status", {"status": "done"}),
                       (f"/tasks/{task}/comments", {"body": "Hi"})):
        response = await post_form(http, base(world, tail), data)
        assert response.status_code == 409, tail
    assert (await Milestone.select().order_by(Milestone.id), await Task.select().order_by(Task.id)) == before
    assert await TaskComment.count().where(TaskComment.task == task) == 0
    page = (await http.get(base(world, "/milestones"))).text
    assert 'data-testid="add-milestone-form"' not in page and "move-up" not in page
    assert 'data-testid="task-status-form"' not in (await http.get(base(world, f"/tasks/{task}"))).text


# Isolation: staff of another workspace, clients


def project_paths(app) -> list[tuple[str, str]]:
    """(method, path template) of every studio route of this area that names a project."""
    from portal.projects import studio_routes

    paths = {("/studio" + path) for handler in studio_routes.HANDLERS for path in handler.paths}
    routes = []
    for route in app.routes:
        if route.path in paths and "{project_id" in route.path:
            routes.extend((method, route.path) for method in sorted(route.methods - {"HEAD", "OPTIONS"}))
    return routes


async def everything() -> tuple:
    return (await Project.select().order_by(Project.id), await Milestone.select().order_by(Milestone.id),
            await Task.select().order_by(Task.id), await TaskComment.select().order_by(TaskComment.id),
            await StaffMember.select().order_by(StaffMember.id))


async def test_staff_of_another_workspace_get_404_everywhere_and_change_nothing(app, http, world):
    milestone = await make_milestone(world.project_a, "Design")
    task = await make_task(world.workspace, world.project_a, "Work", status="todo", milestone=milestone)
    ids = {"project_id": world.project_a, "milestone_id": milestone, "work_task_id": task}
    routes = project_paths(app)
    assert len(routes) >= 18, routes

    def fill(path: str) -> str:
        return re.sub(r"\{(\w+):\w+\}", lambda m: str(ids[m.group(1)]), path)

    # The owner of A opens every page, so the outsider's 404 is isolation, not a broken URL.
    await sign_in_staff(http, world.workspace, world.staff)
    for method, path in routes:
        if method == "GET":
            assert (await http.get(fill(path))).status_code == 200, path
    http.cookies.clear()
    other = await make_workspace("rival", "Rival Agency")
    eve = await make_staff(other, "eve@rival.example")
    await sign_in_staff(http, other, eve)
    before = await everything()
    audit_before = await AuditEvent.count()
    data = {"name": "Hijack", "title": "Hijack", "status": "done", "direction": "up", "body": "Hi",
            "order": str(milestone), "organisation": str(world.org_a)}
    for method, path in routes:
        url = fill(path)
        # With a valid form and with an empty one: the lookup comes before any validation.
        for body in (data, {}):
            if method == "GET":
                response = await http.get(url)
            else:
                response = await http.post(url, data={**body, "_csrf_token": csrf_token(http)})
            assert response.status_code == 404, (method, url, body, response.status_code)
            assert "Northwind" not in response.text and "Work" not in response.text
    assert await everything() == before
    assert await AuditEvent.count() == audit_before
    # Their own list does not show workspace A's projects; a project for A's organisation is refused.
    assert "Northwind website" not in (await http.get("/studio/projects")).text
    response = await post_form(http, "/studio/projects", {"organisation": str(world.org_a), "name": "Mine",
                                                          "status": "active"})
    assert response.status_code == 422 and await Project.count().where(Project.workspace == other) == 0


async def test_a_client_session_never_reaches_the_studio_pages(app, http, world):
    await sign_in_client(http, world.workspace, world.alice)
    before = await everything()
    for method, path in project_paths(app) + [("GET", "/studio/projects"), ("POST", "/studio/projects")]:
        url = re.sub(r"\{(\w+):\w+\}", str(world.project_a), path)
        if method == "GET":
            response = await http.get(url)
            assert response.status_code == 303 and response.headers["location"] == "/studio/login", url
        else:
            response = await http.post(url, data={"name": "X", "title": "X", "_csrf_token": csrf_token(http)})
            assert response.status_code in (303, 403), (url, response.status_code)
            assert response.headers.get("location", "/studio/login") == "/studio/login"
    assert await everything() == before


async def test_milestones_added_at_once_still_get_a_dense_order(http, world):
    import asyncio

    await sign_in_staff(http, world.workspace, world.staff)
    await post_form(http, base(world, "/milestones"), {"name": "First"})
    responses = await asyncio.gather(*(
        http.post(base(world, "/milestones"), data={"name": f"M{i}", "_csrf_token": csrf_token(http)}) for i in range(6)))
    assert [r.status_code for r in responses] == [303] * 6
    assert sorted(position for _, position in await positions(world.project_a)) == list(range(7))


async def test_task_text_is_shown_as_text_not_markup(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, base(world, "/tasks"), task_form(
        title="<script>alert(1)</script>", details="<img src=x onerror=alert(2)>\n\nSecond paragraph"))
    task = (await Task.select(Task.id).where(Task.title == "<script>alert(1)</script>").first())["id"]
    assert response.status_code == 303
    await post_form(http, base(world, f"/tasks/{task}/comments"), {"body": "<b>bold?</b>"})
    for url in (base(world, "/tasks"), base(world, f"/tasks/{task}")):
        page = (await http.get(url)).text
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    page = (await http.get(base(world, f"/tasks/{task}"))).text
    assert "<img src=x" not in page and "<b>bold?</b>" not in page and "&lt;b&gt;bold?&lt;/b&gt;" in page
    assert "<p>Second paragraph</p>" in page


async def test_mark_done_from_the_list_comes_back_to_the_filtered_list(http, world):
    sam = await make_staff(world.workspace, "sam@acme.example", role="member", name="Sam Lee")
    task = await make_task(world.workspace, world.project_a, "Quick one", status="todo", assignee=sam)
    await sign_in_staff(http, world.workspace, world.staff)
    page = (await http.get(base(world, f"/tasks?assignee={sam}"))).text
    assert 'aria-label="Mark “Quick one” done"' in page and f'name="filter_assignee" value="{sam}"' in page
    response = await post_form(http, base(world, f"/tasks/{task}/status"), {
        "status": "done", "back": "list", "filter_assignee": str(sam), "filter_status": "bogus",
        "filter_milestone": "https://evil.example/"})
    assert response.status_code == 303
    assert response.headers["location"] == base(world, f"/tasks?assignee={sam}#task-{task}")
    row = await Task.select().where(Task.id == task).first()
    assert row["status"] == "done" and row["completed_at"] is not None
    assert 'aria-label="Mark “Quick one” done"' not in (await http.get(base(world, "/tasks"))).text
