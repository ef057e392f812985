"""Projects, rule by rule: every field of the audit events of projects, milestones and
work tasks, the messages of the form rules at their limits, which rows a change touches,
the choices the forms offer, progress and the upcoming deadlines, and what clients see."""

from __future__ import annotations

import datetime as dt

import pytest

from portal import clock
from portal.accounts.sessions import Principal
from portal.accounts.tables import ClientOrganisation, StaffMember
from portal.errors import Conflict, Invalid, NotFound
from portal.projects import access, progress, services
from portal.projects.tables import Milestone, Project, Task, TaskComment
from tests.audit import events, only_event, who
from tests.factories import insert, make_milestone, make_project, make_staff, make_task, make_workspace
from tests.fixtures import post_form, sign_in_staff

TODAY = clock.today()


def owner(world) -> Principal:
    return Principal(kind="staff", user_id=world.staff, workspace_id=world.workspace, email="olivia@acme.example",
                     name="Olivia Owner", session_id=0, role="owner")


def alice(world) -> Principal:
    return Principal(kind="client", user_id=world.alice, workspace_id=world.workspace,
                     email="alice@northwind.example", name="Alice Andrews", session_id=0)


def project_form(world, **fields) -> dict:
    return {"organisation": str(world.org_a), "name": "Launch", "description": "", "lead": "", "status": "planning",
            "start_date": "", "due_date": "", **fields}


def task_form(**fields) -> dict:
    return {"title": "Write copy", "details": "", "assignee": "", "status": "todo", "milestone": "", "due_date": "",
            **fields}


def url(project: int, tail: str = "") -> str:
    return f"/studio/projects/{project}{tail}"


async def project(project_id: int) -> dict:
    return await Project.select().where(Project.id == project_id).first()


async def task(task_id: int) -> dict:
    return await Task.select().where(Task.id == task_id).first()


async def positions(project_id: int) -> list[tuple[int, int]]:
    rows = await Milestone.select(Milestone.id, Milestone.position).where(Milestone.project == project_id).order_by(
        Milestone.position)
    return [(r["id"], r["position"]) for r in rows]


# Audit events, over HTTP (the request's address and agent are kept)


async def test_project_changes_are_audited_with_what_changed(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    created = await post_form(http, "/studio/projects", project_form(world, name="  Launch   site "))
    assert created.status_code == 303
    project_id = (await Project.select(Project.id).where(Project.name == "Launch site").first())["id"]
    event = await only_event("project_created")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["project"]) == ("project", project_id, project_id)
    assert event["detail"] == {"name": "Launch site"}

    edited = await post_form(http, url(project_id, "/edit"), project_form(
        world, name="Launch site", status="active", due_date="2027-03-01", lead=str(world.staff)))
    assert edited.status_code == 303
    event = await only_event("project_updated")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"]) == ("project", project_id)
    assert event["detail"] == {"changed": ["due_date", "lead", "status"]}
    saved = await project(project_id)
    assert (saved["status"], saved["due_date"], saved["lead"]) == ("active", dt.date(2027, 3, 1), world.staff)
    unchanged = await post_form(http, url(project_id, "/edit"), project_form(
        world, name="Launch site", status="active", due_date="2027-03-01", lead=str(world.staff)))
    assert unchanged.status_code == 303 and len(await events("project_updated")) == 1

    assert (await post_form(http, url(project_id, "/archive"))).status_code == 303
    assert (await post_form(http, url(project_id, "/archive"))).status_code == 303  # a repeat changes nothing
    assert (await post_form(http, url(project_id, "/unarchive"))).status_code == 303
    for action in ("project_archived", "project_unarchived"):
        event = await only_event(action)
        assert who(event) == (world.workspace, "staff", world.staff, True)
        assert (event["target_type"], event["target_id"], event["detail"]) == ("project", project_id, {})


async def test_milestone_changes_are_audited_with_their_project_and_details(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    for name in ("Design", "Build"):
        assert (await post_form(http, url(world.project_a, "/milestones"), {"name": name})).status_code == 303
    design, build = [r["id"] for r in await Milestone.select(Milestone.id).order_by(Milestone.id)]
    created = await events("milestone_created")
    assert [who(e) for e in created] == [(world.workspace, "staff", world.staff, True)] * 2
    assert [(e["target_type"], e["target_id"], e["project"], e["detail"]) for e in created] == [
        ("milestone", design, world.project_a, {"project": world.project_a, "name": "Design"}),
        ("milestone", build, world.project_a, {"project": world.project_a, "name": "Build"})]

    edit = await post_form(http, url(world.project_a, f"/milestones/{build}/edit"), {"name": "Build", "due_date": "2027-01-31"})
    assert edit.status_code == 303
    event = await only_event("milestone_updated")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["detail"]) == (
        "milestone", build, {"project": world.project_a, "changed": ["due_date"]})
    await post_form(http, url(world.project_a, f"/milestones/{build}/edit"), {"name": "Build", "due_date": "2027-01-31"})
    assert len(await events("milestone_updated")) == 1

    assert (await post_form(http, url(world.project_a, f"/milestones/{build}/move"), {"direction": "up"})).status_code == 303
    assert (await post_form(http, url(world.project_a, "/milestones/order"), {"order": f"{design},{build}"})).status_code == 303
    moves = await events("milestone_order_changed")
    assert [who(e) for e in moves] == [(world.workspace, "staff", world.staff, True)] * 2
    assert [(e["target_type"], e["target_id"], e["detail"]) for e in moves] == [
        ("project", world.project_a, {"order": [build, design]}), ("project", world.project_a, {"order": [design, build]})]

    assert (await post_form(http, url(world.project_a, f"/milestones/{design}/complete"))).status_code == 303
    assert (await post_form(http, url(world.project_a, f"/milestones/{design}/reopen"))).status_code == 303
    for action in ("milestone_completed", "milestone_reopened"):
        event = await only_event(action)
        assert who(event) == (world.workspace, "staff", world.staff, True)
        assert (event["target_type"], event["target_id"], event["detail"]) == (
            "milestone", design, {"project": world.project_a})

    assert (await post_form(http, url(world.project_a, f"/milestones/{design}/delete"))).status_code == 303
    event = await only_event("milestone_deleted")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["detail"]) == (
        "milestone", design, {"project": world.project_a, "name": "Design"})


