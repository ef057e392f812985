"""A client organisation's data on request (GDPR): its export, its deletion, who may do either.

The world: Northwind (org A: alice, project A) and Globex (org B: carol, project B) in
workspace acme. Org A gets one of everything, with marker strings planted in what must
never leave the studio (internal tasks and comments, drafts, unshared files, staff-only
fields, hashes, Stripe keys) and in everything of org B.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass

import httpx
import pytest
from piccolo.conf.apps import Finder

from portal import clock
from portal.accounts.tables import LoginToken, RateLimitHit, SignInRequest, UserSession
from portal.accounts.tokens import hash_secret
from portal.audit.services import record
from portal.audit.tables import AuditEvent
from portal.billing.tables import Invoice, Payment, StripeAccount
from portal.deliverables.tables import DeliverableComment, DeliverableVersion, ReviewDecision
from portal.feedback.tables import FeedbackMessage, FeedbackReply
from portal.files.storage import blob_path, store_bytes
from portal.files.tables import ProjectFile, StoredFile
from portal.mail.tables import OutboxMessage
from portal.projects.tables import Milestone, Task, TaskComment
from tests.conftest import TEST_ENV
from tests.factories import (
    PNG_1X1,
    insert,
    make_deliverable,
    make_file,
    make_invoice,
    make_milestone,
    make_staff,
    make_task,
    make_workspace,
)
from tests.fixtures import post_form, query_rows, sign_in_client, sign_in_staff
from tests.servers import ROOT

#: Strings planted where an export must never look: internal, staff-only, or org B's.
NEVER_EXPORTED = {
    "internal task": "MARK-INTERNAL-TASK",
    "internal task detail": "MARK-TASK-DETAIL",
    "internal comment": "MARK-INTERNAL-COMMENT",
    "draft deliverable": "MARK-DRAFT-DELIVERABLE",
    "unshared file": "MARK-UNSHARED-FILE",
    "deleted file": "MARK-DELETED-FILE",
    "void invoice": "MARK-VOID-INVOICE",
    "paid note": "MARK-PAID-NOTE",
    "stripe session": "cs_test_MARKSESSION",
    "stripe key": "sk_test_MARKSTRIPEKEY",
    "org B project": "Globex rebrand",
    "org B person": "carol@globex.example",
    "org B deliverable": "MARK-GLOBEX-DELIVERABLE",
    "org B invoice": "MARK-GLOBEX-INVOICE",
    "org B feedback": "MARK-GLOBEX-FEEDBACK",
    "org B file": "MARK-GLOBEX-FILE",
}
ALICE_EMAIL, ALICE_NAME = "alice@northwind.example", "Alice Andrews"


@dataclass
class Planted:
    a_only: list[str]  # blobs only org A uses (its file, its versions)
    shared: str  # a blob org A and org B both use
    elsewhere: str  # a blob org A and another workspace both use (one stored file each)
    visible: dict  # name -> bytes of what the export must hold
    token: str  # alice's sign-in link token


def unique(label: str) -> bytes:
    """Bytes no other test stores (the blob dir is shared by the whole run)."""
    return f"{label} {os.urandom(12).hex()}\n".encode()


async def plant(settings, world) -> Planted:
    ws, a, b = world.workspace, world.project_a, world.project_b
    await make_milestone(a, "Design sign-off", due_in_days=10)
    task = await make_task(ws, a, NEVER_EXPORTED["internal task"], details=NEVER_EXPORTED["internal task detail"])
    await insert(TaskComment(task=task, author=world.staff, body=NEVER_EXPORTED["internal comment"]))

    # A deliverable clients see, with two versions, a decision and a thread; a draft they do not.
    v1, v2 = unique("homepage v1"), unique("homepage v2")
    deliverable = await make_deliverable(settings, ws, a, "Homepage design", content=v1, filename="homepage.txt")
    second = await store_bytes(settings, ws, v2, "text/plain")
    version2 = await insert(DeliverableVersion(
        deliverable=deliverable, number=2, stored_file=second.id, content_sha256=second.sha256,
        filename="homepage.txt", content_type="text/plain", size=second.size, note="Bigger logo"))
    await insert(ReviewDecision(deliverable=deliverable, version=version2, decision="changes_requested",
                                client_user=world.alice, actor_email=ALICE_EMAIL, comment="Warmer colours",
                                content_sha256=second.sha256, ip="198.51.100.4", user_agent="Firefox"))
    await insert(DeliverableComment(deliverable=deliverable, client_user=world.alice, body="Looks great so far"))
    await insert(DeliverableComment(deliverable=deliverable, staff=world.staff, body="Thanks, v3 tomorrow"))
    draft = unique("draft")
    await make_deliverable(settings, ws, a, NEVER_EXPORTED["draft deliverable"], status="draft", content=draft,
                           filename="draft.txt")

    # Files: one shared (bytes of its own), one shared whose bytes org B also has, one
    # unshared, one deleted.
    brief, both, unshared, removed = unique("brief"), unique("shared logo"), unique("unshared"), unique("deleted")
    await make_file(settings, ws, a, "Brief.txt", brief)
    await make_file(settings, ws, a, "Logo pack.txt", both)
    theirs = unique("another agency's too")
    await make_file(settings, ws, a, "Style guide.txt", theirs, shared=False)
    other_agency = await make_workspace("elsewhere", "Elsewhere Agency")
    await store_bytes(settings, other_agency, theirs, "text/plain")
    await make_file(settings, ws, a, NEVER_EXPORTED["unshared file"] + ".txt", unshared, shared=False)
    await make_file(settings, ws, a, NEVER_EXPORTED["deleted file"] + ".txt", removed, deleted=True)

    # Feedback with its inbox task and the team's reply.
    inbox = await make_task(ws, a, "Feedback: menu", kind="inbox", status="in_progress")
    message = await insert(FeedbackMessage(workspace=ws, project=a, client_user=world.alice, author_email=ALICE_EMAIL,
                                           subject="Menu", body="The menu is hard to find", task=inbox))
    await insert(FeedbackReply(workspace=ws, message=message, staff=world.staff, author_name="Olivia Owner",
                               body="Moved it up"))

    # Invoices: one sent with two lines and a payment, one void.
    invoice = await make_invoice(ws, a, "INV-0001", lines=(("Design work", "2", 50000), ("Hosting", "1", 2500)))
    await Invoice.update({Invoice.paid_note: NEVER_EXPORTED["paid note"]}).where(Invoice.id == invoice)
    await insert(Payment(workspace=ws, invoice=invoice, amount_cents=102500, currency="usd", status="pending",
                         checkout_session_id=NEVER_EXPORTED["stripe session"], fee_cents=321,
                         client_user_id=world.alice))
    await make_invoice(ws, a, NEVER_EXPORTED["void invoice"], status="void")
    await insert(StripeAccount(workspace=ws, secret_key_encrypted=NEVER_EXPORTED["stripe key"], secret_last4="MARK"))

    # Org B: a deliverable, a file with the shared bytes and one of its own, an invoice, feedback.
    await make_deliverable(settings, ws, b, NEVER_EXPORTED["org B deliverable"], content=unique("globex"))
    await make_file(settings, ws, b, "Logo pack copy.txt", both)
    await make_file(settings, ws, b, NEVER_EXPORTED["org B file"] + ".png", PNG_1X1)
    await make_invoice(ws, b, NEVER_EXPORTED["org B invoice"])
    b_task = await make_task(ws, b, "Feedback: globex", kind="inbox")
    await insert(FeedbackMessage(workspace=ws, project=b, client_user=world.carol, author_email="carol@globex.example",
                                 subject=NEVER_EXPORTED["org B feedback"], body="Hello", task=b_task))

    # The trail already names alice: added by staff, invited, a link asked for, an email to her.
    await record("client_user_added", workspace_id=ws, actor_email="olivia@acme.example", target_type="client_user",
                 target_id=world.alice, email=ALICE_EMAIL)
    await record("client_user_updated", workspace_id=ws, actor_email="olivia@acme.example", target_type="client_user",
                 target_id=world.alice, old_name="Alice A.", name=ALICE_NAME)
    await record("login_link_requested", workspace_id=ws, actor_email=ALICE_EMAIL)
    await record("milestone_created", workspace_id=ws, actor_email="olivia@acme.example", target_type="milestone",
                 target_id=1, project=a, name="Design sign-off")
    await insert(OutboxMessage(workspace=ws, to_address=ALICE_EMAIL, subject="Your sign-in link", text_body="Hi Alice"))
    await insert(OutboxMessage(workspace=ws, to_address="olivia@acme.example", subject="New feedback",
                               text_body=f"From {ALICE_EMAIL}: the menu is hard to find"))
    await insert(SignInRequest(area="portal", workspace=ws, email=ALICE_EMAIL))
    await insert(RateLimitHit(key=f"link-email:ws{ws}:{ALICE_EMAIL}"))
    from portal.accounts.tokens import issue_token

    token = await issue_token(workspace_id=ws, client_user_id=world.alice, lifetime=dt.timedelta(minutes=15))
    return Planted(
        a_only=[hashlib.sha256(x).hexdigest() for x in (v1, v2, draft, brief, unshared, removed)], shared=hashlib.sha256(both).hexdigest(),
        elsewhere=hashlib.sha256(theirs).hexdigest(),
        visible={"v1": v1, "v2": v2, "Brief.txt": brief, "Logo pack.txt": both}, token=token,
    )


async def signed_in_alice(app, world) -> httpx.AsyncClient:
    """Alice in a browser of her own: her sign-in and her visit are in the trail."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("198.51.100.4", 50000)),
                               base_url="http://127.0.0.1:8000")
    await sign_in_client(client, world.workspace, world.alice)
    assert (await client.get(f"/p/acme/projects/{world.project_a}")).status_code == 200
    return client


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# Export


