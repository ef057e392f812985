"""A new workspace made with `portal workspace create`, run end to end from the studio alone.

The operator's command creates the workspace and its owner and prints a sign-in link; the
owner then does everything through the studio's own forms: a client and a person, a
project, the invite, a milestone and tasks, a deliverable put up for review, an invoice
sent and paid by hand. The client signs in from the invite email, sees the work, approves
the deliverable and sees the invoice paid; the dashboard shows the approval.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys

import httpx

from portal import clock
from portal.billing.tables import Invoice
from portal.deliverables.tables import Deliverable
from portal.mail.tables import OutboxMessage
from portal.projects.tables import Project, Task
from tests.factories import PNG_1X1
from tests.fixtures import csrf_token, post_form

LINK = re.compile(r"https?://[^\s]+?(/(?:studio|p/fresh)/login/[A-Za-z0-9_\-]+)")


def portal_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portal.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=60)


async def follow_link(client: httpx.AsyncClient, path: str) -> httpx.Response:
    assert (await client.get(path)).status_code == 200
    return await post_form(client, path)


async def created_id(response: httpx.Response, pattern: str) -> int:
    assert response.status_code == 303, response.text[:500]
    match = re.search(pattern, response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def test_a_new_workspace_runs_from_the_studio_alone(app, http, db):
    result = portal_cli("workspace", "create", "fresh", "Fresh Studio", "--plan", "growth",
                        "--owner", "Owner@Fresh.example", "--owner-name", "Fran Owner")
    assert result.returncode == 0, result.stderr
    owner_link = LINK.search(result.stdout)
    assert owner_link and owner_link.group(1).startswith("/studio/login/"), result.stdout
    # An owner is required: no empty shell that nobody can enter.
    refused = portal_cli("workspace", "create", "empty", "Empty Studio")
    assert refused.returncode != 0 and "--owner" in refused.stderr

    staff = http
    signed_in = await follow_link(staff, owner_link.group(1))
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/studio/"
    dashboard = await staff.get("/studio/")
    assert dashboard.status_code == 200 and "Fresh Studio" in dashboard.text

    org = await created_id(await post_form(staff, "/studio/clients", {"name": "Initech"}), r"/studio/clients/(\d+)")
    person = await post_form(staff, f"/studio/clients/{org}/people", {"name": "Peter Gibbons", "email": "peter@initech.example"})
    assert person.status_code == 303
    team = await staff.get("/studio/team")
    assert "Fran Owner" in team.text
    today = clock.today()
    project_form = {"organisation": str(org), "name": "TPS portal", "description": "Cover sheets, online.",
                    "lead": "", "status": "active", "start_date": today.isoformat(),
                    "due_date": (today + dt.timedelta(days=60)).isoformat()}
    await post_form(staff, "/studio/projects", project_form)
    project = (await Project.select(Project.id).where(Project.name == "TPS portal").first())["id"]
    base = f"/studio/projects/{project}"
    assert (await staff.get(base)).status_code == 200

    invite = await post_form(staff, f"{base}/access", {"email": "peter@initech.example", "name": "Peter Gibbons"})
    assert invite.status_code == 303
    assert (await post_form(staff, f"{base}/milestones", {"name": "Design approved"})).status_code == 303
    for title, status in (("Wireframes", "done"), ("Build the form", "in_progress")):
        assert (await post_form(staff, f"{base}/tasks", {"title": title, "status": status})).status_code == 303
    assert await Task.count().where(Task.project == project) == 2

    await post_form(staff, f"{base}/deliverables", {"title": "Cover sheet design"})
    deliverable = (await Deliverable.select(Deliverable.id).where(Deliverable.project == project).first())["id"]
    upload = await staff.post(f"{base}/deliverables/{deliverable}/versions",
                              data={"note": "First go", "_csrf_token": csrf_token(staff)},
                              files={"file": ("cover.png", PNG_1X1, "image/png")})
    assert upload.status_code == 303, upload.text[:300]
    assert (await post_form(staff, f"{base}/deliverables/{deliverable}/ready")).status_code == 303

    new_invoice = await post_form(staff, f"{base}/billing", {"currency": "usd", "issue_date": today.isoformat(),
                                                               "due_date": (today + dt.timedelta(days=14)).isoformat()})
    invoice = await created_id(new_invoice, r"/studio/invoices/(\d+)")
    line = await post_form(staff, f"/studio/invoices/{invoice}/lines",
                           {"description": "Design", "quantity": "2", "unit_price": "500.00", "tax_rate": "10"})
    assert line.status_code == 303
    assert (await post_form(staff, f"/studio/invoices/{invoice}/send")).status_code == 303
    row = await Invoice.select(Invoice.number, Invoice.status, Invoice.total_cents).where(Invoice.id == invoice).first()
    assert row["status"] == "sent" and row["total_cents"] == 110000 and row["number"].endswith("0001")

    # The client: signs in from the invite email, sees the work, approves, sees the invoice.
    mails = await OutboxMessage.select(OutboxMessage.kind, OutboxMessage.text_body).where(
        OutboxMessage.to_address == "peter@initech.example")
    invite_mail = next(m for m in mails if LINK.search(m["text_body"]) and "/p/fresh/login/" in m["text_body"])
    assert {m["kind"] for m in mails} >= {"invite"}
    assert len(mails) >= 3  # the invite, the deliverable ready for review, the invoice
    client = http.__class__(transport=http._transport, base_url=http.base_url)
    async with client:
        entered = await follow_link(client, LINK.search(invite_mail["text_body"]).group(1))
        assert entered.status_code == 303
        home = await client.get("/p/fresh/")
        assert "TPS portal" in home.text
        progress = await client.get(f"/p/fresh/projects/{project}")
        assert "50%" in progress.text and "Build the form" not in progress.text and "Wireframes" not in progress.text
        page = await client.get(f"/p/fresh/projects/{project}/deliverables/{deliverable}")
        assert page.status_code == 200 and "Cover sheet design" in page.text
        approved = await post_form(client, f"/p/fresh/projects/{project}/deliverables/{deliverable}/approve",
                                   {"version": 1, "comment": ""})
        assert approved.status_code == 303
        billing = await client.get(f"/p/fresh/projects/{project}/billing")
        assert row["number"] in billing.text and "Sent" in billing.text

        paid = await post_form(staff, f"/studio/invoices/{invoice}/paid", {"paid_on": today.isoformat(), "paid_note": "Wire"})
        assert paid.status_code == 303
        billing = await client.get(f"/p/fresh/projects/{project}/billing")
        assert "Paid" in billing.text

    assert (await Deliverable.select(Deliverable.status).where(Deliverable.id == deliverable).first())["status"] == "approved"
    dashboard = await staff.get("/studio/")
    assert "Peter Gibbons" in dashboard.text and "approved a deliverable" in dashboard.text


async def test_a_bad_owner_email_creates_nothing(db):
    from portal.workspaces.tables import Workspace

    result = portal_cli("workspace", "create", "fresh", "Fresh Studio", "--owner", "not-an-email")
    assert result.returncode != 0 and "email address" in result.stderr
    assert await Workspace.count() == 0