async def test_task_changes_are_audited_with_their_project_and_details(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, url(world.project_a, "/tasks"), task_form(status="in_progress"))).status_code == 303
    task_id = (await Task.select(Task.id).where(Task.title == "Write copy").first())["id"]
    event = await only_event("task_created")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["project"], event["detail"]) == (
        "task", task_id, world.project_a, {"project": world.project_a, "status": "in_progress"})

    edit = await post_form(http, url(world.project_a, f"/tasks/{task_id}/edit"),
                           task_form(status="in_progress", title="Write the copy", details="All pages"))
    assert edit.status_code == 303
    event = await only_event("task_updated")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["detail"]) == (
        "task", task_id, {"project": world.project_a, "changed": ["details", "title"]})

    assert (await post_form(http, url(world.project_a, f"/tasks/{task_id}/status"), {"status": "done"})).status_code == 303
    event = await only_event("task_status_changed")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["detail"]) == (
        "task", task_id, {"project": world.project_a, "status": "done", "previous": "in_progress"})

    assert (await post_form(http, url(world.project_a, f"/tasks/{task_id}/comments"), {"body": " Looks good "})).status_code == 303
    comment = await TaskComment.select().where(TaskComment.task == task_id).first()
    assert (comment["body"], comment["author"]) == ("Looks good", world.staff)
    event = await only_event("task_comment_added")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["detail"]) == (
        "task", task_id, {"project": world.project_a, "comment": comment["id"]})


# Projects: the form's rules


async def test_project_fields_are_cleaned_and_each_bad_one_is_named(world):
    staff = owner(world)
    project_id = await services.create_project(
        staff, organisation=str(world.org_b), name="  A \n  name ", description="  Line one\r\nLine two  ",
        lead=str(world.staff), status="on_hold", start_date=" 2027-01-01 ", due_date="2027-01-01")
    saved = await project(project_id)
    assert (saved["workspace"], saved["organisation"], saved["name"], saved["description"], saved["lead"],
            saved["status"], saved["start_date"], saved["due_date"]) == (
        world.workspace, world.org_b, "A name", "Line one\nLine two", world.staff, "on_hold", dt.date(2027, 1, 1),
        dt.date(2027, 1, 1))
    with pytest.raises(Invalid) as refused:
        await services.create_project(staff, organisation="", name="  ", description="d" * (services.TEXT_MAX + 1),
                                      lead="abc", status="later", start_date="2027-02-02", due_date="2027-02-01")
    assert refused.value.errors == {
        "organisation": "Choose the client organisation.",
        "name": "Enter the project's name.",
        "description": f"Keep the description to {services.TEXT_MAX} characters or fewer.",
        "lead": "Choose the lead among this workspace's active team members.",
        "status": "Choose one of the statuses: Planning, In progress, On hold, Completed, Cancelled.",
        "due_date": "The due date is before the start date.",
    }
    with pytest.raises(Invalid) as refused:
        await services.create_project(staff, organisation="x", name="n" * (services.NAME_MAX + 1), description="",
                                      lead="", status="planning", start_date="soon", due_date="")
    assert refused.value.errors == {
        "organisation": "Choose one of this workspace's client organisations.",
        "name": f"Keep the name to {services.NAME_MAX} characters or fewer.",
        "start_date": "Enter the date as YYYY-MM-DD, e.g. 2026-12-31.",
    }
    longest = await services.create_project(staff, organisation=str(world.org_a), name="n" * services.NAME_MAX,
                                            description="d" * services.TEXT_MAX, lead="", status="planning",
                                            start_date="2027-01-01", due_date="")
    assert ((await project(longest))["lead"], (await project(longest))["due_date"]) == (None, None)
    assert await Project.count().where(Project.workspace == world.workspace) == 4


async def test_a_project_made_with_only_a_client_and_a_name_has_the_plain_defaults(world):
    project_id = await services.create_project(owner(world), organisation=str(world.org_a), name="Plain")
    saved = await project(project_id)
    assert (saved["description"], saved["lead"], saved["status"], saved["start_date"], saved["due_date"]) == (
        "", None, "planning", None, None)


async def test_a_bad_due_date_is_named_as_the_due_date(world):
    with pytest.raises(Invalid) as refused:
        await services.create_project(owner(world), organisation=str(world.org_a), name="Launch",
                                      due_date="31/12/2027")
    assert refused.value.errors == {"due_date": "Enter the date as YYYY-MM-DD, e.g. 2026-12-31."}
    project_id = await services.create_project(owner(world), organisation=str(world.org_a), name="Launch",
                                               due_date=" 2027-12-31 ")
    assert (await project(project_id))["due_date"] == dt.date(2027, 12, 31)