async def test_the_export_holds_the_organisations_data_and_files_and_nothing_internal(app, http, world, settings):
    planted = await plant(settings, world)
    alice = await signed_in_alice(app, world)
    await sign_in_staff(http, world.workspace, world.staff)

    response = await http.get(f"/studio/clients/{world.org_a}/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "private, no-store"
    assert f'filename="northwind-export-{clock.today().isoformat()}.zip"' in response.headers["content-disposition"]
    files = members(response.content)
    data = json.loads(files["data.json"])

    assert data["organisation"]["name"] == "Northwind"
    (person,) = data["people"]
    assert (person["email"], person["name"]) == (ALICE_EMAIL, ALICE_NAME)
    assert person["last_sign_in_at"] and [s["how"] for s in person["sign_ins"]] == ["sign-in link"]
    assert person["signed_in_browsers"][0]["ip"] == "198.51.100.4"
    assert [g["project"] for g in person["access"]] == ["Northwind website"]
    (project,) = data["projects"]
    assert project["name"] == "Northwind website"
    assert [m["name"] for m in project["milestones"]] == ["Design sign-off"]
    (deliverable,) = project["deliverables"]
    assert deliverable["title"] == "Homepage design"
    assert [v["number"] for v in deliverable["versions"]] == [1, 2]
    assert deliverable["versions"][1]["note"] == "Bigger logo"
    assert [d["comment"] for d in deliverable["decisions"]] == ["Warmer colours"]
    assert [c["body"] for c in deliverable["conversation"]] == ["Looks great so far", "Thanks, v3 tomorrow"]
    assert sorted(f["name"] for f in project["files"]) == ["Brief.txt", "Logo pack.txt"]
    (feedback,) = project["feedback"]
    assert (feedback["subject"], feedback["status"], feedback["replies"][0]["body"]) == ("Menu", "In progress", "Moved it up")
    (invoice,) = project["invoices"]
    assert invoice["number"] == "INV-0001" and invoice["total_cents"] == 102500
    assert [(li["description"], li["quantity"], li["net_cents"]) for li in invoice["lines"]] == [
        ("Design work", "2.00", 100000), ("Hosting", "1.00", 2500)]
    assert [p["amount_cents"] for p in invoice["payments"]] == [102500]

    # Every file is in the ZIP under the path data.json gives, with the SHA-256 it gives.
    listed = {f["path"]: f for f in data["files"]}
    assert set(listed) == set(files) - {"data.json"}
    assert len(listed) == 4
    for path, entry in listed.items():
        assert hashlib.sha256(files[path]).hexdigest() == entry["sha256"], path
        assert not entry.get("missing") and not entry.get("damaged")
    by_bytes = {files[v["path"]] for v in deliverable["versions"]} | {files[f["path"]] for f in project["files"]}
    assert by_bytes == set(planted.visible.values())

    # Nothing internal, staff-only or of org B, in any member, anywhere.
    secrets = {**NEVER_EXPORTED, "sign-in token": planted.token, "token hash": hash_secret(planted.token)}
    for row in await UserSession.select(UserSession.id_hash):
        secrets[f"session {row['id_hash'][:6]}"] = row["id_hash"]
    for row in await LoginToken.select(LoginToken.token_hash):
        secrets[f"token {row['token_hash'][:6]}"] = row["token_hash"]
    for name, content in files.items():
        for what, marker in secrets.items():
            assert marker.encode() not in content, (name, what)
    for field in ("fee_cents", "paid_note", "checkout_session_id", "client_user_id", "id_hash", "token_hash", "assignee",
                  "details", "oidc_subject"):
        assert f'"{field}"'.encode() not in files["data.json"], field

    events = await AuditEvent.select().where(AuditEvent.action == "client_data_exported")
    assert [(e["actor_email"], e["target_id"]) for e in events] == [("olivia@acme.example", world.org_a)]
    assert json.loads(events[0]["detail"])["files"] == 4
    await alice.aclose()


async def test_an_organisation_without_projects_or_people_exports_an_empty_record(http, world):
    from portal.accounts.tables import ClientOrganisation

    empty = await insert(ClientOrganisation(workspace=world.workspace, name="Ünïcode & Co / Ltd"))
    await sign_in_staff(http, world.workspace, world.staff)
    response = await http.get(f"/studio/clients/{empty}/export")
    assert response.status_code == 200
    assert f'filename="unicode-co-ltd-export-{clock.today().isoformat()}.zip"' in response.headers["content-disposition"]
    data = json.loads(members(response.content)["data.json"])
    assert (data["organisation"]["name"], data["people"], data["projects"], data["files"]) == (
        "Ünïcode & Co / Ltd", [], [], [])


# Who may


async def _outsider() -> tuple[int, int, int]:
    from portal.accounts.tables import ClientOrganisation

    other = await make_workspace("other", "Other Agency")
    mallory = await make_staff(other, "mallory@other.example", role="owner")
    their_org = await insert(ClientOrganisation(workspace=other, name="Initech"))
    return other, mallory, their_org


async def counts() -> dict[str, int]:
    return {table._meta.tablename: await table.count() for table in Finder().get_table_classes()
            if table._meta.tablename not in ("user_session", "rate_limit_hit", "sign_in_request")}


@pytest.mark.parametrize("who", ["member", "other workspace", "client", "nobody"])
async def test_only_owners_and_admins_of_the_workspace_reach_export_and_delete(app, http, world, settings, who):
    await plant(settings, world)
    other, mallory, _ = await _outsider()
    if who == "member":
        await sign_in_staff(http, world.workspace, (await make_staff(world.workspace, "max@acme.example", "member")))
    elif who == "other workspace":
        await sign_in_staff(http, other, mallory)
    elif who == "client":
        await sign_in_client(http, world.workspace, world.alice)
    before = await counts()
    export = await http.get(f"/studio/clients/{world.org_a}/export")
    delete = await post_form(http, f"/studio/clients/{world.org_a}/delete", {"confirm_name": "Northwind"})
    expected = {"member": (403, 403), "other workspace": (404, 404)}.get(who)
    if expected:
        assert (export.status_code, delete.status_code) == expected
        assert "Only owners and admins" in export.text or who != "member"
    else:  # signed out, or a client: the studio's sign-in page
        assert export.status_code == 303 and export.headers["location"] == "/studio/login"
        assert delete.status_code in (303, 403) and delete.headers.get("location", "/studio/login") == "/studio/login"
    assert b"PK" not in export.content[:2]
    assert await counts() == before


async def test_an_organisation_of_another_workspace_is_a_404_for_export_and_delete(http, world):
    _, _, their_org = await _outsider()
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await http.get(f"/studio/clients/{their_org}/export")).status_code == 404
    response = await post_form(http, f"/studio/clients/{their_org}/delete", {"confirm_name": "Initech"})
    assert response.status_code == 404
    from portal.accounts.tables import ClientOrganisation

    assert await ClientOrganisation.count() == 3


