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

The audit trail stays (the deletion's own event included) but forgets the people
(``portal.privacy.trail``).

A person who moved here from another organisation may have left traces in that
organisation's projects (a decision, a feedback message); those stay that client's
records, with the person's email, IP address and browser replaced.

Blobs are removed from disk after the commit, and only those no row of any workspace
still references (``portal.privacy.blobs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce

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
from portal.billing.tables import Invoice, InvoiceLine, Payment
from portal.db import engine, for_update
from portal.deliverables.tables import Deliverable, DeliverableComment, DeliverableVersion, ReviewDecision
from portal.errors import NotFound
from portal.feedback.tables import FeedbackMessage, FeedbackReply
from portal.files.tables import ProjectFile, StoredFile
from portal.mail.tables import OutboxMessage
from portal.privacy import trail
from portal.privacy.blobs import remove_unreferenced
from portal.privacy.views import DELETED_CLIENT
from portal.projects.tables import Milestone, Project, ProjectAccess, Task, TaskComment
from portal.settings import Settings
from portal.workspaces.tables import Workspace

#: Ids per ``IN`` list (well under both engines' limits on parameters).
BATCH = 500


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
    await trail.detach(workspace_id, projects, organisation_id)
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
        deleted.counts["audit_events_anonymised"] = await trail.anonymise(workspace_id, person_ids, emails, names)
        deleted.invoice_numbers, blobs = await _delete_rows(workspace_id, organisation_id, emails, deleted.counts)
        await record("client_organisation_deleted", workspace_id=workspace_id, actor=actor, actor_email=actor_email,
                     request=request, target_type="client_organisation", target_id=organisation_id, name=org["name"],
                     counts=deleted.counts, invoice_numbers=deleted.invoice_numbers)
    deleted.blobs_removed = await remove_unreferenced(settings, blobs)
    return deleted