async def test_another_workspaces_organisation_or_staff_is_refused_in_a_form(world):
    other = await make_workspace("other", "Other Agency")
    foreign_org = await insert(ClientOrganisation(workspace=other, name="Initech"))
    foreign_staff = await make_staff(other, "mallory@other.example")
    with pytest.raises(Invalid) as refused:
        await services.create_project(owner(world), organisation=str(foreign_org), name="X", description="",
                                      lead=str(foreign_staff), status="planning", start_date="", due_date="")
    assert set(refused.value.errors) == {"organisation", "lead"}


async def test_an_archived_client_or_a_removed_lead_stays_choosable_only_for_the_project_that_has_it(world):
    staff = owner(world)
    gone = await make_staff(world.workspace, "gone@acme.example", role="member", name="Gone Member")
    await services.update_project(staff, world.project_a, organisation=str(world.org_a), name="Northwind website",
                                  description="", lead=str(gone), status="active", start_date="", due_date="")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == gone)
    await ClientOrganisation.update({ClientOrganisation.archived_at: clock.now()}).where(
        ClientOrganisation.id == world.org_a)
    assert await services.organisation_choices(world.workspace) == [(world.org_b, "Globex")]
    assert await services.organisation_choices(world.workspace, keep=world.org_a) == [
        (world.org_b, "Globex"), (world.org_a, "Northwind")]
    assert await services.staff_choices(world.workspace) == [(world.staff, "Olivia Owner")]
    assert await services.staff_choices(world.workspace, keep=gone) == [(gone, "Gone Member"), (world.staff, "Olivia Owner")]
    # Kept as they are on the project that has them:
    await services.update_project(staff, world.project_a, organisation=str(world.org_a), name="Renamed",
                                  description="", lead=str(gone), status="active", start_date="", due_date="")
    assert (await project(world.project_a))["name"] == "Renamed"
    # ...but not for another project.
    with pytest.raises(Invalid) as refused:
        await services.update_project(staff, world.project_b, organisation=str(world.org_a), name="Globex rebrand",
                                      description="", lead=str(gone), status="active", start_date="", due_date="")
    assert set(refused.value.errors) == {"organisation", "lead"}


async def test_staff_without_a_name_are_offered_by_email_in_name_then_email_order(world):
    b = await make_staff(world.workspace, "b@acme.example", role="member")
    a = await make_staff(world.workspace, "a@acme.example", role="member")
    zed = await make_staff(world.workspace, "aaa@acme.example", role="member", name="Zed")
    assert await services.staff_choices(world.workspace) == [
        (a, "a@acme.example"), (b, "b@acme.example"), (world.staff, "Olivia Owner"), (zed, "Zed")]


def test_form_ids_are_positive_integers_or_never_a_row():
    assert [services._id(v) for v in (None, "", "7", 7, "1", "0", "-3", "x", str(2**63), str(2**63 - 1))] == [
        None, None, 7, 7, 1, -1, -1, -1, -1, 2**63 - 1]


async def test_an_update_writes_only_the_changed_columns_and_nothing_while_archived(world):
    staff = owner(world)
    await services.update_project(staff, world.project_a, organisation=str(world.org_a), name="Northwind website",
                                  description="New text", lead=str(world.staff), status="active", start_date="",
                                  due_date="")
    assert (await only_event("project_updated"))["detail"] == {"changed": ["description"]}
    assert ((await project(world.project_a))["description"], (await project(world.project_b))["description"]) == (
        "New text", "")
    await services.set_archived(staff, world.project_a, True)
    before = await project(world.project_a)
    assert before["archived_at"] is not None
    with pytest.raises(Conflict) as refused:
        await services.update_project(staff, world.project_a, organisation=str(world.org_a), name="Other",
                                      description="", lead="", status="active", start_date="", due_date="")
    assert refused.value.message == services.ARCHIVED
    assert await project(world.project_a) == before
    await services.set_archived(staff, world.project_a, False)
    assert (await project(world.project_a))["archived_at"] is None
    assert (await project(world.project_b))["archived_at"] is None


async def test_the_overview_leaves_archived_projects_out_unless_asked_and_counts_them(world):
    other = await make_workspace("other", "Other Agency")
    foreign_org = await insert(ClientOrganisation(workspace=other, name="Initech"))
    await make_project(other, foreign_org, "Initech site")
    alpha = await make_project(world.workspace, world.org_a, "Alpha", status="on_hold", due_date=dt.date(2027, 5, 1))
    await services.set_archived(owner(world), world.project_b, True)
    overview = await services.studio_overview(world.workspace)
    assert [(p.id, p.name, p.client, p.archived) for p in overview.projects] == [
        (alpha, "Alpha", "Northwind", False), (world.project_a, "Northwind website", "Northwind", False)]
    assert [(p.status, p.due_date) for p in overview.projects] == [("on_hold", dt.date(2027, 5, 1)), ("active", None)]
    assert (overview.organisations, overview.archived) == (2, 1)
    everything = await services.studio_overview(world.workspace, include_archived=True)
    assert [(p.id, p.archived) for p in everything.projects] == [
        (world.project_b, True), (alpha, False), (world.project_a, False)]


