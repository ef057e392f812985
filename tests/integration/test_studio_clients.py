"""The studio's Clients: organisations (create, rename, archive) and their people (add,
edit, remove), every change audited and scoped to the staff member's workspace."""

from __future__ import annotations

import datetime as dt
import json
import re

import httpx
import pytest

from portal import clock
from portal.accounts.tables import ClientOrganisation, ClientUser, LoginToken, UserSession
from portal.accounts.tokens import issue_token
from portal.audit.tables import AuditEvent
from portal.projects.tables import ProjectAccess
from tests.factories import grant, insert, make_client, make_project, make_staff, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff
from tests.integration.test_studio_access_matrix import snapshot


async def events(action: str) -> list[dict]:
    rows = await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)
    return [{**r, "detail": json.loads(r["detail"]) if r["detail"] else {}} for r in rows]


def rows_of(html: str, testid: str) -> list[str]:
    """The text of each ``<tr data-testid=...>`` row, tags stripped, spaces collapsed."""
    found = re.findall(rf'<tr data-testid="{testid}">(.*?)</tr>', html, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in found]


async def org_named(name: str) -> dict | None:
    return await ClientOrganisation.select().where(ClientOrganisation.name == name).first()


# The list and creating a client


async def test_the_list_shows_each_client_with_its_projects_and_people(http, world):
    await make_project(world.workspace, world.org_a, "Northwind app")
    await make_client(world.workspace, world.org_a, "bob@northwind.example", "Bob Brown")
    gone = await make_client(world.workspace, world.org_a, "old@northwind.example")
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == gone)
    await sign_in_staff(http, world.workspace, world.staff)

    response = await http.get("/studio/clients")

    assert response.status_code == 200
    assert rows_of(response.text, "client-row") == ["Globex 1 1 Current", "Northwind 2 2 Current"]
    assert f'href="/studio/clients/{world.org_a}"' in response.text
    assert 'data-testid="show-archived"' not in response.text  # nothing archived, no link


async def test_archived_clients_are_hidden_until_asked_for(http, world):
    await ClientOrganisation.update({ClientOrganisation.archived_at: clock.now()}).where(
        ClientOrganisation.id == world.org_b)
    await sign_in_staff(http, world.workspace, world.staff)

    default = await http.get("/studio/clients")
    everything = await http.get("/studio/clients?archived=1")

    assert [r.split()[0] for r in rows_of(default.text, "client-row")] == ["Northwind"]
    assert "Show archived (1)" in default.text and 'href="/studio/clients?archived=1"' in default.text
    assert rows_of(everything.text, "client-row") == ["Globex 1 1 Archived", "Northwind 1 1 Current"]
    assert 'data-testid="hide-archived"' in everything.text


async def test_a_workspace_without_clients_says_what_to_do(http, db):
    workspace = await make_workspace("fresh", "Fresh Agency")
    owner = await make_staff(workspace, "owner@fresh.example")
    await sign_in_staff(http, workspace, owner)

    response = await http.get("/studio/clients")

    assert response.status_code == 200
    assert 'data-testid="clients-empty"' in response.text and "Create your first client" in response.text
    assert 'data-testid="client-list"' not in response.text


@pytest.mark.parametrize("role", ["owner", "member"])
async def test_any_staff_member_creates_a_client(http, world, role):
    staff = world.staff if role == "owner" else await make_staff(world.workspace, "mia@acme.example", role="member")
    await sign_in_staff(http, world.workspace, staff)

    response = await post_form(http, "/studio/clients", {"name": "  Initech  "})

    created = await org_named("Initech")
    assert created is not None and created["workspace"] == world.workspace and created["archived_at"] is None
    assert response.status_code == 303 and response.headers["location"] == f"/studio/clients/{created['id']}"
    page = await http.get(response.headers["location"])
    assert page.status_code == 200 and 'data-testid="flash"' in page.text and "Client created." in page.text
    assert 'data-testid="people-empty"' in page.text and 'data-testid="projects-empty"' in page.text
    [event] = await events("client_organisation_created")
    assert (event["target_id"], event["actor_id"], event["detail"]["name"]) == (created["id"], staff, "Initech")


