"""The audit trail of a deleted client organisation: its events stay, its people go.

Every event by one of the deleted people or about them forgets them: their email, name,
IP address and browser give way to "deleted client", their words (a feedback subject)
are dropped, and the ids of their rows are cleared. Emails are also looked for in every
event's detail (an invitation names the address). Events about the organisation's
projects and what was in them lose their links to the deleted rows: SQLite may give a
deleted row's id to a new one, and the trail must not then point at it.
"""

from __future__ import annotations

import json
import re
from functools import reduce
from typing import Any

from portal.audit.tables import AuditEvent
from portal.billing.tables import Invoice
from portal.deliverables.tables import Deliverable
from portal.feedback.tables import FeedbackMessage
from portal.files.tables import ProjectFile
from portal.privacy.views import DELETED_CLIENT
from portal.projects.tables import Milestone, ProjectAccess, Task

#: People per ``IN`` list (well under both engines' limits on parameters).
BATCH = 500
#: In an event about a person, the detail keys that describe them (a change of name or email).
PERSONAL_KEYS = frozenset({"name", "old_name", "email", "old_email"})


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


def _batches(ids: list) -> list[list]:
    return [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]


async def anonymise(workspace_id: int, people: list[int], emails: set[str], names: set[str]) -> int:
    """Make the workspace's events forget these people (ids, emails, names); how many changed."""
    conditions = [((AuditEvent.actor_kind == "client") & AuditEvent.actor_id.is_in(batch))
                  | ((AuditEvent.target_type == "client_user") & AuditEvent.target_id.is_in(batch))
                  for batch in _batches(people)]
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


async def detach(workspace_id: int, projects, organisation_id: int) -> None:
    """Events about the rows being deleted lose their links to them (ids SQLite may reuse).

    ``projects``: the sub-select of the organisation's project ids."""
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