async def test_the_project_page_counts_open_and_all_work_tasks_of_that_project_only(world):
    for status in ("todo", "todo", "in_progress", "done", "cancelled"):
        await make_task(world.workspace, world.project_a, f"Task {status}", status=status)
    await make_task(world.workspace, world.project_a, "From the inbox", status="todo", kind="inbox")
    await make_task(world.workspace, world.project_b, "Globex work", status="todo")
    detail = await services.studio_project_detail(owner(world), world.project_a)
    # The world's own "Internal: fix CMS cache" task is in progress in project A.
    assert (detail.open_tasks, detail.tasks_total) == (4, 6)
    assert (detail.id, detail.client, detail.lead_name) == (world.project_a, "Northwind", "Olivia Owner")
    unnamed = await make_staff(world.workspace, "lee@acme.example", role="member")
    finished = await make_project(world.workspace, world.org_a, "Finished", lead=unnamed)
    await make_task(world.workspace, finished, "Shipped", status="done")
    detail = await services.studio_project_detail(owner(world), finished)
    assert (detail.open_tasks, detail.tasks_total, detail.lead_name) == (0, 1, "lee@acme.example")


# Milestones


async def test_milestone_names_and_dates_are_checked_at_their_limits(world):
    staff = owner(world)
    longest = "m" * services.NAME_MAX
    milestone_id = await services.add_milestone(staff, world.project_a, name=f"  {longest} ", due_date="2027-01-01")
    saved = await Milestone.select().where(Milestone.id == milestone_id).first()
    assert (saved["name"], saved["due_date"], saved["project"], saved["position"]) == (
        longest, dt.date(2027, 1, 1), world.project_a, 0)
    with pytest.raises(Invalid) as refused:
        await services.add_milestone(staff, world.project_a, name=longest + "m", due_date="tomorrow")
    assert refused.value.errors == {"name": f"Keep the name to {services.NAME_MAX} characters or fewer.",
                                    "due_date": "Enter the date as YYYY-MM-DD, e.g. 2026-12-31."}
    with pytest.raises(Invalid) as refused:
        await services.edit_milestone(staff, world.project_a, milestone_id, name=" ")
    assert refused.value.errors == {"name": "Enter the milestone's name."}
    await services.edit_milestone(staff, world.project_a, milestone_id, name="Launch")
    saved = await Milestone.select().where(Milestone.id == milestone_id).first()
    assert (saved["name"], saved["due_date"]) == ("Launch", None)
    assert (await only_event("milestone_updated"))["detail"]["changed"] == ["due_date", "name"]


async def test_new_milestones_go_last_and_a_delete_closes_the_gap_in_that_project_only(world):
    staff = owner(world)
    foreign = await make_milestone(world.project_b, "Globex", position=3)
    ids = [await services.add_milestone(staff, world.project_a, name=n) for n in ("One", "Two", "Three")]
    assert await positions(world.project_a) == list(zip(ids, range(3), strict=True))
    task_here = await make_task(world.workspace, world.project_a, "Here", milestone=ids[1])
    task_kept = await make_task(world.workspace, world.project_a, "Kept", milestone=ids[0])
    task_there = await make_task(world.workspace, world.project_b, "There", milestone=foreign)
    assert await services.delete_milestone(staff, world.project_a, ids[1]) == "Two"
    assert await positions(world.project_a) == [(ids[0], 0), (ids[2], 1)]
    assert (await task(task_here))["milestone"] is None and (await task(task_there))["milestone"] == foreign
    assert (await task(task_kept))["milestone"] == ids[0]
    assert await positions(world.project_b) == [(foreign, 3)]
    with pytest.raises(NotFound):
        await services.delete_milestone(staff, world.project_a, foreign)


async def test_a_new_milestone_goes_after_the_projects_others(world):
    first, second = [await make_milestone(world.project_a, n, position=i) for i, n in enumerate(("1", "2"))]
    added = await services.add_milestone(owner(world), world.project_a, name="3")
    assert await positions(world.project_a) == [(first, 0), (second, 1), (added, 2)]


async def test_a_new_milestone_closes_a_gap_left_in_the_positions(world):
    first, second = [await make_milestone(world.project_a, n, position=p) for n, p in (("1", 0), ("2", 2))]
    added = await services.add_milestone(owner(world), world.project_a, name="3")
    assert await positions(world.project_a) == [(first, 0), (second, 1), (added, 2)]