@pytest.mark.parametrize(("name", "message"), [
    ("", "Enter the client&#39;s name"),
    ("    ", "Enter the client&#39;s name"),
    ("x" * 201, "200 characters or fewer"),
    ("northwind", "There is already a client called “Northwind”"),
    ("  GLOBEX ", "There is already a client called “Globex”"),
])
async def test_a_bad_client_name_is_shown_again_and_nothing_is_saved(http, world, name, message):
    await sign_in_staff(http, world.workspace, world.staff)
    before = await ClientOrganisation.count()

    response = await post_form(http, "/studio/clients", {"name": name})

    assert response.status_code == 422
    assert message in response.text
    assert 'id="error-name"' in response.text and 'aria-invalid="true"' in response.text
    assert f'value="{name}"' in response.text  # what was typed is kept
    assert await ClientOrganisation.count() == before
    assert await events("client_organisation_created") == []


# One client: rename, archive


async def test_renaming_a_client_saves_and_audits_the_old_and_new_name(http, world):
    await sign_in_staff(http, world.workspace, world.staff)

    response = await post_form(http, f"/studio/clients/{world.org_a}/rename", {"name": "Northwind Traders"})

    assert response.status_code == 303 and response.headers["location"] == f"/studio/clients/{world.org_a}"
    assert (await ClientOrganisation.select(ClientOrganisation.name).where(
        ClientOrganisation.id == world.org_a).first())["name"] == "Northwind Traders"
    [event] = await events("client_organisation_renamed")
    assert event["detail"] == {"old_name": "Northwind", "name": "Northwind Traders"}
    page = await http.get(f"/studio/clients/{world.org_a}")
    assert "Name saved." in page.text and '<h1 data-testid="client-name">Northwind Traders</h1>' in page.text


async def test_a_client_may_change_the_case_of_its_own_name(http, world):
    await sign_in_staff(http, world.workspace, world.staff)

    response = await post_form(http, f"/studio/clients/{world.org_a}/rename", {"name": "NORTHWIND"})

    assert response.status_code == 303
    assert await org_named("NORTHWIND") is not None


@pytest.mark.parametrize(("name", "message"), [("", "Enter the client&#39;s name"), ("globex", "already a client called")])
async def test_a_bad_new_name_changes_nothing(http, world, name, message):
    await sign_in_staff(http, world.workspace, world.staff)

    response = await post_form(http, f"/studio/clients/{world.org_a}/rename", {"name": name})

    assert response.status_code == 422 and message in response.text
    assert 'data-testid="rename-form"' in response.text and 'id="error-name"' in response.text
    assert await org_named("Northwind") is not None
    assert await events("client_organisation_renamed") == []