# Deletion


def rows_of(settings, sql: str) -> list[tuple]:
    return query_rows(settings, sql)


async def org_a_rows(world, planted: Planted) -> dict[str, list[int]]:
    """The ids of every row of org A, table by table (to look for after the deletion)."""
    from portal.accounts.tables import ClientOrganisation, ClientUser
    from portal.billing.tables import InvoiceLine
    from portal.deliverables.tables import Deliverable
    from portal.projects.tables import ProjectAccess

    a = world.project_a
    deliverables = [r["id"] for r in await Deliverable.select(Deliverable.id).where(Deliverable.project == a)]
    tasks = [r["id"] for r in await Task.select(Task.id).where(Task.project == a)]
    invoices = [r["id"] for r in await Invoice.select(Invoice.id).where(Invoice.project == a)]
    messages = [r["id"] for r in await FeedbackMessage.select(FeedbackMessage.id).where(FeedbackMessage.project == a)]
    ids = {
        "client_organisation": [world.org_a], "client_user": [world.alice], "project": [a],
        "project_access": await ProjectAccess.select(ProjectAccess.id).where(ProjectAccess.project == a),
        "milestone": await Milestone.select(Milestone.id).where(Milestone.project == a),
        "task": tasks, "task_comment": await TaskComment.select(TaskComment.id).where(TaskComment.task.is_in(tasks)),
        "deliverable": deliverables,
        "deliverable_version": await DeliverableVersion.select(DeliverableVersion.id).where(
            DeliverableVersion.deliverable.is_in(deliverables)),
        "review_decision": await ReviewDecision.select(ReviewDecision.id).where(
            ReviewDecision.deliverable.is_in(deliverables)),
        "deliverable_comment": await DeliverableComment.select(DeliverableComment.id).where(
            DeliverableComment.deliverable.is_in(deliverables)),
        "project_file": await ProjectFile.select(ProjectFile.id).where(ProjectFile.project == a),
        "feedback_message": messages,
        "feedback_reply": await FeedbackReply.select(FeedbackReply.id).where(FeedbackReply.message.is_in(messages)),
        "invoice": invoices,
        "invoice_line": await InvoiceLine.select(InvoiceLine.id).where(InvoiceLine.invoice.is_in(invoices)),
        "payment": await Payment.select(Payment.id).where(Payment.invoice.is_in(invoices)),
        "user_session": await UserSession.select(UserSession.id).where(UserSession.client_user == world.alice),
        "login_token": await LoginToken.select(LoginToken.id).where(LoginToken.client_user == world.alice),
        "outbox_message": await OutboxMessage.select(OutboxMessage.id).where(
            OutboxMessage.to_address.is_in([ALICE_EMAIL, "olivia@acme.example"])),
        "stored_file": await StoredFile.select(StoredFile.id).where(StoredFile.sha256.is_in(planted.a_only)),
        "sign_in_request": await SignInRequest.select(SignInRequest.id).where(SignInRequest.email == ALICE_EMAIL),
        "rate_limit_hit": await RateLimitHit.select(RateLimitHit.id).where(RateLimitHit.key.like("%" + ALICE_EMAIL)),
    }
    assert all(ids.values()), {k: v for k, v in ids.items() if not v}  # one of everything was planted
    assert await ClientOrganisation.count().where(ClientOrganisation.id == world.org_a) == 1
    assert await ClientUser.count().where(ClientUser.organisation == world.org_a) == 1
    return {table: [r if isinstance(r, int) else r["id"] for r in rows] for table, rows in ids.items()}