async def test_a_milestone_is_completed_and_reopened_once(world, monkeypatch):
    moment = dt.datetime(2026, 12, 7, 9, 15, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    staff = owner(world)
    milestone_id = await make_milestone(world.project_a, "Design")
    await services.set_milestone_done(staff, world.project_a, milestone_id, True)
    await services.set_milestone_done(staff, world.project_a, milestone_id, True)
    assert (await Milestone.select().where(Milestone.id == milestone_id).first())["completed_at"] == moment
    await services.set_milestone_done(staff, world.project_a, milestone_id, False)
    await services.set_milestone_done(staff, world.project_a, milestone_id, False)
    assert (await Milestone.select().where(Milestone.id == milestone_id).first())["completed_at"] is None
    assert (len(await events("milestone_completed")), len(await events("milestone_reopened"))) == (1, 1)


async def test_moves_swap_with_the_neighbour_and_the_ends_stay_put(world):
    staff = owner(world)
    one, two, three = [await make_milestone(world.project_a, n, position=i) for i, n in enumerate(("1", "2", "3"))]
    with pytest.raises(Invalid) as refused:
        await services.move_milestone(staff, world.project_a, two, "sideways")
    assert refused.value.errors == {"direction": "Move a milestone up or down."}
    await services.move_milestone(staff, world.project_a, two, "down")
    assert await positions(world.project_a) == [(one, 0), (three, 1), (two, 2)]
    assert [m.id for m in await services.milestones(staff, world.project_a)] == [one, three, two]
    await services.move_milestone(staff, world.project_a, two, "down")
    await services.move_milestone(staff, world.project_a, one, "up")
    assert await positions(world.project_a) == [(one, 0), (three, 1), (two, 2)]
    await services.move_milestone(staff, world.project_a, two, "up")
    assert await positions(world.project_a) == [(one, 0), (two, 1), (three, 2)]
    await services.move_milestone(staff, world.project_a, two, "up")
    assert await positions(world.project_a) == [(two, 0), (one, 1), (three, 2)]
    assert [e["detail"] for e in await events("milestone_order_changed")] == [
        {"order": [one, three, two]}, {"order": [one, two, three]}, {"order": [two, one, three]}]


async def test_reorder_takes_exactly_the_projects_milestones_and_an_unchanged_order_is_not_audited(world):
    staff = owner(world)
    one, two = [await make_milestone(world.project_a, n, position=i) for i, n in enumerate(("1", "2"))]
    for order in ([one], [one, one], [one, two, two], [str(one), "x"]):
        with pytest.raises(Invalid) as refused:
            await services.reorder_milestones(staff, world.project_a, order)
        assert refused.value.errors == {
            "order": "The list of milestones changed meanwhile. Reload the page and try again."}
    await services.reorder_milestones(staff, world.project_a, [str(one), str(two)])
    assert await events("milestone_order_changed") == []
    await services.reorder_milestones(staff, world.project_a, [str(two), str(one)])
    assert await positions(world.project_a) == [(two, 0), (one, 1)]
    assert [e["detail"] for e in await events("milestone_order_changed")] == [{"order": [two, one]}]


async def test_the_milestone_list_counts_each_ones_work_tasks(world):
    staff = owner(world)
    one, two = [await make_milestone(world.project_a, n, position=i) for i, n in enumerate(("1", "2"))]
    await make_task(world.workspace, world.project_a, "A", milestone=one)
    await make_task(world.workspace, world.project_a, "B", milestone=one)
    await make_task(world.workspace, world.project_a, "Inbox", kind="inbox", milestone=one)
    rows = await services.milestones(staff, world.project_a)
    assert [(r.id, r.tasks, r.first, r.last) for r in rows] == [(one, 2, True, False), (two, 0, False, True)]
    assert await services.milestone_choices(world.project_a) == [(one, "1"), (two, "2")]
    await Milestone.update({Milestone.position: 9}).where(Milestone.id == one)
    assert await services.milestone_choices(world.project_a) == [(two, "2"), (one, "1")]
    assert [r.id for r in await services.milestones(staff, world.project_a)] == [two, one]


# Work tasks


async def test_task_fields_are_cleaned_and_each_bad_one_is_named(world):
    staff = owner(world)
    other_ms = await make_milestone(world.project_b, "Globex milestone")
    ms = await make_milestone(world.project_a, "Design")
    task_id = await services.add_task(staff, world.project_a, title="  Fix   header ", details=" Line\r\nTwo ",
                                      assignee=str(world.staff), status="in_progress", milestone=str(ms),
                                      due_date="2027-01-05")
    saved = await task(task_id)
    assert (saved["workspace"], saved["project"], saved["kind"], saved["title"], saved["details"], saved["assignee"],
            saved["status"], saved["milestone"], saved["due_date"], saved["completed_at"]) == (
        world.workspace, world.project_a, "work", "Fix header", "Line\nTwo", world.staff, "in_progress", ms,
        dt.date(2027, 1, 5), None)
    with pytest.raises(Invalid) as refused:
        await services.add_task(staff, world.project_a, title=" ", details="d" * (services.TEXT_MAX + 1),
                                assignee="abc", status="later", milestone=str(other_ms), due_date="soon")
    assert refused.value.errors == {
        "title": "Enter the task's title.",
        "details": f"Keep the details to {services.TEXT_MAX} characters or fewer.",
        "assignee": "Choose the assignee among this workspace's active team members.",
        "status": "Choose one of the statuses: To do, In progress, Done, Cancelled.",
        "milestone": "Choose one of this project's milestones.",
        "due_date": "Enter the date as YYYY-MM-DD, e.g. 2026-12-31.",
    }
    with pytest.raises(Invalid) as refused:
        await services.add_task(staff, world.project_a, title="t" * (services.TITLE_MAX + 1))
    assert refused.value.errors == {"title": f"Keep the title to {services.TITLE_MAX} characters or fewer."}
    longest = await services.add_task(staff, world.project_a, title="t" * services.TITLE_MAX,
                                      details="d" * services.TEXT_MAX)
    assert (await task(longest))["assignee"] is None and (await task(longest))["milestone"] is None


async def test_done_stamps_the_completion_once_and_any_other_status_clears_it(world, monkeypatch):
    staff = owner(world)
    first = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: first)
    task_id = await services.add_task(staff, world.project_a, title="Ship", status="done")
    assert (await task(task_id))["completed_at"] == first
    monkeypatch.setattr(clock, "now", lambda: first + dt.timedelta(days=2))
    await services.edit_task(staff, world.project_a, task_id, title="Ship it", details="", assignee="", status="done",
                             milestone="", due_date="")
    assert (await task(task_id))["completed_at"] == first  # kept while it stays done
    await services.set_task_status(staff, world.project_a, task_id, "todo")
    assert (await task(task_id))["completed_at"] is None
    await services.set_task_status(staff, world.project_a, task_id, "done")
    assert (await task(task_id))["completed_at"] == first + dt.timedelta(days=2)
    await services.set_task_status(staff, world.project_a, task_id, "done")  # a repeat changes nothing
    assert [e["detail"]["previous"] for e in await events("task_status_changed")] == ["done", "todo"]
    await services.edit_task(staff, world.project_a, task_id, title="Ship it", details="", assignee="",
                             status="cancelled", milestone="", due_date="")
    saved = await task(task_id)
    assert (saved["status"], saved["completed_at"]) == ("cancelled", None)
    assert [e["detail"]["changed"] for e in await events("task_updated")] == [["title"], ["status"]]