async def test_archiving_keeps_people_and_access_and_can_be_undone(app, http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    grants_before = await ProjectAccess.select().order_by(ProjectAccess.id)

    archived = await post_form(http, f"/studio/clients/{world.org_a}/archive")

    assert archived.status_code == 303
    row = await ClientOrganisation.select().where(ClientOrganisation.id == world.org_a).first()
    assert row["archived_at"] is not None
    assert await ProjectAccess.select().order_by(ProjectAccess.id) == grants_before
    assert (await ClientUser.select(ClientUser.active).where(ClientUser.id == world.alice).first())["active"]
    page = await http.get(f"/studio/clients/{world.org_a}")
    assert 'data-testid="archived-note"' in page.text and 'data-testid="unarchive-form"' in page.text
    listed = await http.get("/studio/clients")
    assert "Northwind" not in " ".join(rows_of(listed.text, "client-row"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as alice:
        await sign_in_client(alice, world.workspace, world.alice)
        assert (await alice.get(f"/p/acme/projects/{world.project_a}")).status_code == 200

    restored = await post_form(http, f"/studio/clients/{world.org_a}/unarchive")

    assert restored.status_code == 303
    row = await ClientOrganisation.select().where(ClientOrganisation.id == world.org_a).first()
    assert row["archived_at"] is None
    assert [e["target_id"] for e in await events("client_organisation_archived")] == [world.org_a]
    assert [e["target_id"] for e in await events("client_organisation_unarchived")] == [world.org_a]


async def test_the_client_page_shows_projects_people_their_access_and_last_sign_in(http, world):
    today = clock.today()
    signed_in_at = dt.datetime(2026, 11, 3, 9, 30, tzinfo=dt.UTC)
    await ClientUser.update({ClientUser.last_login_at: signed_in_at}).where(ClientUser.id == world.alice)
    expired = await make_client(world.workspace, world.org_a, "ed@northwind.example", "Ed Expired")
    await grant(world.workspace, world.project_a, expired, expires_on=today - dt.timedelta(days=1))
    revoked = await make_client(world.workspace, world.org_a, "rita@northwind.example", "Rita Revoked")
    await insert(ProjectAccess(workspace=world.workspace, project=world.project_a, client_user=revoked,
                               revoked_at=clock.now()))
    invited = await make_client(world.workspace, world.org_a, "ivan@northwind.example", "Ivan Invited")
    await grant(world.workspace, world.project_a, invited)
    await make_client(world.workspace, world.org_a, "nora@northwind.example", "Nora Nobody")
    removed = await make_client(world.workspace, world.org_a, "gone@northwind.example", "Gary Gone")
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == removed)
    await sign_in_staff(http, world.workspace, world.staff)

    response = await http.get(f"/studio/clients/{world.org_a}")

    assert response.status_code == 200
    assert rows_of(response.text, "person-row") == [
        "Alice Andrews alice@northwind.example Active 3 Nov 2026 Edit Alice Andrews",
        "Ed Expired ed@northwind.example Expired Never Edit Ed Expired",
        "Ivan Invited ivan@northwind.example Invited Never Edit Ivan Invited",
        "Nora Nobody nora@northwind.example No access Never Edit Nora Nobody",
        "Rita Revoked rita@northwind.example Revoked Never Edit Rita Revoked",
    ]
    assert 'data-testid="removed-people"' in response.text and "Gary Gone" in response.text
    assert f'<a href="/studio/projects/{world.project_a}/access">Northwind website</a>' in response.text
    assert "In progress" in response.text  # the project's status
    assert "Globex" not in response.text and "Carol" not in response.text


# People


async def test_adding_a_person_gives_no_access(http, world):
    await sign_in_staff(http, world.workspace, world.staff)

    response = await post_form(http, f"/studio/clients/{world.org_a}/people",
                               {"name": " Bob Brown ", "email": " Bob@Northwind.Example "})

    assert response.status_code == 303 and response.headers["location"] == f"/studio/clients/{world.org_a}"
    bob = await ClientUser.select().where(ClientUser.email == "bob@northwind.example").first()
    assert (bob["organisation"], bob["workspace"], bob["name"], bob["active"]) == (world.org_a, world.workspace, "Bob Brown", True)
    assert await ProjectAccess.count().where(ProjectAccess.client_user == bob["id"]) == 0
    [event] = await events("client_user_added")
    assert event["target_id"] == bob["id"] and event["detail"]["reactivated"] is False
    page = await http.get(f"/studio/clients/{world.org_a}")
    assert "Bob Brown added." in page.text
    assert "Bob Brown bob@northwind.example No access Never Edit Bob Brown" in rows_of(page.text, "person-row")


@pytest.mark.parametrize(("email", "message"), [
    ("", "Enter an email address like name@company.com."),
    ("bob@", "Enter an email address like name@company.com."),
    (" ALICE@northwind.example", "Someone with this email is already a client: Alice Andrews of Northwind."),
    ("carol@globex.example", "Someone with this email is already a client: Carol Chen of Globex."),
])
async def test_a_bad_or_taken_email_is_shown_again_and_nobody_is_added(http, world, email, message):
    await sign_in_staff(http, world.workspace, world.staff)
    before = await ClientUser.select().order_by(ClientUser.id)

    response = await post_form(http, f"/studio/clients/{world.org_a}/people", {"name": "Someone", "email": email})

    assert response.status_code == 422
    assert message in response.text and 'id="error-email"' in response.text
    assert 'value="Someone"' in response.text
    assert await ClientUser.select().order_by(ClientUser.id) == before
    assert await events("client_user_added") == []


async def test_a_removed_person_is_added_again_as_the_same_person(http, world):
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == world.alice)
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now()}).where(ProjectAccess.client_user == world.alice)
    await sign_in_staff(http, world.workspace, world.staff)

    response = await post_form(http, f"/studio/clients/{world.org_a}/people",
                               {"name": "Alice A.", "email": "alice@northwind.example"})

    assert response.status_code == 303
    rows = await ClientUser.select().where(ClientUser.email == "alice@northwind.example")
    assert [(r["id"], r["active"], r["name"]) for r in rows] == [(world.alice, True, "Alice A.")]
    # Her access stays revoked: being added is not being given access.
    assert (await ProjectAccess.select().where(ProjectAccess.client_user == world.alice).first())["revoked_at"] is not None
    [event] = await events("client_user_added")
    assert event["detail"]["reactivated"] is True


