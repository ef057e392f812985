"""A client organisation's data as one ZIP: ``data.json`` and the files themselves.

What goes in is what the organisation's people could see in the portal, and their own
records: the organisation; its people with their access, signed-in browsers and
sign-ins; each of its projects with progress, milestones, the deliverables clients can
see (every version, decisions, the review thread), the shared files, feedback with the
team's replies, and the invoices clients can see with lines and payments. Never:
internal tasks and their comments, drafts and work in progress, unshared or deleted
files, staff-only fields (payment notes, Stripe ids and fees), token or session hashes,
or anything of another organisation.

The files are copied from the blob store into the ZIP in 1 MiB chunks (stored, not
compressed: they are mostly images, PDFs and video) and hashed on the way, so memory
stays flat whatever their size; ``data.json`` lists each with the SHA-256 of the bytes
written. The archive goes into a file object the caller gives (a temporary file for a
download, the target file for the command line).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from portal import clock
from portal.accounts.tables import ClientOrganisation, ClientUser, UserSession
from portal.audit.tables import AuditEvent
from portal.audit.views import SIGN_INS
from portal.billing.tables import CLIENT_VISIBLE, Invoice, InvoiceLine, Payment
from portal.deliverables.tables import (
    CLIENT_VISIBLE_STATUSES,
    Deliverable,
    DeliverableComment,
    DeliverableVersion,
    ReviewDecision,
)
from portal.errors import NotFound
from portal.feedback.tables import FeedbackMessage, FeedbackReply
from portal.files.blobstore import blob_store
from portal.files.storage import CHUNK
from portal.files.tables import ProjectFile
from portal.privacy import views
from portal.privacy.views import Entry
from portal.projects.progress import progress_for
from portal.projects.tables import Project, ProjectAccess
from portal.settings import Settings
from portal.workspaces.tables import Workspace

FORMAT = 1
DATA_FILE = "data.json"
#: Above this a member is written with ZIP64 headers from the start (zipfile needs to know).
_ZIP64_FROM = 1 << 30


@dataclass
class Collected:
    """What one export holds: the records of ``data.json`` and the files to copy."""

    organisation: dict
    data: dict
    entries: list[Entry]


def _by(rows: list[dict], key: str) -> dict[int, list[dict]]:
    grouped: dict[int, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row[key], []).append(row)
    return grouped


async def organisation(workspace_id: int, organisation_id: int) -> dict:
    """The organisation if it is one of the workspace's; otherwise 404."""
    row = await ClientOrganisation.select(
        ClientOrganisation.id, ClientOrganisation.name, ClientOrganisation.created_at, ClientOrganisation.archived_at,
    ).where((ClientOrganisation.id == organisation_id) & (ClientOrganisation.workspace == workspace_id)).first()
    if row is None:
        raise NotFound()
    return row


async def _people(workspace_id: int, organisation_id: int, project_ids: list[int]) -> list[dict]:
    people = await ClientUser.select(
        ClientUser.id, ClientUser.name, ClientUser.email, ClientUser.active, ClientUser.created_at,
        ClientUser.last_login_at, ClientUser.oidc_subject,
    ).where((ClientUser.organisation == organisation_id) & (ClientUser.workspace == workspace_id)).order_by(ClientUser.id)
    ids = [p["id"] for p in people]
    if not ids:
        return []
    # Access to this organisation's projects only: a person who came from another client
    # keeps old grants there, which are that client's business.
    grants = await ProjectAccess.select(
        ProjectAccess.client_user, ProjectAccess.project, ProjectAccess.project.name.as_alias("project_name"),
        ProjectAccess.invited_at, ProjectAccess.accepted_at, ProjectAccess.expires_on, ProjectAccess.revoked_at,
    ).where((ProjectAccess.workspace == workspace_id) & ProjectAccess.client_user.is_in(ids)
            & ProjectAccess.project.is_in(project_ids or [0])).order_by(ProjectAccess.id)
    sessions = await UserSession.select(
        UserSession.client_user, UserSession.created_at, UserSession.last_seen_at, UserSession.expires_at,
        UserSession.ip, UserSession.user_agent,
    ).where((UserSession.workspace == workspace_id) & UserSession.client_user.is_in(ids)).order_by(UserSession.id)
    sign_ins = await AuditEvent.select(
        AuditEvent.target_id, AuditEvent.action, AuditEvent.created_at, AuditEvent.ip, AuditEvent.user_agent,
    ).where((AuditEvent.workspace == workspace_id) & AuditEvent.action.is_in(list(SIGN_INS))
            & (AuditEvent.target_type == "client_user") & AuditEvent.target_id.is_in(ids)).order_by(AuditEvent.id)
    grants_of, sessions_of, sign_ins_of = _by(grants, "client_user"), _by(sessions, "client_user"), _by(sign_ins, "target_id")
    return [views.person_record(p, grants_of.get(p["id"], []), sessions_of.get(p["id"], []), sign_ins_of.get(p["id"], []))
            for p in people]