async def test_an_unchanged_edit_writes_nothing_and_a_bad_status_is_refused(world):
    staff = owner(world)
    task_id = await services.add_task(staff, world.project_a, title="Ship", details="x")
    before = await task(task_id)
    await services.edit_task(staff, world.project_a, task_id, title="Ship", details="x", assignee="", status="todo",
                             milestone="", due_date="")
    assert await task(task_id) == before and await events("task_updated") == []
    with pytest.raises(Invalid) as refused:
        await services.set_task_status(staff, world.project_a, task_id, "finished")
    assert refused.value.errors == {"status": "Choose one of the statuses: To do, In progress, Done, Cancelled."}
    assert await task(task_id) == before


async def test_an_edit_keeps_the_milestone_assignee_and_due_date_it_is_given(world):
    staff = owner(world)
    lee = await make_staff(world.workspace, "lee@acme.example", role="member")
    stage = await make_milestone(world.project_a, "Stage")
    task_id = await services.add_task(staff, world.project_a, title="Ship")
    await services.edit_task(staff, world.project_a, task_id, title="Ship", details="", assignee=str(lee),
                             status="todo", milestone=str(stage), due_date="2027-05-01")
    saved = await task(task_id)
    assert (saved["assignee"], saved["milestone"], saved["due_date"]) == (lee, stage, dt.date(2027, 5, 1))
    assert (await events("task_updated"))[-1]["detail"]["changed"] == ["assignee", "due_date", "milestone"]


async def test_a_removed_assignee_stays_on_the_task_that_has_it(world):
    staff = owner(world)
    gone = await make_staff(world.workspace, "gone@acme.example", role="member")
    task_id = await services.add_task(staff, world.project_a, title="Ship", assignee=str(gone))
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == gone)
    await services.edit_task(staff, world.project_a, task_id, title="Ship it", details="", assignee=str(gone),
                             status="todo", milestone="", due_date="")
    assert (await task(task_id))["title"] == "Ship it"
    with pytest.raises(Invalid) as refused:
        await services.add_task(staff, world.project_a, title="Other", assignee=str(gone))
    assert set(refused.value.errors) == {"assignee"}


def test_task_filters_keep_only_known_statuses_and_real_ids():
    assert services.task_filters("done", "5", "7") == services.TaskFilters("done", 5, 7)
    assert services.task_filters("todo", "1", "1") == services.TaskFilters("todo", 1, 1)
    assert services.task_filters("finished", "x", "-2") == services.TaskFilters("", None, None)
    assert services.task_filters() == services.TaskFilters() and not services.TaskFilters().active
    assert services.TaskFilters(status="todo").active and services.TaskFilters(assignee=3).active
    assert services.TaskFilters(milestone=4).active


async def test_task_lists_filter_by_status_assignee_and_milestone_together(world):
    staff = owner(world)
    mia = await make_staff(world.workspace, "mia@acme.example", role="member")
    ms = await make_milestone(world.project_a, "Design")
    mine = await make_task(world.workspace, world.project_a, "Mine", status="todo", assignee=mia, milestone=ms)
    await make_task(world.workspace, world.project_a, "Mine, done", status="done", assignee=mia, milestone=ms)
    await make_task(world.workspace, world.project_a, "Unassigned", status="todo", milestone=ms)
    await make_task(world.workspace, world.project_a, "No milestone", status="todo", assignee=mia)
    await make_task(world.workspace, world.project_b, "Other project", status="todo", assignee=mia)
    await make_task(world.workspace, world.project_a, "From the inbox", status="todo", assignee=mia, milestone=ms,
                    kind="inbox")
    found = await services.tasks(staff, world.project_a, services.TaskFilters("todo", mia, ms))
    assert [t.id for t in found] == [mine]
    assert {t.title for t in await services.tasks(staff, world.project_a, services.TaskFilters(assignee=mia))} == {
        "Mine", "Mine, done", "No milestone"}
    assert {t.title for t in await services.tasks(staff, world.project_a, services.TaskFilters(milestone=ms))} == {
        "Mine", "Mine, done", "Unassigned"}
    assert {t.title for t in await services.tasks(staff, world.project_a, services.TaskFilters(status="done"))} == {
        "Mine, done"}
    assert {t.title for t in await services.tasks(staff, world.project_a, services.TaskFilters(status="todo"))} == {
        "Mine", "Unassigned", "No milestone"}