async def test_editing_a_person_changes_name_and_email_and_voids_old_links(http, world):
    await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(days=7))
    await sign_in_staff(http, world.workspace, world.staff)
    edit_page = await http.get(f"/studio/clients/{world.org_a}/people/{world.alice}")
    assert edit_page.status_code == 200 and 'value="alice@northwind.example"' in edit_page.text

    response = await post_form(http, f"/studio/clients/{world.org_a}/people/{world.alice}",
                               {"name": "Alice Archer", "email": "Alice.Archer@Northwind.example"})

    assert response.status_code == 303
    row = await ClientUser.select().where(ClientUser.id == world.alice).first()
    assert (row["name"], row["email"]) == ("Alice Archer", "alice.archer@northwind.example")
    assert await LoginToken.count().where(LoginToken.client_user == world.alice, LoginToken.used_at.is_null()) == 0
    [event] = await events("client_user_updated")
    assert event["detail"] == {"old_name": "Alice Andrews", "name": "Alice Archer",
                               "old_email": "alice@northwind.example", "email": "alice.archer@northwind.example"}


@pytest.mark.parametrize(("email", "message"), [
    ("not-an-email", "Enter an email address like name@company.com."),
    ("carol@globex.example", "Someone with this email is already a client: Carol Chen of Globex."),
])
async def test_a_bad_edit_changes_nothing(http, world, email, message):
    await sign_in_staff(http, world.workspace, world.staff)

    response = await post_form(http, f"/studio/clients/{world.org_a}/people/{world.alice}",
                               {"name": "Changed", "email": email})

    assert response.status_code == 422 and message in response.text
    assert 'data-testid="edit-person-form"' in response.text and f'value="{email}"' in response.text
    row = await ClientUser.select().where(ClientUser.id == world.alice).first()
    assert (row["name"], row["email"]) == ("Alice Andrews", "alice@northwind.example")
    assert await events("client_user_updated") == []


async def test_removing_a_person_revokes_their_access_and_ends_their_sessions(app, http, world):
    second_project = await make_project(world.workspace, world.org_a, "Northwind app")
    await grant(world.workspace, second_project, world.alice)
    transport = httpx.ASGITransport(app=app)
    async with (httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as alice,
                httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as alice_phone):
        await sign_in_client(alice, world.workspace, world.alice)
        await sign_in_client(alice_phone, world.workspace, world.alice)
        assert await UserSession.count().where(UserSession.client_user == world.alice) == 2
        assert (await alice.get(f"/p/acme/projects/{world.project_a}")).status_code == 200
        await sign_in_staff(http, world.workspace, world.staff)

        response = await post_form(http, f"/studio/clients/{world.org_a}/people/{world.alice}/remove")

        assert response.status_code == 303
        assert await UserSession.count().where(UserSession.client_user == world.alice) == 0
        grants = await ProjectAccess.select().where(ProjectAccess.client_user == world.alice)
        assert len(grants) == 2 and all(g["revoked_at"] is not None for g in grants)
        assert not (await ClientUser.select(ClientUser.active).where(ClientUser.id == world.alice).first())["active"]
        after = await alice.get(f"/p/acme/projects/{world.project_a}")
        assert after.status_code != 200 and "Northwind website" not in after.text
        # A sign-in link she still holds no longer lets her in either.
        token = await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(minutes=15))
        await post_form(alice, f"/p/acme/login/{token}")
        assert await UserSession.count().where(UserSession.client_user == world.alice) == 0
    [event] = await events("client_user_removed")
    assert event["target_id"] == world.alice and event["detail"]["grants_revoked"] == 2
    page = await http.get(f"/studio/clients/{world.org_a}")
    assert "Person removed and signed out everywhere. Access to 2 projects revoked." in page.text
    assert rows_of(page.text, "person-row") == [] and 'data-testid="removed-people"' in page.text
    # Carol (another client) kept everything.
    assert await ProjectAccess.count().where(ProjectAccess.client_user == world.carol,
                                             ProjectAccess.revoked_at.is_null()) == 1


async def test_a_removed_person_has_no_edit_page(http, world):
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == world.alice)
    await sign_in_staff(http, world.workspace, world.staff)

    assert (await http.get(f"/studio/clients/{world.org_a}/people/{world.alice}")).status_code == 404
    assert (await post_form(http, f"/studio/clients/{world.org_a}/people/{world.alice}/remove")).status_code == 404


async def test_a_person_is_only_reached_through_their_own_organisation(http, world):
    await sign_in_staff(http, world.workspace, world.staff)

    assert (await http.get(f"/studio/clients/{world.org_b}/people/{world.alice}")).status_code == 404
    response = await post_form(http, f"/studio/clients/{world.org_b}/people/{world.alice}/remove")

    assert response.status_code == 404
    assert (await ClientUser.select(ClientUser.active).where(ClientUser.id == world.alice).first())["active"]