async def org_b_state(world) -> dict:
    """Org B's rows, to compare before and after."""
    from portal.accounts.tables import ClientUser
    from portal.deliverables.tables import Deliverable
    from portal.projects.tables import Project, ProjectAccess

    b = world.project_b
    return {
        "people": await ClientUser.select().where(ClientUser.organisation == world.org_b),
        "project": await Project.select().where(Project.id == b),
        "grants": await ProjectAccess.select().where(ProjectAccess.project == b),
        "deliverables": await Deliverable.select().where(Deliverable.project == b),
        "files": await ProjectFile.select().where(ProjectFile.project == b),
        "invoices": await Invoice.select().where(Invoice.project == b),
        "feedback": await FeedbackMessage.select().where(FeedbackMessage.project == b),
        "stored": await StoredFile.select().where(StoredFile.id.is_in(
            ProjectFile.select(ProjectFile.stored_file).where(ProjectFile.project == b))),
    }


async def everything_text() -> str:
    """Every row of every table, as text."""
    return "\n".join([repr(await table.select()) for table in Finder().get_table_classes()])


async def test_deleting_an_organisation_removes_all_of_it_and_nothing_of_anyone_else(app, http, world, settings):
    planted = await plant(settings, world)
    alice = await signed_in_alice(app, world)
    carol = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")
    await sign_in_client(carol, world.workspace, world.carol)
    await sign_in_staff(http, world.workspace, world.staff)
    before_a, before_b = await org_a_rows(world, planted), await org_b_state(world)
    audit_before = await AuditEvent.count()
    assert ALICE_EMAIL in await everything_text()
    for sha in [*planted.a_only, planted.shared, planted.elsewhere]:
        assert blob_path(settings, sha).is_file()

    page = await http.get(f"/studio/clients/{world.org_a}")
    assert 'data-testid="danger-zone"' in page.text and 'data-testid="export-client"' in page.text
    response = await post_form(http, f"/studio/clients/{world.org_a}/delete", {"confirm_name": " Northwind "})
    assert response.status_code == 303 and response.headers["location"] == "/studio/clients"
    listing = await http.get("/studio/clients")
    assert "Northwind and all its data were deleted: 1 person, 1 project, 2 deliverables, 5 files, 2 invoices." in listing.text
    assert "Northwind" not in listing.text.replace("Northwind and all its data were deleted", "")

    # No row of org A is left in any table (read straight from the database).
    for table, ids in before_a.items():
        id_list = ", ".join(map(str, ids))
        assert rows_of(settings, f'SELECT "id" FROM "{table}" WHERE "id" IN ({id_list})') == [], table
    for table, column, value in (("project", "organisation", world.org_a), ("client_user", "organisation", world.org_a),
                                 ("project_access", "client_user", world.alice), ("payment", "client_user_id", world.alice),
                                 ("audit_event", "actor_id", world.alice), ("audit_event", "project", world.project_a)):
        where = f'"{column}" = {value}' + (" AND \"actor_kind\" = 'client'" if column == "actor_id" else "")
        assert rows_of(settings, f'SELECT COUNT(*) FROM "{table}" WHERE {where}') in ([(0,)], [("0",)]), table
    # Nobody's email or name is left anywhere; the trail kept every event (and one more).
    text = await everything_text()
    assert ALICE_EMAIL not in text and ALICE_NAME not in text and "Alice A." not in text
    assert await AuditEvent.count() == audit_before + 1
    assert await AuditEvent.count().where(AuditEvent.actor_email == "deleted client") >= 2

    # Org B is as it was, and carol's pages still answer with her data.
    assert await org_b_state(world) == before_b
    for path in (f"/p/acme/projects/{world.project_b}", f"/p/acme/projects/{world.project_b}/files",
                 f"/p/acme/projects/{world.project_b}/billing"):
        page = await carol.get(path)
        assert page.status_code == 200, path
    assert "Logo pack copy.txt" in (await carol.get(f"/p/acme/projects/{world.project_b}/files")).text
    assert NEVER_EXPORTED["org B invoice"] in (await carol.get(f"/p/acme/projects/{world.project_b}/billing")).text

    # Blobs only org A used are gone; the one org B shares stays, with carol's download.
    for sha in planted.a_only:
        assert not blob_path(settings, sha).exists(), sha
    assert blob_path(settings, planted.shared).is_file()
    assert blob_path(settings, planted.elsewhere).is_file()  # another workspace's file: its row stays
    assert await StoredFile.count().where(StoredFile.sha256 == planted.elsewhere) == 1
    shared_file = (await ProjectFile.select(ProjectFile.id).where(ProjectFile.name == "Logo pack copy.txt").first())["id"]
    download = await carol.get(f"/p/acme/projects/{world.project_b}/files/{shared_file}/download")
    assert download.status_code == 200 and download.content == planted.visible["Logo pack.txt"]

    # Alice's browser is signed out at once.
    gone = await alice.get(f"/p/acme/projects/{world.project_a}")
    assert gone.status_code == 303 and gone.headers["location"] == "/p/acme/login"

    # The deletion's event: who, which organisation, what went.
    (event,) = await AuditEvent.select().where(AuditEvent.action == "client_organisation_deleted")
    assert (event["actor_email"], event["target_type"], event["target_id"]) == (
        "olivia@acme.example", "client_organisation", world.org_a)
    detail = json.loads(event["detail"])
    assert detail["name"] == "Northwind" and detail["invoice_numbers"] == ["INV-0001", NEVER_EXPORTED["void invoice"]]
    assert {k: detail["counts"][k] for k in ("people", "projects", "deliverables", "versions", "files", "invoices",
                                              "invoice_lines", "payments", "tasks", "task_comments", "sessions", "stored_files",
                                              "feedback_messages", "feedback_replies", "milestones", "emails")} == {
        "people": 1, "projects": 1, "deliverables": 2, "versions": 3, "files": 5, "invoices": 2, "invoice_lines": 3,
        "payments": 1, "tasks": 3, "task_comments": 2, "sessions": 1, "stored_files": 7, "feedback_messages": 1, "feedback_replies": 1,
        "milestones": 1, "emails": 2}
    activity = await http.get("/studio/activity")
    assert "Client deleted with all its data" in activity.text and ALICE_EMAIL not in activity.text
    await alice.aclose()
    await carol.aclose()