async def test_comments_are_checked_at_their_limit_and_listed_oldest_first(world):
    staff = owner(world)
    task_id = await make_task(world.workspace, world.project_a, "Ship")
    for body, message in (("  ", "Write your comment."),
                          ("c" * (services.COMMENT_MAX + 1),
                           f"Keep the comment to {services.COMMENT_MAX} characters or fewer (it has "
                           f"{services.COMMENT_MAX + 1}).")):
        with pytest.raises(Invalid) as refused:
            await services.add_comment(staff, world.project_a, task_id, body)
        assert refused.value.errors == {"body": message}
    await services.add_comment(staff, world.project_a, task_id, "c" * services.COMMENT_MAX)
    lee = await make_staff(world.workspace, "lee@acme.example", role="member")
    await services.add_comment(Principal(kind="staff", user_id=lee, workspace_id=world.workspace, email="lee@acme.example",
                                         name="", session_id=0, role="member"), world.project_a, task_id, "Second\r\nline")
    # Written later, dated earlier: listed first.
    await insert(TaskComment(task=task_id, author=world.staff, body="Backdated",
                             created_at=clock.now() - dt.timedelta(days=1)))
    page = await services.task_page(staff, world.project_a, task_id)
    assert [(c.author, c.body) for c in page.comments] == [
        ("Olivia Owner", "Backdated"), ("Olivia Owner", "c" * services.COMMENT_MAX),
        ("lee@acme.example", "Second\nline")]
    assert page.task.id == task_id


async def test_an_inbox_task_or_another_projects_task_is_not_found_here(world):
    staff = owner(world)
    inbox = await make_task(world.workspace, world.project_a, "From the inbox", kind="inbox")
    other = await make_task(world.workspace, world.project_b, "Globex work")
    for task_id in (inbox, other):
        for attempt in (services.task_page(staff, world.project_a, task_id),
                        services.set_task_status(staff, world.project_a, task_id, "done"),
                        services.add_comment(staff, world.project_a, task_id, "Hello"),
                        services.edit_task(staff, world.project_a, task_id, title="X", details="", assignee="",
                                           status="todo", milestone="", due_date="")):
            with pytest.raises(NotFound):
                await attempt
    assert (await task(inbox))["status"] == "todo" and await TaskComment.count().where(TaskComment.task == other) == 0


async def test_an_archived_project_refuses_every_change_of_milestones_tasks_and_comments(world):
    staff = owner(world)
    ms = await make_milestone(world.project_a, "Design")
    task_id = await make_task(world.workspace, world.project_a, "Ship")
    await services.set_archived(staff, world.project_a, True)
    attempts = (
        services.add_milestone(staff, world.project_a, name="New"),
        services.edit_milestone(staff, world.project_a, ms, name="Renamed"),
        services.set_milestone_done(staff, world.project_a, ms, True),
        services.delete_milestone(staff, world.project_a, ms),
        services.move_milestone(staff, world.project_a, ms, "up"),
        services.reorder_milestones(staff, world.project_a, [ms]),
        services.add_task(staff, world.project_a, title="New"),
        services.edit_task(staff, world.project_a, task_id, title="X", details="", assignee="", status="todo",
                           milestone="", due_date=""),
        services.set_task_status(staff, world.project_a, task_id, "done"),
        services.add_comment(staff, world.project_a, task_id, "Hello"),
    )
    for attempt in attempts:
        with pytest.raises(Conflict) as refused:
            await attempt
        assert refused.value.message == services.ARCHIVED
    assert await Milestone.count() == 1 and (await task(task_id))["status"] == "todo"


async def test_another_workspaces_staff_get_not_found_for_every_project_lookup(world):
    other = await make_workspace("other", "Other Agency")
    mallory = Principal(kind="staff", user_id=await make_staff(other, "mallory@other.example"), workspace_id=other,
                        email="mallory@other.example", name="", session_id=0, role="owner")
    ms = await make_milestone(world.project_a, "Design")
    task_id = await make_task(world.workspace, world.project_a, "Ship")
    attempts = (
        services.staff_project_row(mallory, world.project_a),
        services.staff_project_row(mallory, world.project_a, lock=True),
        services.set_archived(mallory, world.project_a, True),
        services.studio_project_detail(mallory, world.project_a),
        services.milestones(mallory, world.project_a),
        services.add_milestone(mallory, world.project_a, name=""),
        services.edit_milestone(mallory, world.project_a, ms, name=""),
        services.move_milestone(mallory, world.project_a, ms, "sideways"),
        services.set_milestone_done(mallory, world.project_a, ms, True),
        services.reorder_milestones(mallory, world.project_a, []),
        services.tasks(mallory, world.project_a),
        services.add_task(mallory, world.project_a, title=""),
        services.set_task_status(mallory, world.project_a, task_id, "nonsense"),
        services.task_page(mallory, world.project_a, task_id),
        services.add_comment(mallory, world.project_a, task_id, ""),
    )
    for attempt in attempts:
        with pytest.raises(NotFound):
            await attempt
    assert (await project(world.project_a))["archived_at"] is None and await events("project_archived") == []


# Progress and what clients see