async def _deliverables(workspace_id: int, projects: dict[int, dict], records: dict[int, dict],
                        entries: list[Entry]) -> None:
    rows = await Deliverable.select(
        Deliverable.id, Deliverable.project, Deliverable.title, Deliverable.description, Deliverable.status,
        Deliverable.current_version, Deliverable.ready_at, Deliverable.approved_at,
    ).where((Deliverable.workspace == workspace_id) & Deliverable.project.is_in(list(projects))
            & Deliverable.status.is_in(list(CLIENT_VISIBLE_STATUSES))).order_by(Deliverable.id)
    ids = [d["id"] for d in rows] or [0]
    versions = _by(await DeliverableVersion.select(
        DeliverableVersion.deliverable, DeliverableVersion.number, DeliverableVersion.filename,
        DeliverableVersion.content_type, DeliverableVersion.size, DeliverableVersion.content_sha256,
        DeliverableVersion.note, DeliverableVersion.created_at, DeliverableVersion.stored_file.sha256.as_alias("blob"),
    ).where(DeliverableVersion.deliverable.is_in(ids)).order_by(DeliverableVersion.number), "deliverable")
    decisions = _by(await ReviewDecision.select(
        ReviewDecision.deliverable, ReviewDecision.version.number.as_alias("number"), ReviewDecision.decision,
        ReviewDecision.actor_email, ReviewDecision.client_user.name.as_alias("name"), ReviewDecision.comment,
        ReviewDecision.content_sha256, ReviewDecision.ip, ReviewDecision.user_agent, ReviewDecision.created_at,
    ).where(ReviewDecision.deliverable.is_in(ids)).order_by(ReviewDecision.id), "deliverable")
    comments = _by(await DeliverableComment.select(
        DeliverableComment.deliverable, DeliverableComment.version.number.as_alias("number"),
        DeliverableComment.client_user, DeliverableComment.client_user.name.as_alias("client_name"),
        DeliverableComment.client_user.email.as_alias("client_email"),
        DeliverableComment.staff.name.as_alias("staff_name"), DeliverableComment.body, DeliverableComment.created_at,
    ).where(DeliverableComment.deliverable.is_in(ids)).order_by(DeliverableComment.id), "deliverable")
    for d in rows:
        project = projects[d["project"]]
        shown = []
        for v in versions.get(d["id"], []):
            path = views.version_path(project, d, v)
            entries.append(Entry(path, v["blob"], v["size"], v["created_at"]))
            shown.append(views.version_record(v, path))
        records[d["project"]]["deliverables"].append(views.deliverable_record(
            d, shown, [views.decision_record(x) for x in decisions.get(d["id"], [])],
            [views.comment_record(c) for c in comments.get(d["id"], [])]))


async def _files(workspace_id: int, projects: dict[int, dict], records: dict[int, dict], entries: list[Entry]) -> None:
    rows = await ProjectFile.select(
        ProjectFile.id, ProjectFile.project, ProjectFile.name, ProjectFile.created_at,
        ProjectFile.stored_file.sha256.as_alias("sha256"), ProjectFile.stored_file.size.as_alias("size"),
        ProjectFile.stored_file.content_type.as_alias("content_type"),
    ).where((ProjectFile.workspace == workspace_id) & ProjectFile.project.is_in(list(projects))
            & (ProjectFile.shared == True) & ProjectFile.deleted_at.is_null()).order_by(ProjectFile.id)  # noqa: E712
    for f in rows:
        path = views.file_path(projects[f["project"]], f)
        entries.append(Entry(path, f["sha256"], f["size"], f["created_at"]))
        records[f["project"]]["files"].append(views.shared_file_record(f, path))


async def _feedback(workspace_id: int, project_ids: list[int], records: dict[int, dict]) -> None:
    messages = await FeedbackMessage.select(
        FeedbackMessage.id, FeedbackMessage.project, FeedbackMessage.subject, FeedbackMessage.body,
        FeedbackMessage.author_email, FeedbackMessage.client_user.name.as_alias("client_name"),
        FeedbackMessage.created_at, FeedbackMessage.task.status.as_alias("task_status"),
    ).where((FeedbackMessage.workspace == workspace_id) & FeedbackMessage.project.is_in(project_ids)).order_by(
        FeedbackMessage.id)
    replies = _by(await FeedbackReply.select(
        FeedbackReply.message, FeedbackReply.author_name, FeedbackReply.body, FeedbackReply.created_at,
    ).where((FeedbackReply.workspace == workspace_id)
            & FeedbackReply.message.is_in([m["id"] for m in messages] or [0])).order_by(FeedbackReply.id), "message")
    for m in messages:
        records[m["project"]]["feedback"].append(views.feedback_record(m, replies.get(m["id"], [])))


