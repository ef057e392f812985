"""The studio's projects: the list, a new project, the overview, editing and archiving."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from portal.accounts.tables import ClientOrganisation, StaffMember
from portal.audit.tables import AuditEvent
from portal.projects.tables import Project
from tests.factories import insert, make_milestone, make_staff, make_task, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff


def form(world, **changes) -> dict:
    values = {"organisation": str(world.org_a), "name": "Northwind app", "description": "A shop app for Northwind.",
              "lead": str(world.staff), "status": "active", "start_date": "2027-01-04", "due_date": "2027-03-31"}
    return {**values, **changes}


async def events(action: str) -> list[dict]:
    return await AuditEvent.select().where(AuditEvent.action == action)


async def snapshot() -> list[dict]:
    return await Project.select().order_by(Project.id)


async def test_staff_create_a_project_and_find_it_in_the_list(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    page = await http.get("/studio/projects")
    assert page.status_code == 200 and 'data-testid="new-project-form"' in page.text
    assert f'<option value="{world.org_a}">Northwind</option>' in page.text
    response = await post_form(http, "/studio/projects", form(world))
    assert response.status_code == 303
    row = await Project.select().where(Project.name == "Northwind app").first()
    assert response.headers["location"] == f"/studio/projects/{row['id']}"
    assert (row["workspace"], row["organisation"], row["lead"], row["status"]) == (
        world.workspace, world.org_a, world.staff, "active")
    assert (row["start_date"], row["due_date"]) == (dt.date(2027, 1, 4), dt.date(2027, 3, 31))
    assert row["description"] == "A shop app for Northwind." and row["archived_at"] is None
    [event] = await events("project_created")
    assert (event["target_id"], event["actor_id"], event["workspace"]) == (row["id"], world.staff, world.workspace)
    overview = await http.get(response.headers["location"])
    assert overview.status_code == 200 and "Project created." in overview.text and "Northwind app" in overview.text
    listed = (await http.get("/studio/projects")).text
    assert f'href="/studio/projects/{row["id"]}"' in listed


async def test_a_member_may_create_projects_too(http, world):
    member = await make_staff(world.workspace, "mo@acme.example", role="member", name="Mo Member")
    await sign_in_staff(http, world.workspace, member)
    response = await post_form(http, "/studio/projects", form(world, lead=str(member), start_date="", due_date=""))
    assert response.status_code == 303
    row = await Project.select().where(Project.name == "Northwind app").first()
    assert row["lead"] == member and row["start_date"] is None and row["due_date"] is None


async def foreign_ids() -> dict:
    other = await make_workspace("rival", "Rival Agency")
    return {"staff": await make_staff(other, "eve@rival.example"),
            "org": await insert(ClientOrganisation(workspace=other, name="Rival client"))}


@pytest.mark.parametrize("changes, field, message", [
    ({"name": "   "}, "name", "Enter the project&#39;s name."),
    ({"name": "x" * 201}, "name", "Keep the name to 200 characters or fewer."),
    ({"due_date": "2027-01-03"}, "due_date", "The due date is before the start date."),
    ({"start_date": "4 January"}, "start_date", "Enter the date as YYYY-MM-DD"),
    ({"organisation": ""}, "organisation", "Choose the client organisation."),
    ({"organisation": "FOREIGN_ORG"}, "organisation", "Choose one of this workspace&#39;s client organisations."),
    ({"organisation": "abc"}, "organisation", "Choose one of this workspace&#39;s client organisations."),
    ({"lead": "FOREIGN_STAFF"}, "lead", "Choose the lead among this workspace&#39;s active team members."),
    ({"lead": "INACTIVE_STAFF"}, "lead", "Choose the lead among this workspace&#39;s active team members."),
    ({"status": "finished"}, "status", "Choose one of the statuses"),
])
async def test_bad_input_shows_the_form_again_and_creates_nothing(http, world, changes, field, message):
    foreign = await foreign_ids()
    gone = await make_staff(world.workspace, "gone@acme.example", role="member")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == gone)
    swap = {"FOREIGN_ORG": str(foreign["org"]), "FOREIGN_STAFF": str(foreign["staff"]), "INACTIVE_STAFF": str(gone)}
    changes = {key: swap.get(value, value) for key, value in changes.items()}
    await sign_in_staff(http, world.workspace, world.staff)
    before = await snapshot()
    response = await post_form(http, "/studio/projects", form(world, description="Kept after the error", **changes))
    assert response.status_code == 422
    assert message in response.text
    assert f'id="field-{field}" name="{field}" aria-invalid="true"' in response.text
    assert "Kept after the error" in response.text  # the submitted values stay in the form
    assert await snapshot() == before
    assert await events("project_created") == []


async def test_the_overview_shows_details_progress_and_counts(http, world):
    milestone = await make_milestone(world.project_a, "Design", due_in_days=10, done=True)
    await make_milestone(world.project_a, "Build", due_in_days=20, position=1)
    await make_task(world.workspace, world.project_a, "Wireframes", status="done", milestone=milestone)
    await make_task(world.workspace, world.project_a, "Copy", status="todo")
    await make_task(world.workspace, world.project_a, "Dropped", status="cancelled")
    await make_task(world.workspace, world.project_a, "Client said hi", status="todo", kind="inbox")
    await Project.update({Project.description: "The new northwind.example."}).where(Project.id == world.project_a)
    await sign_in_staff(http, world.workspace, world.staff)
    page = (await http.get(f"/studio/projects/{world.project_a}")).text
    # Work tasks only: the world's in-progress task, "Wireframes" done, "Copy" to do; cancelled left out of %.
    assert '<p class="stat__value" data-testid="percent-done">33%</p>' in page
    assert 'data-testid="milestones-done">1 of 2</p>' in page
    assert 'data-testid="open-tasks">2</p>' in page
    assert "of 4 work tasks" in page
    assert "The new northwind.example." in page and "Olivia Owner" in page and "Northwind" in page
    assert "Build" in page  # upcoming deadline
    assert 'data-testid="edit-project-form"' in page and 'data-testid="archive-form"' in page
    # The tabs: Overview is the current one and the new tabs exist.
    assert f'href="/studio/projects/{world.project_a}" aria-current="page">Overview' in page
    assert f'href="/studio/projects/{world.project_a}/milestones"' in page
    assert f'href="/studio/projects/{world.project_a}/tasks"' in page


async def test_editing_a_project_follows_the_same_rules(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    url = f"/studio/projects/{world.project_a}"
    foreign = await foreign_ids()
    before = await snapshot()
    for changes, message in (({"lead": str(foreign["staff"])}, "active team members"),
                             ({"organisation": str(foreign["org"])}, "client organisations"),
                             ({"due_date": "2027-01-01"}, "The due date is before the start date."),
                             ({"name": ""}, "Enter the project")):
        response = await post_form(http, f"{url}/edit", form(world, **changes))
        assert response.status_code == 422 and message in response.text
        assert 'data-testid="edit-project-form"' in response.text
    assert await snapshot() == before
    response = await post_form(http, f"{url}/edit", form(world, name="Northwind web shop", lead="", status="on_hold"))
    assert response.status_code == 303 and response.headers["location"] == url
    row = await Project.select().where(Project.id == world.project_a).first()
    assert (row["name"], row["lead"], row["status"]) == ("Northwind web shop", None, "on_hold")
    [event] = await events("project_updated")
    assert event["target_id"] == world.project_a
    assert set(json.loads(event["detail"])["changed"]) == {
        "name", "lead", "status", "description", "start_date", "due_date"}
    # Saving without a change records nothing.
    await post_form(http, f"{url}/edit", form(world, name="Northwind web shop", lead="", status="on_hold"))
    assert len(await events("project_updated")) == 1


async def test_archived_projects_leave_the_list_turn_read_only_and_stay_for_clients(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    url = f"/studio/projects/{world.project_a}"
    response = await post_form(http, f"{url}/archive")
    assert response.status_code == 303
    row = await Project.select().where(Project.id == world.project_a).first()
    assert row["archived_at"] is not None
    assert [e["target_id"] for e in await events("project_archived")] == [world.project_a]
    listed = (await http.get("/studio/projects")).text
    assert f'href="{url}"' not in listed and f'href="/studio/projects/{world.project_b}"' in listed
    assert "Show archived projects (1)" in listed
    with_archived = (await http.get("/studio/projects?archived=1")).text
    assert f'href="{url}"' in with_archived and "Archived</span>" in with_archived
    overview = (await http.get(url)).text
    assert 'data-testid="edit-project-form"' not in overview and 'data-testid="unarchive"' in overview
    # Read-only: an edit is refused and changes nothing.
    before = await snapshot()
    refused = await post_form(http, f"{url}/edit", form(world, name="Sneaky"))
    assert refused.status_code == 409 and await snapshot() == before
    # Clients see the project as before.
    client = http.__class__(transport=http._transport, base_url=http.base_url)
    async with client:
        await sign_in_client(client, world.workspace, world.alice)
        assert "Northwind website" in (await client.get("/p/acme/")).text
        assert (await client.get(f"/p/acme/projects/{world.project_a}")).status_code == 200
    response = await post_form(http, f"{url}/unarchive")
    assert response.status_code == 303
    assert (await Project.select(Project.archived_at).where(Project.id == world.project_a).first())["archived_at"] is None
    assert [e["target_id"] for e in await events("project_unarchived")] == [world.project_a]
    assert f'href="{url}"' in (await http.get("/studio/projects")).text


async def test_the_list_says_what_to_do_when_empty(http, world):
    await Project.delete().where(Project.workspace == world.workspace)
    await sign_in_staff(http, world.workspace, world.staff)
    page = (await http.get("/studio/projects")).text
    assert 'data-testid="no-projects"' in page and "Create the first one" in page


async def test_an_archived_client_is_not_offered_for_a_new_project(http, world):
    from portal import clock

    await ClientOrganisation.update({ClientOrganisation.archived_at: clock.now()}).where(ClientOrganisation.id == world.org_b)
    await sign_in_staff(http, world.workspace, world.staff)
    page = await http.get("/studio/projects")
    assert f'<option value="{world.org_a}">Northwind</option>' in page.text
    assert f'<option value="{world.org_b}">' not in page.text
    before = await snapshot()
    response = await post_form(http, "/studio/projects", form(world, organisation=str(world.org_b)))
    assert response.status_code == 422 and "Choose one of this workspace&#39;s client organisations." in response.text
    assert await snapshot() == before
    # a project that already belongs to it keeps it when edited
    edit = await http.get(f"/studio/projects/{world.project_b}")
    assert f'<option value="{world.org_b}" selected>' in edit.text
