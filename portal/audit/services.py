"""Recording audit events: logins, invites, approvals, payments, downloads, settings."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from litestar import Request

from portal import clock
from portal.accounts.sessions import Principal
from portal.accounts.tables import ClientUser, StaffMember
from portal.audit.tables import AuditEvent
from portal.audit.views import (
    ACTORS,
    CLIENT_ACTIONS,
    EVENT_LABELS,
    PAGE_SIZE,
    PAYMENTS,
    RECENT,
    SIGN_INS,
    ActivityFilters,
    ActivityPage,
    AttentionItem,
    Dashboard,
    activity_row,
    age_label,
    project_href,
)
from portal.billing.tables import Invoice
from portal.deliverables.tables import Deliverable
from portal.projects.tables import Project, ProjectAccess, Task


def client_ip(request: Request | None) -> str:
    """The peer address (forwarded addresses are trusted only through ``portal.web.net``)."""
    if request is None:
        return ""
    return getattr(request.state, "client_ip", None) or (request.client.host if request.client else "")


async def record(
    action: str,
    *,
    workspace_id: int | None,
    actor: Principal | None = None,
    actor_email: str = "",
    request: Request | None = None,
    target_type: str = "",
    target_id: int | None = None,
    **detail: Any,
) -> None:
    """Append one audit event. ``detail`` keywords are stored as JSON.

    Nothing is recorded in a client's name while staff preview the portal as that client
    (the preview itself is recorded once per page, as the staff member's).
    """
    if actor is not None and actor.previewed_by is not None:
        return
    project = target_id if target_type == "project" else detail.get("project_id", detail.get("project"))
    await AuditEvent.insert(
        AuditEvent(
            workspace=workspace_id,
            actor_kind=actor.kind if actor else ("anonymous" if request is not None else "system"),
            actor_id=actor.user_id if actor else None,
            actor_email=actor.email if actor else actor_email,
            action=action,
            target_type=target_type,
            target_id=target_id,
            ip=client_ip(request)[:45],
            user_agent=(request.headers.get("user-agent", "") if request else "")[:500],
            detail=json.dumps(detail, default=str, sort_keys=True) if detail else "",
            project=project if isinstance(project, int) and not isinstance(project, bool) else None,
        )
    )


# Studio (staff): the dashboard and the Activity page read the trail of their own
# workspace only. Every query is scoped by ``staff.workspace_id``; their number does not
# grow with the data.


def _activity_base(staff: Principal):
    return AuditEvent.workspace == staff.workspace_id


def _clients_only():
    return (AuditEvent.actor_kind == "client") | (
        AuditEvent.action.is_in(list(SIGN_INS)) & (AuditEvent.target_type == "client_user")
    )


def _staff_only():
    return (AuditEvent.actor_kind == "staff") | (
        AuditEvent.action.is_in(list(SIGN_INS)) & (AuditEvent.target_type == "staff")
    )


_EVENT_COLUMNS = (
    AuditEvent.id, AuditEvent.created_at, AuditEvent.actor_kind, AuditEvent.actor_id, AuditEvent.actor_email,
    AuditEvent.action, AuditEvent.target_type, AuditEvent.target_id, AuditEvent.detail, AuditEvent.project,
    AuditEvent.ip,
)


async def _rows(staff: Principal, events: list[dict], projects: dict[int, str], routes: frozenset[str]) -> list:
    """Events as readable rows: two lookups (people, deliverables) whatever their number."""
    people: dict[tuple[str, int], str] = {}
    staff_ids, client_ids, deliverable_ids = {0}, {0}, {0}
    for e in events:
        if e["actor_id"] is not None:
            (staff_ids if e["actor_kind"] == "staff" else client_ids).add(e["actor_id"])
        if e["target_id"] is not None:
            if e["target_type"] == "staff":
                staff_ids.add(e["target_id"])
            elif e["target_type"] == "client_user":
                client_ids.add(e["target_id"])
            elif e["target_type"] == "deliverable":
                deliverable_ids.add(e["target_id"])
    for row in await StaffMember.select(StaffMember.id, StaffMember.name, StaffMember.email).where(
        (StaffMember.workspace == staff.workspace_id) & StaffMember.id.is_in(sorted(staff_ids))
    ):
        people[("staff", row["id"])] = row["name"] or row["email"]
    client_orgs: dict[int, int] = {}
    for row in await ClientUser.select(
        ClientUser.id, ClientUser.name, ClientUser.email, ClientUser.organisation,
        ClientUser.organisation.name.as_alias("organisation_name"),
    ).where((ClientUser.workspace == staff.workspace_id) & ClientUser.id.is_in(sorted(client_ids))):
        people[("client", row["id"])] = f"{row['name'] or row['email']} ({row['organisation_name']})"
        client_orgs[row["id"]] = row["organisation"]
    deliverables = {row["id"]: row for row in await Deliverable.select(
        Deliverable.id, Deliverable.title, Deliverable.project,
    ).where((Deliverable.workspace == staff.workspace_id) & Deliverable.id.is_in(sorted(deliverable_ids)))}
    return [activity_row(e, people=people, deliverables=deliverables, projects=projects, routes=routes,
                         client_orgs=client_orgs) for e in events]


async def _project_names(staff: Principal) -> dict[int, str]:
    rows = await Project.select(Project.id, Project.name).where(
        Project.workspace == staff.workspace_id).order_by(Project.name).order_by(Project.id)
    return {row["id"]: row["name"] for row in rows}


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 10 else None


async def activity(staff: Principal, routes: frozenset[str], *, kind: str = "", actor: str = "all",
                   project: str = "", before: str = "") -> ActivityPage:
    """The workspace's audit events, newest first, PAGE_SIZE a page; unknown filter values are ignored."""
    projects = await _project_names(staff)
    filters = ActivityFilters(
        kind=kind if kind in EVENT_LABELS else "", actor=actor if actor in ACTORS else "all",
        project=_int(project) if _int(project) in projects else None, before=_int(before),
    )
    where = _activity_base(staff)
    if filters.kind:
        where &= AuditEvent.action == filters.kind
    if filters.actor == "clients":
        where &= _clients_only()
    elif filters.actor == "staff":
        where &= _staff_only()
    if filters.project is not None:
        p = filters.project
        where &= (AuditEvent.project == p) | (
            (AuditEvent.target_type == "deliverable") & AuditEvent.target_id.is_in(
                Deliverable.select(Deliverable.id).where(
                    (Deliverable.project == p) & (Deliverable.workspace == staff.workspace_id)))
        ) | (
            (AuditEvent.target_type == "task") & AuditEvent.target_id.is_in(
                Task.select(Task.id).where((Task.project == p) & (Task.workspace == staff.workspace_id)))
        ) | (
            (AuditEvent.target_type == "invoice") & AuditEvent.target_id.is_in(
                Invoice.select(Invoice.id).where((Invoice.project == p) & (Invoice.workspace == staff.workspace_id)))
        ) | (
            (AuditEvent.target_type == "project_access") & AuditEvent.target_id.is_in(
                ProjectAccess.select(ProjectAccess.id).where(
                    (ProjectAccess.project == p) & (ProjectAccess.workspace == staff.workspace_id)))
        )
    if filters.before is not None:
        where &= AuditEvent.id < filters.before
    events = await AuditEvent.select(*_EVENT_COLUMNS).where(where).order_by(
        AuditEvent.id, ascending=False).limit(PAGE_SIZE + 1)
    older = ""
    if len(events) > PAGE_SIZE:
        events = events[:PAGE_SIZE]
        older = filters.query(before=events[-1]["id"])
    rows = await _rows(staff, events, projects, routes)
    return ActivityPage(rows, filters, older, list(projects.items()))


async def dashboard(staff: Principal, routes: frozenset[str]) -> Dashboard:
    """What needs the team now: open feedback, deliverables with the client or sent back, overdue
    invoices, and the clients' latest activity (RECENT events)."""
    now, today, ws = clock.now(), clock.today(), staff.workspace_id
    open_tasks = (Task.workspace == ws) & (Task.kind == "inbox") & Task.status.not_in(["done", "cancelled"])
    feedback_count = await Task.count().where(open_tasks)
    feedback = await Task.select(
        Task.id, Task.title, Task.created_at, Task.project.name.as_alias("project_name"),
        Task.project.organisation.name.as_alias("client"),
    ).where(open_tasks).order_by(Task.created_at, ascending=False).order_by(Task.id, ascending=False).limit(5)
    deliverables = await Deliverable.select(
        Deliverable.id, Deliverable.title, Deliverable.status, Deliverable.project, Deliverable.ready_at,
        Deliverable.updated_at, Deliverable.project.name.as_alias("project_name"),
    ).where(
        (Deliverable.workspace == ws) & Deliverable.status.is_in(["ready_for_review", "changes_requested"])
    ).order_by(Deliverable.updated_at).order_by(Deliverable.id)
    overdue = await Invoice.select(
        Invoice.id, Invoice.number, Invoice.project, Invoice.due_date, Invoice.total_cents, Invoice.currency,
        Invoice.project.name.as_alias("project_name"),
    ).where((Invoice.workspace == ws) & (Invoice.status == "sent") & (Invoice.due_date < today)).order_by(
        Invoice.due_date).order_by(Invoice.id)
    recent = await AuditEvent.select(*_EVENT_COLUMNS).where(
        _activity_base(staff) & AuditEvent.action.is_in(list(CLIENT_ACTIONS))
        & (_clients_only() | AuditEvent.action.is_in(list(PAYMENTS)))
    ).order_by(AuditEvent.id, ascending=False).limit(RECENT)
    projects = await _project_names(staff)

    def deliverable_item(d: dict, since: dt.datetime | None) -> AttentionItem:
        return AttentionItem(d["title"], d["project_name"], age_label(since, now),
                             f"/studio/projects/{d['project']}/deliverables/{d['id']}")

    return Dashboard(
        open_feedback=[AttentionItem(t["title"], f"{t['client']} · {t['project_name']}", age_label(t["created_at"], now),
                                     f"/studio/inbox/{t['id']}") for t in feedback],
        open_feedback_count=feedback_count,
        waiting=[deliverable_item(d, d["ready_at"] or d["updated_at"]) for d in deliverables
                 if d["status"] == "ready_for_review"],
        changes=[deliverable_item(d, d["updated_at"]) for d in deliverables if d["status"] == "changes_requested"],
        overdue=[AttentionItem(f"Invoice {i['number']}", i["project_name"], age_label(i["due_date"], now),
                               project_href(i["project"], "billing", routes)) for i in overdue],
        recent=await _rows(staff, recent, projects, routes),
    )
