"""The studio's Activity page: the workspace's audit trail, readable, filtered and paginated."""

from __future__ import annotations

import re

import httpx

from portal.audit.services import record
from portal.audit.tables import AuditEvent
from portal.db import count_queries
from tests.factories import make_deliverable, make_project, make_staff, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff


def rows(html: str) -> list[str]:
    return re.findall(r'data-testid="activity-row" data-action-label="([^"]+)"', html)


def cells(html: str) -> list[str]:
    found = re.findall(r'<tr data-testid="activity-row"[^>]*>(.*?)</tr>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()).replace(" :", ":") for row in found]


async def client_does_things(app, world, settings) -> int:
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as alice:
        await sign_in_client(alice, world.workspace, world.alice)
        base = f"/p/acme/projects/{world.project_a}"
        assert (await post_form(alice, f"{base}/feedback", {"subject": "Menu", "message": "Bigger"})).status_code == 303
        assert (await post_form(alice, f"{base}/deliverables/{poster}/approve", {"version": "1"})).status_code == 303
    return poster


async def test_events_are_listed_newest_first_with_readable_labels_and_names(app, http, world, settings):
    poster = await client_does_things(app, world, settings)
    await sign_in_staff(http, world.workspace, world.staff)
    response = await http.get("/studio/activity")
    assert response.status_code == 200
    html = response.text
    assert rows(html) == ["Signed in", "Approved a deliverable", "Sent feedback", "Signed in"]
    table = cells(html)
    assert "Olivia Owner Staff Signed in" in table[0]
    assert "Alice Andrews (Northwind) Client Approved a deliverable: Poster Northwind website" in table[1]
    assert "Alice Andrews (Northwind) Client Sent feedback: Menu Northwind website" in table[2]
    assert "Alice Andrews (Northwind) Client Signed in" in table[3]
    assert f'href="/studio/projects/{world.project_a}/deliverables/{poster}"' in html
    assert 'class="table table--cards"' in html and 'data-label="What"' in html
    assert 'data-testid="activity-older"' not in html


async def test_the_actor_kind_and_project_filters(app, http, world, settings):
    await client_does_things(app, world, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as carol:
        await sign_in_client(carol, world.workspace, world.carol)
        await post_form(carol, f"/p/acme/projects/{world.project_b}/feedback", {"subject": "Colours", "message": "Red"})
    await sign_in_staff(http, world.workspace, world.staff)

    clients = (await http.get("/studio/activity?actor=clients")).text
    assert rows(clients) == ["Sent feedback", "Signed in", "Approved a deliverable", "Sent feedback", "Signed in"]
    staff = (await http.get("/studio/activity?actor=staff")).text
    assert rows(staff) == ["Signed in"] and "Olivia Owner" in cells(staff)[0]
    kind = (await http.get("/studio/activity?kind=feedback_sent")).text
    assert rows(kind) == ["Sent feedback", "Sent feedback"]
    assert '<option value="feedback_sent" selected>' in kind
    project_a = (await http.get(f"/studio/activity?project={world.project_a}")).text
    assert rows(project_a) == ["Approved a deliverable", "Sent feedback"]  # the deliverable found by its target
    project_b = (await http.get(f"/studio/activity?project={world.project_b}&actor=clients")).text
    assert rows(project_b) == ["Sent feedback"] and "Colours" in project_b and "Menu" not in project_b
    both = (await http.get(f"/studio/activity?project={world.project_a}&kind=deliverable.approved")).text
    assert rows(both) == ["Approved a deliverable"]
    none = (await http.get(f"/studio/activity?project={world.project_b}&kind=deliverable.approved")).text
    assert rows(none) == [] and 'data-testid="activity-empty"' in none and "No events match" in none
    # Unknown values are ignored rather than failing (the whole trail, the filters reset).
    junk = await http.get("/studio/activity?kind=nope&actor=robots&project=abc&before=x")
    assert junk.status_code == 200 and len(rows(junk.text)) == 6


async def test_pagination_fifty_a_page_with_an_older_link(http, world):
    for i in range(120):
        await record("file_uploaded", workspace_id=world.workspace, target_type="project_file", target_id=i,
                     project_id=world.project_a, name=f"file-{i:03d}.png")
    await sign_in_staff(http, world.workspace, world.staff)
    first = (await http.get("/studio/activity?kind=file_uploaded")).text
    names = re.findall(r"file-(\d{3})\.png", first)
    assert names == [f"{i:03d}" for i in range(119, 69, -1)]
    older = re.search(r'href="(/studio/activity\?[^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "kind=file_uploaded" in older
    second = (await http.get(older)).text
    assert re.findall(r"file-(\d{3})\.png", second) == [f"{i:03d}" for i in range(69, 19, -1)]
    third_url = re.search(r'href="(/studio/activity\?[^"]+)" rel="next"', second).group(1).replace("&amp;", "&")
    third = (await http.get(third_url)).text
    assert re.findall(r"file-(\d{3})\.png", third) == [f"{i:03d}" for i in range(19, -1, -1)]
    assert 'data-testid="activity-older"' not in third


async def test_never_another_workspaces_events(app, http, world, settings):
    other = await make_workspace("other", "Other Agency")
    mallory = await make_staff(other, "mallory@other.example", name="Mallory")
    await record("file_uploaded", workspace_id=other, target_type="project_file", target_id=1, name="CANARY-other.png")
    await client_does_things(app, world, settings)
    await sign_in_staff(http, other, mallory)
    html = (await http.get("/studio/activity")).text
    assert "CANARY-other.png" in html and "Alice" not in html and "Poster" not in html and "Menu" not in html
    assert rows(html) == ["Signed in", "File uploaded"]
    # A project id of the other workspace in the filter is ignored, not a way in.
    filtered = (await http.get(f"/studio/activity?project={world.project_a}")).text
    assert "Alice" not in filtered and "Northwind" not in filtered


async def test_members_see_the_activity_and_clients_never_reach_it(http, world):
    member = await make_staff(world.workspace, "sam@acme.example", role="member")
    await sign_in_staff(http, world.workspace, member)
    assert (await http.get("/studio/activity")).status_code == 200
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get("/studio/activity")
    assert response.status_code == 303 and response.headers["location"] == "/studio/login"


async def test_the_activity_query_count_does_not_grow(app, http, world, settings):
    await client_does_things(app, world, settings)
    await sign_in_staff(http, world.workspace, world.staff)
    with count_queries() as few:
        await http.get("/studio/activity")
    for i in range(5):
        await client_does_things(app, world, settings)
        project = await make_project(world.workspace, world.org_a, f"Extra {i}")
        await record("project_created", workspace_id=world.workspace, target_type="project", target_id=project)
    with count_queries() as many:
        html = (await http.get("/studio/activity")).text
    assert len(rows(html)) > 20
    assert len(many) == len(few), (few, many)
    assert await AuditEvent.count() > 20