async def _invoices(workspace_id: int, project_ids: list[int], records: dict[int, dict]) -> None:
    invoices = await Invoice.select(
        Invoice.id, Invoice.project, Invoice.number, Invoice.status, Invoice.currency, Invoice.issue_date,
        Invoice.due_date, Invoice.subtotal_cents, Invoice.tax_cents, Invoice.total_cents, Invoice.notes,
        Invoice.sent_at, Invoice.paid_at,
    ).where((Invoice.workspace == workspace_id) & Invoice.project.is_in(project_ids)
            & Invoice.status.is_in(list(CLIENT_VISIBLE))).order_by(Invoice.id)
    ids = [i["id"] for i in invoices] or [0]
    lines = _by(await InvoiceLine.select(
        InvoiceLine.id, InvoiceLine.invoice, InvoiceLine.description, InvoiceLine.quantity,
        InvoiceLine.unit_amount_cents, InvoiceLine.amount_cents, InvoiceLine.tax_rate, InvoiceLine.tax_cents,
        InvoiceLine.position,
    ).where(InvoiceLine.invoice.is_in(ids)), "invoice")
    payments = _by(await Payment.select(
        Payment.invoice, Payment.amount_cents, Payment.currency, Payment.provider, Payment.status, Payment.created_at,
        Payment.completed_at, Payment.refunded_cents,
    ).where((Payment.workspace == workspace_id) & Payment.invoice.is_in(ids)).order_by(Payment.id), "invoice")
    today = clock.today()
    for i in invoices:
        records[i["project"]]["invoices"].append(
            views.invoice_record(i, lines.get(i["id"], []), payments.get(i["id"], []), today))


async def collect(workspace_id: int, organisation_id: int) -> Collected:
    """Everything of ``data.json`` but the file list, and the files to copy; 404 for
    an organisation of another workspace."""
    org = await organisation(workspace_id, organisation_id)
    workspace = await Workspace.select(Workspace.name).where(Workspace.id == workspace_id).first()
    projects = {p["id"]: p for p in await Project.select(
        Project.id, Project.name, Project.description, Project.status, Project.start_date, Project.due_date,
        Project.created_at,
    ).where((Project.organisation == organisation_id) & (Project.workspace == workspace_id)).order_by(Project.id)}
    progress = await progress_for(list(projects.values()))
    records = {pid: views.project_record(p, progress[pid].percent,
                                         [views.milestone_record(m) for m in progress[pid].milestones])
               for pid, p in projects.items()}
    entries: list[Entry] = []
    if projects:
        await _deliverables(workspace_id, projects, records, entries)
        await _files(workspace_id, projects, records, entries)
        await _feedback(workspace_id, list(projects), records)
        await _invoices(workspace_id, list(projects), records)
    data = {
        "format": FORMAT, "exported_at": clock.now().isoformat(), "agency": workspace["name"] if workspace else "",
        "organisation": views.organisation_record(org),
        "people": await _people(workspace_id, organisation_id, list(projects)),
        "projects": list(records.values()),
    }
    return Collected(org, data, entries)


def _zip_time(value: dt.datetime | None) -> tuple[int, int, int, int, int, int]:
    moment = value or clock.now()
    return max(moment, dt.datetime(1980, 1, 1, tzinfo=dt.UTC)).timetuple()[:6]


def _copy(settings: Settings, archive: zipfile.ZipFile, entry: Entry) -> dict:
    """One blob into the archive in chunks; its line of the file list."""
    listed: dict = {"path": entry.path, "size": entry.size, "sha256": entry.sha256}
    try:
        source = blob_store(settings).open(entry.sha256)
    except FileNotFoundError:
        return {**listed, "missing": True}
    info = zipfile.ZipInfo(entry.path, date_time=_zip_time(entry.modified))
    info.compress_type = zipfile.ZIP_STORED
    digest, size = hashlib.sha256(), 0
    with source, archive.open(info, "w", force_zip64=entry.size >= _ZIP64_FROM) as target:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            target.write(chunk)
            size += len(chunk)
    written = {**listed, "size": size, "sha256": digest.hexdigest()}
    if written["sha256"] != entry.sha256:
        written.update(damaged=True, expected_sha256=entry.sha256)
    return written


@dataclass(frozen=True)
class Written:
    files: int
    missing: int
    damaged: int


def write_zip(settings: Settings, target: BinaryIO, collected: Collected) -> Written:
    """Blocking: the files, then ``data.json`` (with the list of the files as written)."""
    with zipfile.ZipFile(target, "w", allowZip64=True) as archive:
        listed = [_copy(settings, archive, entry) for entry in collected.entries]
        data = {**collected.data, "files": listed}
        info = zipfile.ZipInfo(DATA_FILE, date_time=_zip_time(None))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, json.dumps(data, indent=1, ensure_ascii=False, default=str))
    return Written(files=sum(1 for f in listed if not f.get("missing")), missing=sum(1 for f in listed if f.get("missing")),
                   damaged=sum(1 for f in listed if f.get("damaged")))