async def test_a_wrong_name_deletes_nothing_and_says_so_in_the_form(http, world, settings):
    await plant(settings, world)
    await sign_in_staff(http, world.workspace, world.staff)
    before = await counts()
    for typed, htmx in (("Northwnd", False), ("northwind", True), ("", False)):
        response = await post_form(http, f"/studio/clients/{world.org_a}/delete", {"confirm_name": typed},
                                   headers={"HX-Request": "true", "HX-Boosted": "true"} if htmx else {})
        assert response.status_code == 422
        assert 'id="error-confirm_name"' in response.text
        assert "Type the client's name exactly as shown, Northwind, to delete it. Nothing was deleted." in html.unescape(
            response.text)
        assert f'value="{typed}"' in response.text
    assert await counts() == before


async def test_a_deletion_that_fails_half_way_changes_nothing(world, settings, monkeypatch):
    from portal.privacy import deletion

    planted = await plant(settings, world)
    before = await counts()

    async def broken(*args):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(deletion, "_delete_emails", broken)  # after the files, tasks and invoices went
    with pytest.raises(RuntimeError):
        await deletion.delete_organisation(settings, world.workspace, world.org_a, actor_email="test")
    assert await counts() == before
    assert all(blob_path(settings, sha).is_file() for sha in planted.a_only)


