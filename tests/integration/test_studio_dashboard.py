"""The studio dashboard: what needs attention now, each item linking to its page; the workspace's own only."""

from __future__ import annotations

import datetime as dt
import re

import httpx

from portal import clock
from portal.db import count_queries
from portal.deliverables.tables import Deliverable
from portal.projects.tables import Task
from tests.factories import insert, make_client, make_deliverable, make_invoice, make_project, make_staff, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff


def items(html: str, testid: str) -> list[str]:
    """The text of each item of one dashboard list, tags stripped."""
    found = re.findall(rf'<li data-testid="{testid}-item">(.*?)</li>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()).replace(" :", ":") for item in found]


def links(html: str, testid: str) -> list[str]:
    found = re.findall(rf'<li data-testid="{testid}-item">(.*?)</li>', html, re.S)
    return [re.search(r'href="([^"]+)"', item).group(1) for item in found]


async def as_client(app, world, client_user: int):
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")
    await sign_in_client(http, world.workspace, client_user)
    return http


async def test_an_empty_workspace_says_nothing_waits_and_what_to_do(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await http.get("/studio/")
    assert response.status_code == 200
    html = response.text
    assert 'data-testid="dashboard-clear"' in html
    for testid in ("dash-feedback", "dash-waiting", "dash-changes", "dash-overdue"):
        assert f'data-testid="{testid}-empty"' in html and f'data-testid="{testid}-item"' not in html
    assert "Mark a deliverable ready for review" in html
    # The projects table stays, below the attention lists.
    assert html.index('data-testid="dash-overdue"') < html.index('data-testid="studio-projects"')
    assert "Northwind website" in html and "Globex rebrand" in html


async def test_each_kind_of_item_is_listed_with_its_link_after_it_is_created(app, http, world, settings):
    waiting = await make_deliverable(settings, world.workspace, world.project_a, "Homepage design")
    await Deliverable.update({Deliverable.ready_at: clock.now() - dt.timedelta(days=3, hours=2)}).where(
        Deliverable.id == waiting)
    sent_back = await make_deliverable(settings, world.workspace, world.project_b, "Logo round 2", "changes_requested")
    await make_deliverable(settings, world.workspace, world.project_a, "Draft not shown", "draft")
    await make_deliverable(settings, world.workspace, world.project_a, "Approved not shown", "approved")
    overdue = await make_invoice(world.workspace, world.project_a, "INV-0007", status="sent", due_in_days=-5)
    await make_invoice(world.workspace, world.project_a, "INV-0008", status="sent", due_in_days=3)
    await make_invoice(world.workspace, world.project_a, "INV-0009", status="paid", due_in_days=-5)
    await make_invoice(world.workspace, world.project_a, "INV-0010", status="draft", due_in_days=-5)
    alice = await as_client(app, world, world.alice)
    assert (await post_form(alice, f"/p/acme/projects/{world.project_a}/feedback",
                            {"subject": "Store locator", "message": "Shops on a map"})).status_code == 303
    await alice.aclose()
    done = await insert(Task(workspace=world.workspace, project=world.project_a, kind="inbox", title="Old and done",
                             status="done"))
    assert done
    await sign_in_staff(http, world.workspace, world.staff)

    html = (await http.get("/studio/")).text

    assert 'data-testid="dashboard-clear"' not in html
    task = (await Task.select(Task.id).where(Task.title == "Store locator").first())["id"]
    assert items(html, "dash-feedback") == [f"Store locator Northwind · Northwind website · {_age(html)} ago"]
    assert links(html, "dash-feedback") == [f"/studio/inbox/{task}"]
    assert items(html, "dash-waiting") == ["Homepage design Northwind website · waiting 3 days"]
    assert links(html, "dash-waiting") == [f"/studio/projects/{world.project_a}/deliverables/{waiting}"]
    assert items(html, "dash-changes")[0].startswith("Logo round 2 Globex rebrand · open for ")
    assert links(html, "dash-changes") == [f"/studio/projects/{world.project_b}/deliverables/{sent_back}"]
    assert items(html, "dash-overdue") == ["Invoice INV-0007 Northwind website · overdue 5 days"]
    billing = "/studio/projects/{project_id:int}/billing" in app.template_engine.engine.globals["route_paths"]
    href = links(html, "dash-overdue")[0]
    assert href == (f"/studio/projects/{world.project_a}/billing" if billing else href)
    assert href.startswith(f"/studio/projects/{world.project_a}") and (await http.get(href)).status_code == 200
    assert overdue
    # Recent client activity: alice's sign-in and her feedback, newest first, each with who and a link.
    recent = items(html, "dash-recent")
    assert recent[0].startswith("Alice Andrews (Northwind) sent feedback: Store locator Northwind website")
    assert recent[1].startswith("Alice Andrews (Northwind) signed in")
    assert links(html, "dash-recent")[:1] == [f"/studio/inbox/{task}"]
    # Every link answers.
    for testid in ("dash-feedback", "dash-waiting", "dash-changes", "dash-recent"):
        for url in links(html, testid):
            assert (await http.get(url)).status_code == 200, url


def _age(html: str) -> str:
    return re.search(r'dash-feedback-item">.*? · ([^·<]+?) ago', html, re.S).group(1)


async def test_a_clients_approval_and_download_show_in_recent_activity(app, http, world, settings):
    poster = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    alice = await as_client(app, world, world.alice)
    base = f"/p/acme/projects/{world.project_a}/deliverables/{poster}"
    assert (await alice.get(f"{base}/versions/1/file?download=1")).status_code == 200
    assert (await post_form(alice, f"{base}/approve", {"version": "1"})).status_code == 303
    await alice.aclose()
    await sign_in_staff(http, world.workspace, world.staff)
    html = (await http.get("/studio/")).text
    recent = items(html, "dash-recent")
    assert recent[0].startswith("Alice Andrews (Northwind) approved a deliverable: Poster Northwind website")
    assert recent[1].startswith("Alice Andrews (Northwind) downloaded a deliverable: Poster")
    assert links(html, "dash-recent")[0] == f"/studio/projects/{world.project_a}/deliverables/{poster}"
    # The approved deliverable no longer waits for the client.
    assert items(html, "dash-waiting") == []


async def test_staff_activity_is_not_client_activity(http, world):
    await sign_in_staff(http, world.workspace, world.staff)  # a staff sign-in, recorded
    html = (await http.get("/studio/")).text
    assert 'data-testid="dash-recent-empty"' in html and items(html, "dash-recent") == []


async def test_recent_activity_shows_the_newest_fifteen(app, http, world):
    alice = await as_client(app, world, world.alice)
    for i in range(17):
        await post_form(alice, f"/p/acme/projects/{world.project_a}/feedback", {"subject": f"Note {i}", "message": "x"})
    await alice.aclose()
    await sign_in_staff(http, world.workspace, world.staff)
    html = (await http.get("/studio/")).text
    recent = items(html, "dash-recent")
    assert len(recent) == 15
    assert [r.split(": ")[1].split(" ")[:2] for r in recent] == [["Note", str(i)] for i in range(16, 1, -1)]
    # Five open messages listed, the count of all of them, and the way to the rest.
    assert len(items(html, "dash-feedback")) == 5
    assert 'All 17 open messages in the inbox' in html


async def test_another_workspaces_items_never_show(app, http, world, settings):
    other = await make_workspace("other", "Other Agency")
    mallory = await make_staff(other, "mallory@other.example")
    from portal.accounts.tables import ClientOrganisation

    org = await insert(ClientOrganisation(workspace=other, name="Initech"))
    await make_client(other, org, "bob@initech.example", "Bob")
    project = await make_project(other, org, "Initech app", lead=mallory)
    await make_deliverable(settings, other, project, "CANARY-other-deliverable")
    await make_deliverable(settings, other, project, "CANARY-other-changes", "changes_requested")
    await make_invoice(other, project, "CANARY-INV", status="sent", due_in_days=-3)
    await insert(Task(workspace=other, project=project, kind="inbox", title="CANARY-other-feedback"))
    # Acme has its own items too.
    await make_deliverable(settings, world.workspace, world.project_a, "Acme poster")
    alice = await as_client(app, world, world.alice)
    await alice.aclose()
    await sign_in_staff(http, world.workspace, world.staff)
    html = (await http.get("/studio/")).text
    assert "CANARY" not in html and "Initech" not in html
    assert items(html, "dash-waiting") == [items(html, "dash-waiting")[0]] and "Acme poster" in html
    http.cookies.clear()
    await sign_in_staff(http, other, mallory)
    html = (await http.get("/studio/")).text
    assert "Acme poster" not in html and "Alice" not in html and "Northwind" not in html
    assert "CANARY-other-deliverable" in html and "CANARY-INV" in html and "CANARY-other-feedback" in html


async def test_a_member_sees_the_dashboard(http, world):
    member = await make_staff(world.workspace, "sam@acme.example", role="member")
    await sign_in_staff(http, world.workspace, member)
    response = await http.get("/studio/")
    assert response.status_code == 200 and 'data-testid="dash-feedback"' in response.text


async def test_the_dashboard_query_count_does_not_grow_with_the_data(app, http, world, settings):
    async def add_everything(n: int):
        for i in range(n):
            await make_deliverable(settings, world.workspace, world.project_a, f"Ready {i}")
            await make_deliverable(settings, world.workspace, world.project_b, f"Back {i}", "changes_requested")
            await make_invoice(world.workspace, world.project_a, f"INV-{n}-{i}", status="sent", due_in_days=-2)
            alice = await as_client(app, world, world.alice)
            await post_form(alice, f"/p/acme/projects/{world.project_a}/feedback", {"subject": f"S{i}", "message": "m"})
            poster = await make_deliverable(settings, world.workspace, world.project_a, f"Approve {n} {i}")
            await post_form(alice, f"/p/acme/projects/{world.project_a}/deliverables/{poster}/approve", {"version": "1"})
            await alice.aclose()

    await add_everything(1)
    await sign_in_staff(http, world.workspace, world.staff)
    await http.get("/studio/")
    with count_queries() as few:
        assert (await http.get("/studio/")).status_code == 200
    await add_everything(6)
    with count_queries() as many:
        html = (await http.get("/studio/")).text
    assert len(items(html, "dash-waiting")) == 7 and len(items(html, "dash-overdue")) == 7
    assert len(items(html, "dash-recent")) == 15
    assert len(many) == len(few), (few, many)