async def test_progress_counts_work_tasks_and_falls_back_to_milestones(world):
    await Task.delete().where(Task.project == world.project_a)
    for status in ("done", "done", "todo", "cancelled"):
        await make_task(world.workspace, world.project_a, status, status=status)
    await make_task(world.workspace, world.project_a, "inbox", status="todo", kind="inbox")
    await make_milestone(world.project_b, "Done", done=True)
    await make_milestone(world.project_b, "Open", position=1)
    await make_milestone(world.project_b, "Open too", position=2)
    rows = [{"id": world.project_a, "due_date": None}, {"id": world.project_b, "due_date": None}]
    found = await progress.progress_for(rows)
    assert (found[world.project_a].percent, found[world.project_b].percent) == (67, 33)
    assert found[world.project_b].milestones_done == 1
    await make_task(world.workspace, world.project_b, "Not started", status="todo")
    assert (await progress.progress_for(rows[1:]))[world.project_b].percent == 0  # tasks count, none done
    assert await progress.progress_for([]) == {}
    assert progress._percent(0, 0) == 0 and progress._percent(1, 8) == 12 and progress._percent(5, 8) == 62


async def test_upcoming_deadlines_are_the_open_ones_within_thirty_days_soonest_first(world, monkeypatch):
    moment = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    today = moment.date()
    await make_milestone(world.project_a, "Late", due_in_days=-1)
    await make_milestone(world.project_a, "Today", due_in_days=0, position=1)
    await make_milestone(world.project_a, "Edge", due_in_days=30, position=2)
    await make_milestone(world.project_a, "Beyond", due_in_days=31, position=3)
    await make_milestone(world.project_a, "Done soon", due_in_days=5, done=True, position=4)
    await make_milestone(world.project_a, "Undated", position=5)
    await make_milestone(world.project_a, "Done late", due_in_days=-3, done=True, position=6)
    found = (await progress.progress_for([{"id": world.project_a, "due_date": today + dt.timedelta(days=10)}]))[
        world.project_a]
    assert [(d.label, d.days_left) for d in found.upcoming] == [("Today", 0), ("Project due", 10), ("Edge", 30)]
    assert found.next_deadline == found.upcoming[0]
    assert [(m.name, m.done, m.overdue) for m in found.milestones] == [
        ("Late", False, True), ("Today", False, False), ("Edge", False, False), ("Beyond", False, False),
        ("Done soon", True, False), ("Undated", False, False), ("Done late", True, False)]
    for days in (0, 30):  # the project's own due date, on both edges of the window
        found = (await progress.progress_for([{"id": world.project_b, "due_date": today + dt.timedelta(days=days)}]))
        assert [(d.label, d.due_date, d.days_left) for d in found[world.project_b].upcoming] == [
            ("Project due", today + dt.timedelta(days=days), days)]
    for due in (today - dt.timedelta(days=1), today + dt.timedelta(days=31)):
        found = (await progress.progress_for([{"id": world.project_b, "due_date": due}]))[world.project_b]
        assert found.upcoming == [] and found.next_deadline is None
    await make_milestone(world.project_b, "All done", done=True)
    finished = (await progress.progress_for([{"id": world.project_b, "due_date": today}]))[world.project_b]
    assert finished.percent == 100 and finished.upcoming == []
    edge = (await progress.progress_for([{"id": world.project_b, "due_date": today + dt.timedelta(days=30)}]))
    assert edge[world.project_b].upcoming == []  # 100% done: no deadline to show


async def test_a_client_sees_only_projects_with_a_live_grant_and_staff_see_none(world):
    assert await access.visible_project_ids(alice(world)) == [world.project_a]
    assert (await access.get_visible_project(alice(world), world.project_a))["id"] == world.project_a
    with pytest.raises(NotFound):
        await access.get_visible_project(alice(world), world.project_b)
    assert await access.visible_project_ids(owner(world)) == []
    with pytest.raises(NotFound):
        await access.get_visible_project(owner(world), world.project_a)
    cards = await services.project_list([world.project_b, world.project_a])
    assert [c.name for c in cards] == ["Globex rebrand", "Northwind website"]
    detail = await services.project_detail(await access.get_visible_project(alice(world), world.project_a))
    assert (detail.id, detail.name) == (world.project_a, "Northwind website")


async def test_a_grant_with_an_expiry_is_live_until_that_day_included(world):
    from portal.projects.tables import ProjectAccess

    await ProjectAccess.update({ProjectAccess.expires_on: TODAY}).where(ProjectAccess.client_user == world.alice)
    assert await access.visible_project_ids(alice(world)) == [world.project_a]
    assert (await access.get_visible_project(alice(world), world.project_a))["id"] == world.project_a
    await ProjectAccess.update({ProjectAccess.expires_on: TODAY - dt.timedelta(days=1)}).where(
        ProjectAccess.client_user == world.alice)
    assert await access.visible_project_ids(alice(world)) == []
    with pytest.raises(NotFound):
        await access.get_visible_project(alice(world), world.project_a)


async def test_the_clients_milestones_carry_their_due_dates(world):
    due = TODAY + dt.timedelta(days=40)
    await make_milestone(world.project_a, "Launch", due_in_days=40)
    row = await project(world.project_a)
    (view,) = (await progress.progress_for([row]))[world.project_a].milestones
    assert (view.name, view.due_date, view.done, view.overdue) == ("Launch", due, False, False)


async def test_the_studio_overview_shows_each_projects_progress(world):
    await make_task(world.workspace, world.project_b, "Done", status="done")
    await make_task(world.workspace, world.project_b, "Open", status="todo")
    overview = await services.studio_overview(world.workspace)
    assert {row.name: row.progress.percent for row in overview.projects} == {
        "Globex rebrand": 50, "Northwind website": 0}