# The operator's commands


def portal_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portal.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **TEST_ENV}, timeout=120)


async def test_the_operator_exports_an_organisation_to_a_file(world, settings, tmp_path):
    planted = await plant(settings, world)
    target = tmp_path / "northwind.zip"
    done = portal_cli("client-export", "acme", str(world.org_a), "--to", str(target))
    assert done.returncode == 0, done.stderr
    assert f"export written: {target}" in done.stdout
    files = members(target.read_bytes())
    data = json.loads(files["data.json"])
    assert data["people"][0]["email"] == ALICE_EMAIL
    assert {files[f["path"]] for f in data["files"]} == set(planted.visible.values())
    assert list(tmp_path.iterdir()) == [target]  # no partial file left beside it
    (event,) = await AuditEvent.select().where(AuditEvent.action == "client_data_exported")
    assert (event["actor_kind"], event["actor_email"]) == ("system", "operator (portal client-export)")
    assert portal_cli("client-export", "nosuch", str(world.org_a)).stderr.strip() == "error: No workspace 'nosuch'."


async def test_the_operator_deletes_an_organisation_only_with_yes(world, settings):
    planted = await plant(settings, world)
    refused = portal_cli("client-delete", "acme", str(world.org_a))
    assert refused.returncode != 0 and "--yes" in refused.stderr
    assert rows_of(settings, f'SELECT COUNT(*) FROM "client_organisation" WHERE "id" = {world.org_a}') in ([(1,)], [("1",)])
    done = portal_cli("client-delete", "acme", str(world.org_a), "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"deleted Northwind (client organisation {world.org_a}): ")
    assert "1 person, 1 project, 2 deliverables, 5 files, 2 invoices; 6 stored file(s) removed from disk" in done.stdout
    assert "task comments 2" in done.stdout
    assert rows_of(settings, f'SELECT COUNT(*) FROM "client_organisation" WHERE "id" = {world.org_a}') in ([(0,)], [("0",)])
    assert blob_path(settings, planted.shared).is_file()
    assert not any(blob_path(settings, sha).exists() for sha in planted.a_only)
    (event,) = await AuditEvent.select().where(AuditEvent.action == "client_organisation_deleted")
    assert event["actor_email"] == "operator (portal client-delete)"
    again = portal_cli("client-delete", "acme", str(world.org_a), "--yes")
    assert again.returncode != 0 and again.stderr.startswith("error: ")


# The rules, one by one


async def test_a_person_who_came_from_another_client_leaves_no_email_in_its_records(world, settings):
    """Carol was Northwind's before she moved to Globex: deleting Globex keeps Northwind's
    records of her (a decision, a message) but not her email, IP address or browser."""
    from portal.privacy.deletion import delete_organisation

    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Logo", content=unique("logo"))
    version = (await DeliverableVersion.select(DeliverableVersion.id).where(
        DeliverableVersion.deliverable == deliverable).first())["id"]
    await insert(ReviewDecision(deliverable=deliverable, version=version, decision="approved", client_user=world.carol,
                                actor_email="carol@globex.example", content_sha256="0" * 64, ip="192.0.2.9",
                                user_agent="Safari"))
    await insert(FeedbackMessage(workspace=world.workspace, project=world.project_a, client_user=world.carol,
                                 author_email="carol@globex.example", subject="Old note", body="From before"))
    deleted = await delete_organisation(settings, world.workspace, world.org_b, actor_email="test")
    assert deleted.counts["people"] == 1
    (decision,) = await ReviewDecision.select().where(ReviewDecision.deliverable == deliverable)
    assert (decision["actor_email"], decision["ip"], decision["user_agent"], decision["client_user"]) == (
        "deleted client", "", "", None)
    (message,) = await FeedbackMessage.select().where(FeedbackMessage.subject == "Old note")
    assert (message["author_email"], message["client_user"], message["body"]) == ("deleted client", None, "From before")
    assert "carol@globex.example" not in await everything_text()


async def test_an_address_with_non_ascii_letters_is_found_in_the_trail_too(world, settings):
    from portal.accounts.tables import ClientUser
    from portal.privacy.deletion import delete_organisation

    jose = await insert(ClientUser(workspace=world.workspace, organisation=world.org_a, email="jösé@exämple.com",
                                   name="José Ñúñez"))
    await record("invite_sent", workspace_id=world.workspace, actor_email="olivia@acme.example",
                 target_type="project_access", target_id=99, email="jösé@exämple.com")
    await record("client_user_updated", workspace_id=world.workspace, actor_email="olivia@acme.example",
                 target_type="client_user", target_id=jose, old_name="José N.", name="José Ñúñez")
    await delete_organisation(settings, world.workspace, world.org_a, actor_email="test")
    details = [json.loads(e["detail"]) for e in await AuditEvent.select(AuditEvent.detail).where(
        AuditEvent.action.is_in(["invite_sent", "client_user_updated"])).order_by(AuditEvent.id)]
    assert details == [{"email": "deleted client"}, {"name": "deleted client", "old_name": "deleted client"}]


async def test_an_admin_may_and_a_member_sees_no_danger_zone(http, world, settings):
    admin = await make_staff(world.workspace, "ada@acme.example", role="admin")
    await sign_in_staff(http, world.workspace, admin)
    assert (await http.get(f"/studio/clients/{world.org_a}/export")).status_code == 200
    http.cookies.clear()
    await sign_in_staff(http, world.workspace, await make_staff(world.workspace, "max@acme.example", role="member"))
    page = await http.get(f"/studio/clients/{world.org_a}")
    assert page.status_code == 200 and "Northwind" in page.text
    assert 'data-testid="danger-zone"' not in page.text and 'data-testid="export-client"' not in page.text


async def test_a_stored_file_used_twice_in_the_workspace_keeps_its_row_and_its_bytes(world, settings):
    from portal.privacy.deletion import delete_organisation

    both = unique("both")
    await make_file(settings, world.workspace, world.project_a, "a.txt", both)
    await make_file(settings, world.workspace, world.project_b, "b.txt", both)
    deleted = await delete_organisation(settings, world.workspace, world.org_a, actor_email="test")
    assert (deleted.counts["files"], deleted.counts["stored_files"], deleted.blobs_removed) == (1, 0, 0)
    assert await StoredFile.count().where(StoredFile.sha256 == hashlib.sha256(both).hexdigest()) == 1
    assert blob_path(settings, hashlib.sha256(both).hexdigest()).is_file()


async def test_a_blob_stored_again_while_it_is_being_removed_is_put_back(world, settings, monkeypatch):
    from portal.privacy import blobs, queries

    data = unique("raced")
    stored = await store_bytes(settings, world.workspace, data, "text/plain")
    await StoredFile.delete().where(StoredFile.id == stored.id)
    calls = []
    real = queries.referenced_blobs

    async def upload_in_between(sha256s):
        calls.append(sha256s)
        if len(calls) == 2:  # after the blob was set aside, someone stores the same bytes
            await insert(StoredFile(workspace=world.workspace, sha256=stored.sha256, size=len(data),
                                    content_type="text/plain"))
        return await real(sha256s)

    monkeypatch.setattr(queries, "referenced_blobs", upload_in_between)
    assert await blobs.remove_unreferenced(settings, [stored.sha256]) == 0
    assert blob_path(settings, stored.sha256).read_bytes() == data
    assert await blobs.remove_unreferenced(settings, [stored.sha256]) == 0  # referenced now: left alone


def test_the_archive_name_is_safe_and_dated():
    from portal.privacy.views import archive_filename, safe_part

    day = dt.date(2026, 12, 4)
    assert archive_filename("Northwind Traders", day) == "northwind-traders-export-2026-12-04.zip"
    assert archive_filename('../"; rm -rf', day) == "rm-rf-export-2026-12-04.zip"
    assert archive_filename("東京", day) == "client-export-2026-12-04.zip"
    assert safe_part("../../etc/passwd") == "etc-passwd"
    assert safe_part("a\x00b\nc") == "abc" and safe_part("...") == "untitled"
