"""Deleting a client organisation and everything the workspace holds about it.

A project belongs to exactly one organisation (``Project.organisation``, required), so
the organisation's projects are deleted whole, with everything under them: access
grants, milestones, internal tasks and their comments, deliverables with their versions,
decisions and thread, files, feedback and replies, invoices with their lines and
payments. So are its people with their sessions (they are signed out at the next
request), sign-in and invite links, pending sign-in requests, rate-limit counters and
the emails to them. One write transaction does all of it; a failure changes nothing.

Invoices go too: the invoice numbers they used stay used (the numbering never goes
back), and the deletion's audit event lists them, so the gap in the sequence is
explained.

The audit trail stays (the deletion's own event included) but forgets the people: their
email, name, IP address and browser give way to "deleted client" in every event by them
or about them, their words (a feedback subject) are dropped, and events lose their
links to the deleted rows (SQLite may give a deleted row's id to a new one).

A person who moved here from another organisation may have left traces in that
organisation's projects (a decision, a feedback message); those stay that client's
records, with the person's email, IP address and browser replaced.

Blobs are removed from disk after the commit, and only those no row of any workspace
still references (the same bytes may be another client's file, a thumbnail or a logo).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from portal.accounts.sessions import Principal
from portal.accounts.tables import (
    ClientOrganisation,
    ClientUser,
    LoginToken,
    RateLimitHit,
    SignInRequest,
    StaffMember,
    UserSession,
)
from portal.audit.services import record
from portal.audit.tables import AuditEvent
from portal.billing.tables import Invoice, InvoiceLine, Payment
from portal.db import engine, for_update
from portal.deliverables.tables import Deliverable, DeliverableComment, DeliverableVersion, ReviewDecision
from portal.errors import NotFound
from portal.feedback.tables import FeedbackMessage, FeedbackReply
from portal.files.storage import blob_path
from portal.files.tables import ProjectFile, StoredFile
from portal.mail.tables import OutboxMessage
from portal.privacy import queries
from portal.privacy.views import DELETED_CLIENT
from portal.projects.tables import Milestone, Project, ProjectAccess, Task, TaskComment
from portal.settings import Settings
from portal.workspaces.tables import Workspace

log = logging.getLogger("portal.privacy")

#: Ids per ``IN`` list (well under both engines' limits on parameters).
BATCH = 500
#: In an event about a person, the detail keys that describe them (a change of name or email).
PERSONAL_KEYS = frozenset({"name", "old_name", "email", "old_email"})
_TRASH_PREFIX = ".deleting-"


@dataclass
class Deleted:
    """What a deletion removed: counts per kind of row, the invoice numbers, the blobs."""

    organisation_id: int
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    invoice_numbers: list[str] = field(default_factory=list)
    blobs_removed: int = 0

    @property
    def summary(self) -> str:
        """``2 people, 1 project, 3 files`` (the kinds a person thinks of)."""
        shown = (("people", "person", "people"), ("projects", "project", "projects"),
                 ("deliverables", "deliverable", "deliverables"), ("files", "file", "files"),
                 ("invoices", "invoice", "invoices"))
        parts = [f"{n} {one if n == 1 else many}" for key, one, many in shown if (n := self.counts.get(key, 0))]
        return ", ".join(parts) or "no people and no projects"


def _batches(ids: list) -> list[list]:
    return [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)] or [[]]


async def _delete(table, where) -> int:
    return len(await table.delete().where(where).returning(table.id))


# The audit trail: forget the people, keep the events.


def _needle(email: str) -> str:
    """What LIKE looks for in JSON details: the longest plain-ASCII run of the address (JSON
    stores other letters \\u-escaped; a backslash would be LIKE's escape on PostgreSQL).
    A candidate only: the exact test is made on the decoded detail."""
    return max(re.split(r"[^\x20-\x5b\x5d-\x7e]+", email), key=len)


def _scrub(value: Any, emails: set[str], names: set[str], pattern: re.Pattern | None) -> Any:
    """``value`` (a decoded detail) with every deleted email and name replaced."""
    if isinstance(value, dict):
        return {k: _scrub(v, emails, names, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, emails, names, pattern) for v in value]
    if isinstance(value, str):
        if value.strip().casefold() in emails | names:
            return DELETED_CLIENT
        return pattern.sub(DELETED_CLIENT, value) if pattern else value
    return value


def _anonymised(row: dict, people: set[int], emails: set[str], names: set[str], pattern: re.Pattern | None) -> dict:
    """The changes that make one audit event forget the deleted people ({} when none)."""
    by_client = row["actor_kind"] == "client" and row["actor_id"] in people
    about = row["target_type"] == "client_user" and row["target_id"] in people
    # Sign-ins and link requests are recorded before a session exists: the person is
    # the target (or only an email), the IP address and browser are theirs.
    by_them = by_client or (row["actor_email"] or "").casefold() in emails or (
        about and row["actor_kind"] == "anonymous")
    changes: dict[str, Any] = {}
    if by_them:
        changes.update(actor_email=DELETED_CLIENT, ip="", user_agent="")
    if by_client:
        changes["actor_id"] = None
    if about:
        changes["target_id"] = None
    if row["detail"]:
        try:
            detail = json.loads(row["detail"])
        except ValueError:
            detail = None
        if isinstance(detail, dict):
            scrubbed = _scrub(detail, emails, names if (by_them or about) else set(), pattern)
            if about:
                scrubbed.update({k: DELETED_CLIENT for k in PERSONAL_KEYS & scrubbed.keys() if scrubbed[k]})
            if by_client and "subject" in scrubbed:  # their own words (a feedback subject)
                scrubbed["subject"] = ""
            if scrubbed != detail:
                changes["detail"] = json.dumps(scrubbed, default=str, sort_keys=True)
    return {k: v for k, v in changes.items() if row[k] != v}


async def _anonymise_audit(workspace_id: int, people: list[int], emails: set[str], names: set[str]) -> int:
    conditions = [((AuditEvent.actor_kind == "client") & AuditEvent.actor_id.is_in(batch))
                  | ((AuditEvent.target_type == "client_user") & AuditEvent.target_id.is_in(batch))
                  for batch in _batches(people) if batch]
    if emails:
        conditions.append(AuditEvent.actor_email.is_in(sorted(emails)))
    conditions += [AuditEvent.detail.like(f"%{_needle(email)}%") for email in sorted(emails)]
    if not conditions:
        return 0
    rows = await AuditEvent.select(
        AuditEvent.id, AuditEvent.actor_kind, AuditEvent.actor_id, AuditEvent.actor_email, AuditEvent.target_type,
        AuditEvent.target_id, AuditEvent.ip, AuditEvent.user_agent, AuditEvent.detail,
    ).where((AuditEvent.workspace == workspace_id) & reduce(lambda a, b: a | b, conditions))
    pattern = re.compile("|".join(re.escape(e) for e in sorted(emails, key=len, reverse=True)), re.I) if emails else None
    person_ids, changed = set(people), 0
    for row in rows:
        changes = _anonymised(row, person_ids, emails, names, pattern)
        if changes:
            await AuditEvent.update({getattr(AuditEvent, k): v for k, v in changes.items()}).where(AuditEvent.id == row["id"])
            changed += 1
    return changed


async def _detach_audit(workspace_id: int, projects, organisation_id: int) -> None:
    """Events about the rows being deleted lose their links to them (ids SQLite may reuse).

    ``projects`` (here and below): the sub-select of the organisation's project ids."""
    targets = {
        "project": projects,
        "milestone": Milestone.select(Milestone.id).where(Milestone.project.is_in(projects)),
        "task": Task.select(Task.id).where(Task.project.is_in(projects)),
        "deliverable": Deliverable.select(Deliverable.id).where(Deliverable.project.is_in(projects)),
        "project_file": ProjectFile.select(ProjectFile.id).where(ProjectFile.project.is_in(projects)),
        "feedback_message": FeedbackMessage.select(FeedbackMessage.id).where(FeedbackMessage.project.is_in(projects)),
        "invoice": Invoice.select(Invoice.id).where(Invoice.project.is_in(projects)),
        "project_access": ProjectAccess.select(ProjectAccess.id).where(ProjectAccess.project.is_in(projects)),
    }
    mine = AuditEvent.workspace == workspace_id
    for target_type, ids in targets.items():
        await AuditEvent.update({AuditEvent.target_id: None}).where(
            mine & (AuditEvent.target_type == target_type) & AuditEvent.target_id.is_in(ids))
    await AuditEvent.update({AuditEvent.project: None}).where(mine & AuditEvent.project.is_in(projects))
    await AuditEvent.update({AuditEvent.target_id: None}).where(
        mine & (AuditEvent.target_type == "client_organisation") & (AuditEvent.target_id == organisation_id))


# The rows


async def _traces_elsewhere(workspace_id: int, people, projects) -> None:
    """What the people left in other organisations' projects keeps no email, IP or browser of theirs."""
    elsewhere = Deliverable.select(Deliverable.id).where(
        (Deliverable.workspace == workspace_id) & Deliverable.project.not_in(projects))
    await ReviewDecision.update({ReviewDecision.actor_email: DELETED_CLIENT, ReviewDecision.ip: "",
                                 ReviewDecision.user_agent: ""}).where(
        ReviewDecision.client_user.is_in(people) & ReviewDecision.deliverable.is_in(elsewhere))
    await FeedbackMessage.update({FeedbackMessage.author_email: DELETED_CLIENT}).where(
        (FeedbackMessage.workspace == workspace_id) & FeedbackMessage.client_user.is_in(people)
        & FeedbackMessage.project.not_in(projects))
    await Payment.update({Payment.client_user_id: None}).where(
        (Payment.workspace == workspace_id) & Payment.client_user_id.is_in(people))


async def _delete_files(workspace_id: int, projects, deliverables, counts: dict[str, int]) -> list[str]:
    """Versions and project files, then the stored files nothing else uses; their blobs' hashes."""
    used = {row["stored_file"] for row in await DeliverableVersion.select(DeliverableVersion.stored_file).where(
        DeliverableVersion.deliverable.is_in(deliverables))}
    used |= {row["stored_file"] for row in await ProjectFile.select(ProjectFile.stored_file).where(
        ProjectFile.project.is_in(projects))}
    counts["review_decisions"] = await _delete(ReviewDecision, ReviewDecision.deliverable.is_in(deliverables))
    counts["deliverable_comments"] = await _delete(DeliverableComment, DeliverableComment.deliverable.is_in(deliverables))
    counts["versions"] = await _delete(DeliverableVersion, DeliverableVersion.deliverable.is_in(deliverables))
    counts["deliverables"] = await _delete(Deliverable, Deliverable.project.is_in(projects))
    counts["files"] = await _delete(ProjectFile, ProjectFile.project.is_in(projects))
    logo = await Workspace.select(Workspace.portal_logo_sha256).where(Workspace.id == workspace_id).first()
    logo_sha256 = (logo or {}).get("portal_logo_sha256") or ""
    blobs: list[str] = []
    counts["stored_files"] = 0
    for batch in _batches(sorted(used)):
        if not batch:
            continue
        still = {row["stored_file"] for row in await DeliverableVersion.select(DeliverableVersion.stored_file).where(
            DeliverableVersion.stored_file.is_in(batch))}
        still |= {row["stored_file"] for row in await ProjectFile.select(ProjectFile.stored_file).where(
            ProjectFile.stored_file.is_in(batch))}
        unused = [i for i in batch if i not in still]
        if not unused:
            continue
        rows = await StoredFile.delete().where(
            (StoredFile.workspace == workspace_id) & StoredFile.id.is_in(unused)
            & (StoredFile.sha256 != logo_sha256)
        ).returning(StoredFile.sha256, StoredFile.thumbnail_sha256)
        counts["stored_files"] += len(rows)
        blobs += [sha for row in rows for sha in (row["sha256"], row["thumbnail_sha256"]) if sha]
    return blobs


async def _delete_rows(workspace_id: int, organisation_id: int, emails: set[str],
                       counts: dict[str, int]) -> tuple[list[str], list[str]]:
    """Every row of the organisation, children first; (invoice numbers, blob hashes)."""
    projects = Project.select(Project.id).where(
        (Project.organisation == organisation_id) & (Project.workspace == workspace_id))
    people = ClientUser.select(ClientUser.id).where(
        (ClientUser.organisation == organisation_id) & (ClientUser.workspace == workspace_id))
    await _detach_audit(workspace_id, projects, organisation_id)
    await _traces_elsewhere(workspace_id, people, projects)
    counts["sign_in_links"] = await _delete(LoginToken, (LoginToken.workspace == workspace_id) & (
        LoginToken.client_user.is_in(people) | LoginToken.project_id.is_in(projects)))
    counts["sessions"] = await _delete(UserSession, UserSession.client_user.is_in(people))
    counts["access_grants"] = await _delete(ProjectAccess, (ProjectAccess.workspace == workspace_id) & (
        ProjectAccess.client_user.is_in(people) | ProjectAccess.project.is_in(projects)))
    deliverables = Deliverable.select(Deliverable.id).where(Deliverable.project.is_in(projects))
    blobs = await _delete_files(workspace_id, projects, deliverables, counts)
    messages = FeedbackMessage.select(FeedbackMessage.id).where(FeedbackMessage.project.is_in(projects))
    counts["feedback_replies"] = await _delete(FeedbackReply, FeedbackReply.message.is_in(messages))
    counts["feedback_messages"] = await _delete(FeedbackMessage, FeedbackMessage.project.is_in(projects))
    tasks = Task.select(Task.id).where(Task.project.is_in(projects))
    counts["task_comments"] = await _delete(TaskComment, TaskComment.task.is_in(tasks))
    counts["tasks"] = await _delete(Task, Task.project.is_in(projects))
    counts["milestones"] = await _delete(Milestone, Milestone.project.is_in(projects))
    invoices = Invoice.select(Invoice.id).where(Invoice.project.is_in(projects))
    counts["payments"] = await _delete(Payment, Payment.invoice.is_in(invoices))
    counts["invoice_lines"] = await _delete(InvoiceLine, InvoiceLine.invoice.is_in(invoices))
    gone = await Invoice.delete().where(Invoice.project.is_in(projects)).returning(Invoice.id, Invoice.number)
    numbers = [row["number"] for row in sorted(gone, key=lambda row: row["id"])]
    counts["invoices"] = len(numbers)
    counts["emails"] = await _delete_emails(workspace_id, emails)
    if emails:
        await SignInRequest.delete().where((SignInRequest.workspace == workspace_id)
                                           & SignInRequest.email.is_in(sorted(emails)))
        await RateLimitHit.delete().where(RateLimitHit.key.is_in([f"link-email:ws{workspace_id}:{e}" for e in emails]))
    counts["people"] = await _delete(ClientUser, (ClientUser.organisation == organisation_id)
                                     & (ClientUser.workspace == workspace_id))
    counts["projects"] = await _delete(Project, (Project.organisation == organisation_id)
                                       & (Project.workspace == workspace_id))
    await ClientOrganisation.delete().where(ClientOrganisation.id == organisation_id)
    return numbers, blobs


async def _delete_emails(workspace_id: int, emails: set[str]) -> int:
    """The outbox's emails to the people, or naming them (a client's reply sent to staff)."""
    if not emails:
        return 0
    # LIKE finds the candidates ("_" matches any character): the exact test is made here.
    mentions = reduce(lambda a, b: a | b, [OutboxMessage.text_body.like(f"%{e}%") for e in sorted(emails)])
    rows = await OutboxMessage.select(OutboxMessage.id, OutboxMessage.to_address, OutboxMessage.text_body).where(
        (OutboxMessage.workspace == workspace_id) & (OutboxMessage.to_address.is_in(sorted(emails)) | mentions))
    ids = [row["id"] for row in rows if row["to_address"].casefold() in emails
           or any(e in row["text_body"].casefold() for e in emails)]
    return sum([await _delete(OutboxMessage, OutboxMessage.id.is_in(batch)) for batch in _batches(ids) if batch])


async def _own_emails(workspace_id: int, organisation_id: int, people: list[dict]) -> set[str]:
    """The people's emails that nobody who stays uses (staff, another client's person)."""
    emails = {p["email"].casefold() for p in people if p["email"]}
    if not emails:
        return set()
    kept = await ClientUser.select(ClientUser.email).where(
        (ClientUser.workspace == workspace_id) & (ClientUser.organisation != organisation_id)
        & ClientUser.email.is_in(sorted(emails)))
    kept += await StaffMember.select(StaffMember.email).where(
        (StaffMember.workspace == workspace_id) & StaffMember.email.is_in(sorted(emails)))
    return emails - {row["email"].casefold() for row in kept}


async def delete_organisation(settings: Settings, workspace_id: int, organisation_id: int, *,
                              actor: Principal | None = None, actor_email: str = "", request=None) -> Deleted:
    """Delete the organisation and everything under it (one transaction), record it, then
    remove the blobs nothing references any more. NotFound if it is not the workspace's."""
    async with engine().write_transaction():
        org = await for_update(ClientOrganisation.select(ClientOrganisation.id, ClientOrganisation.name).where(
            (ClientOrganisation.id == organisation_id) & (ClientOrganisation.workspace == workspace_id))).first()
        if org is None:
            raise NotFound()
        people = await ClientUser.select(ClientUser.id, ClientUser.email, ClientUser.name).where(
            (ClientUser.organisation == organisation_id) & (ClientUser.workspace == workspace_id))
        person_ids = [p["id"] for p in people]
        emails = await _own_emails(workspace_id, organisation_id, people)
        names = {" ".join(p["name"].split()).casefold() for p in people if p["name"].strip()}
        deleted = Deleted(organisation_id, org["name"])
        deleted.counts["audit_events_anonymised"] = await _anonymise_audit(workspace_id, person_ids, emails, names)
        deleted.invoice_numbers, blobs = await _delete_rows(workspace_id, organisation_id, emails, deleted.counts)
        await record("client_organisation_deleted", workspace_id=workspace_id, actor=actor, actor_email=actor_email,
                     request=request, target_type="client_organisation", target_id=organisation_id, name=org["name"],
                     counts=deleted.counts, invoice_numbers=deleted.invoice_numbers)
    deleted.blobs_removed = await remove_unreferenced(settings, blobs)
    return deleted


# The blobs, after the commit


def _set_aside(settings: Settings, sha256: str) -> str | None:
    """Blocking: move the blob to a name no reader or upload uses; that name, or None."""
    path = blob_path(settings, sha256)
    aside = path.with_name(f"{_TRASH_PREFIX}{sha256}")
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return None
    return str(aside)


def _finish(settings: Settings, sha256: str, aside: str, referenced: bool) -> None:
    """Blocking: remove the set-aside blob, or put it back if a new row points at it."""
    path = blob_path(settings, sha256)
    if referenced and not path.exists():
        os.replace(aside, path)
        return
    os.unlink(aside)


async def remove_unreferenced(settings: Settings, sha256s: list[str]) -> int:
    """Remove from disk those of the blobs that no row of any workspace references; how many.

    Each blob is first moved aside, then the references are asked again: the same bytes
    uploaded meanwhile (the upload found the blob and inserted its row) are put back.
    """
    candidates = sorted(set(sha256s))
    if not candidates:
        return 0
    unreferenced = [sha for sha in candidates if sha not in await queries.referenced_blobs(candidates)]
    aside = {sha: path for sha in unreferenced if (path := await asyncio.to_thread(_set_aside, settings, sha))}
    if not aside:
        return 0
    referenced_now = await queries.referenced_blobs(sorted(aside))
    for sha, path in aside.items():
        await asyncio.to_thread(_finish, settings, sha, path, sha in referenced_now)
        if sha in referenced_now:
            log.warning("blob %s was stored again while its last user was deleted: kept", sha)
    return sum(1 for sha in aside if sha not in referenced_now)