async def test_inviting_a_person_of_the_organisation_on_the_access_tab_reuses_them(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    await post_form(http, f"/studio/clients/{world.org_a}/people", {"name": "Bob Brown", "email": "bob@northwind.example"})
    bob = (await ClientUser.select(ClientUser.id).where(ClientUser.email == "bob@northwind.example").first())["id"]

    response = await post_form(http, f"/studio/projects/{world.project_a}/access",
                               {"email": "BOB@northwind.example", "name": "", "expires_on": ""})

    assert response.status_code == 303
    assert await ClientUser.count().where(ClientUser.email == "bob@northwind.example") == 1
    access = await ProjectAccess.select().where(ProjectAccess.client_user == bob)
    assert [a["project"] for a in access] == [world.project_a]
    assert (await ClientUser.select(ClientUser.name).where(ClientUser.id == bob).first())["name"] == "Bob Brown"
    page = await http.get(f"/studio/clients/{world.org_a}")
    assert "Bob Brown bob@northwind.example Invited Never Edit Bob Brown" in rows_of(page.text, "person-row")


# Isolation


async def test_staff_of_another_workspace_get_404_and_change_nothing(http, world):
    other = await make_workspace("other", "Other Agency")
    mallory = await make_staff(other, "mallory@other.example", role="member")
    await sign_in_staff(http, other, mallory)
    before = await snapshot()
    base = f"/studio/clients/{world.org_a}"

    listed = await http.get("/studio/clients")
    gets = [await http.get(url) for url in (base, f"{base}/people/{world.alice}")]
    posts = [await post_form(http, url, data) for url, data in (
        (f"{base}/rename", {"name": "Hacked"}),
        (f"{base}/archive", {}),
        (f"{base}/unarchive", {}),
        (f"{base}/people", {"name": "Eve", "email": "eve@evil.example"}),
        (f"{base}/people/{world.alice}", {"name": "Eve", "email": "eve@evil.example"}),
        (f"{base}/people/{world.alice}/remove", {}),
    )]

    assert listed.status_code == 200 and "Northwind" not in listed.text and "Globex" not in listed.text
    assert [r.status_code for r in gets + posts] == [404] * 8
    assert all("Northwind" not in r.text and "Alice" not in r.text for r in gets + posts)
    assert await snapshot() == before


async def test_a_client_session_never_reaches_the_clients_pages(http, world):
    await sign_in_client(http, world.workspace, world.alice)

    for url in ("/studio/clients", f"/studio/clients/{world.org_a}", f"/studio/clients/{world.org_a}/people/{world.alice}"):
        response = await http.get(url)
        assert response.status_code == 303 and response.headers["location"] == "/studio/login", url
    response = await post_form(http, "/studio/clients", {"name": "Sneaky"})
    assert response.status_code in (303, 403) and await org_named("Sneaky") is None


async def test_inviting_a_removed_contact_of_another_client_brings_the_same_person_here(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    refused = await post_form(http, f"/studio/projects/{world.project_a}/access",
                              {"email": "carol@globex.example", "name": "", "expires_on": ""})
    assert refused.status_code == 422 and "contact of another client organisation" in refused.text
    assert await ProjectAccess.count().where(ProjectAccess.project == world.project_a) == 1
    await post_form(http, f"/studio/clients/{world.org_b}/people/{world.carol}/remove")

    response = await post_form(http, f"/studio/projects/{world.project_a}/access",
                               {"email": "carol@globex.example", "name": "", "expires_on": ""})

    assert response.status_code == 303
    rows = await ClientUser.select().where(ClientUser.email == "carol@globex.example")
    assert [(r["id"], r["organisation"], r["active"]) for r in rows] == [(world.carol, world.org_a, True)]
    live = await ProjectAccess.select(ProjectAccess.project).where(
        ProjectAccess.client_user == world.carol, ProjectAccess.revoked_at.is_null())
    assert [g["project"] for g in live] == [world.project_a]  # Globex's project stays revoked


async def test_a_name_of_exactly_200_characters_is_accepted(http, world):
    await sign_in_staff(http, world.workspace, world.staff)

    response = await post_form(http, "/studio/clients", {"name": "n" * 200})

    assert response.status_code == 303 and await org_named("n" * 200) is not None
