"""View objects for the studio's dashboard and Activity page: audit rows made readable."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

#: A readable label per recorded event (``record("...")`` across the areas).
EVENT_LABELS = {
    "login": "Signed in",
    "login_google": "Signed in with Google",
    "login_failed": "Sign-in refused",
    "login_link_requested": "Asked for a sign-in link",
    "logout": "Signed out",
    "logout_everywhere": "Signed out everywhere",
    "invite_sent": "Invitation sent",
    "invite_accepted": "Accepted an invitation",
    "grant_changed": "Access changed",
    "grant_revoked": "Access revoked",
    "client_previewed": "Previewed the portal as a client",
    "staff_role_changed": "Role changed",
    "staff_removed": "Team member removed",
    "portal_settings_changed": "Portal settings changed",
    "billing_settings_changed": "Billing settings changed",
    "client_organisation_created": "Client added",
    "client_organisation_renamed": "Client renamed",
    "client_user_added": "Client person added",
    "client_user_updated": "Client person changed",
    "client_user_removed": "Client person removed",
    "client_data_exported": "Client data exported",
    "client_organisation_deleted": "Client deleted with all its data",
    "project_created": "Project created",
    "project_updated": "Project changed",
    "project_archived": "Project archived",
    "project_unarchived": "Project restored",
    "milestone_created": "Milestone added",
    "milestone_updated": "Milestone changed",
    "milestone_completed": "Milestone completed",
    "milestone_reopened": "Milestone reopened",
    "milestone_deleted": "Milestone deleted",
    "milestones_reordered": "Milestones reordered",
    "task_created": "Task added",
    "task_updated": "Task changed",
    "task_status_changed": "Task status changed",
    "task_comment_added": "Task comment added",
    "deliverable.created": "Deliverable created",
    "deliverable.version_uploaded": "New version uploaded",
    "deliverable.ready_for_review": "Sent for review",
    "deliverable.approved": "Approved a deliverable",
    "deliverable.changes_requested": "Requested changes",
    "deliverable.download": "Downloaded a deliverable",
    "deliverable.deleted": "Deliverable deleted",
    "file_uploaded": "File uploaded",
    "file_shared": "File shared with the client",
    "file_unshared": "File no longer shared",
    "file_deleted": "File deleted",
    "file_downloaded": "Downloaded a file",
    "feedback_sent": "Sent feedback",
    "feedback_replied": "Replied to feedback",
    "inbox_assigned": "Feedback assigned",
    "inbox_status_changed": "Feedback status changed",
    "invoice_created": "Invoice created",
    "invoice_updated": "Invoice changed",
    "invoice_sent": "Invoice sent",
    "invoice_paid": "Invoice paid",
    "invoice_voided": "Invoice voided",
    "payment_succeeded": "Paid an invoice",
    "payment_refused": "Stripe payment refused",
    "payment_refunded": "Payment refunded",
    "checkout_started": "Opened checkout",
    "stripe_keys_saved": "Stripe keys saved",
    "stripe_keys_removed": "Stripe keys removed",
}

#: Sign-ins are recorded before a session exists: the person is the target, not the actor.
SIGN_INS = ("login", "login_google", "invite_accepted")
#: Payments count as client activity whoever recorded them (a webhook, or staff by hand).
PAYMENTS = ("invoice_paid", "payment_succeeded")
#: What the dashboard shows as recent client activity.
CLIENT_ACTIONS = (*SIGN_INS, "deliverable.approved", "deliverable.changes_requested", "deliverable.download",
                  "file_downloaded", "feedback_sent", *PAYMENTS)
#: The Activity page's "who" filter.
ACTORS = {"all": "Everyone", "staff": "Staff", "clients": "Clients"}
PAGE_SIZE = 50
RECENT = 15

_PROJECT = "/studio/projects/{project_id:int}"


def event_label(action: str) -> str:
    return EVENT_LABELS.get(action) or action.replace(".", " ").replace("_", " ").capitalize()


def kind_options() -> list[tuple[str, str]]:
    """The event kinds to filter on, by label."""
    return [("", "All kinds"), *sorted(EVENT_LABELS.items(), key=lambda pair: pair[1])]


def age_label(then: dt.datetime | dt.date | None, now: dt.datetime) -> str:
    """How long ago, in the largest whole unit: "less than a minute", "5 minutes", "3 hours", "2 days"."""
    if then is None:
        return ""
    if not isinstance(then, dt.datetime):
        days = (now.date() - then).days
        return "today" if days <= 0 else ("1 day" if days == 1 else f"{days} days")
    seconds = max(0, int((now - then).total_seconds()))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}" if n == 1 else f"{n} {unit}s"
    return "less than a minute"


@dataclass(frozen=True)
class ActivityFilters:
    kind: str = ""
    actor: str = "all"
    project: int | None = None
    before: int | None = None

    def query(self, **change) -> str:
        values = {"kind": self.kind, "actor": self.actor if self.actor != "all" else "",
                  "project": self.project, "before": self.before, **change}
        return "&".join(f"{key}={value}" for key, value in values.items() if value not in ("", None))


@dataclass(frozen=True)
class ActivityRow:
    id: int
    at: dt.datetime
    who: str
    who_kind: str  # Staff, Client, Visitor, System
    label: str
    subject: str
    href: str
    project_id: int | None
    project_name: str
    ip: str


@dataclass(frozen=True)
class ActivityPage:
    rows: list[ActivityRow]
    filters: ActivityFilters
    older: str  # the query string of the next (older) page, "" on the last one
    projects: list[tuple[int, str]]


@dataclass(frozen=True)
class AttentionItem:
    """One line of a dashboard list: what, where, how long, and the page that deals with it."""

    title: str
    context: str
    age: str
    href: str


@dataclass(frozen=True)
class Dashboard:
    open_feedback: list[AttentionItem]
    open_feedback_count: int
    waiting: list[AttentionItem]
    changes: list[AttentionItem]
    overdue: list[AttentionItem]
    recent: list[ActivityRow]

    @property
    def nothing_waits(self) -> bool:
        return not (self.open_feedback or self.waiting or self.changes or self.overdue)


def project_href(project_id: int, tab: str, routes: frozenset[str]) -> str:
    """The project's ``tab`` page if that route exists, else its overview, else its deliverables."""
    for path in (f"{_PROJECT}/{tab}" if tab else _PROJECT, _PROJECT):
        if path in routes:
            return path.replace("{project_id:int}", str(project_id))
    return f"/studio/projects/{project_id}/deliverables"


def _detail(row: dict) -> dict:
    try:
        detail = json.loads(row["detail"]) if row["detail"] else {}
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


def activity_row(row: dict, *, people: dict[tuple[str, int], str], deliverables: dict[int, dict],
                 projects: dict[int, str], routes: frozenset[str],
                 client_orgs: dict[int, int] | None = None) -> ActivityRow:
    """One audit event for staff: who (a name where known), what, on what, and a link to it."""
    detail = _detail(row)
    kind, person = row["actor_kind"], row["actor_id"]
    if kind in ("staff", "client") and person is not None:
        who = people.get((kind, person)) or row["actor_email"]
    elif row["action"] in SIGN_INS and row["target_type"] in ("staff", "client_user") and row["target_id"]:
        kind, person = ("staff" if row["target_type"] == "staff" else "client"), row["target_id"]
        who = people.get((kind, person)) or row["actor_email"]
    else:
        who = row["actor_email"] or ("Someone not signed in" if kind == "anonymous" else "The system")
    who_kind = {"staff": "Staff", "client": "Client", "anonymous": "Visitor"}.get(kind, "System")

    project_id = row["project"]
    subject, href = "", ""
    target_type, target_id = row["target_type"], row["target_id"]
    if target_type == "deliverable" and target_id in deliverables:
        d = deliverables[target_id]
        subject, project_id = d["title"], d["project"]
        href = f"/studio/projects/{project_id}/deliverables/{target_id}"
    elif target_type == "project_file" and project_id:
        subject, href = str(detail.get("name", "")), f"/studio/projects/{project_id}/files"
    elif row["action"].startswith("feedback_") and detail.get("task_id"):
        subject, href = str(detail.get("subject", "")), f"/studio/inbox/{detail['task_id']}"
    elif row["action"].startswith("inbox_") and target_id:
        href = f"/studio/inbox/{target_id}"
    elif target_type == "invoice":
        subject = str(detail.get("number", ""))
        href = project_href(project_id, "billing", routes) if project_id else ""
    else:
        subject = str(detail.get("name") or detail.get("email") or "")
        if project_id:
            href = project_href(project_id, "", routes)
    organisation = (client_orgs or {}).get(person) if kind == "client" and person is not None else None
    if not href and organisation and "/studio/clients/{org_id:int}" in routes:
        href = f"/studio/clients/{organisation}"
    if not href:
        href = f"/studio/activity?kind={row['action']}" if row["action"] in EVENT_LABELS else ""
    return ActivityRow(
        id=row["id"], at=row["created_at"], who=who, who_kind=who_kind, label=event_label(row["action"]),
        subject=subject, href=href, project_id=project_id, project_name=projects.get(project_id, "") if project_id else "",
        ip=row["ip"],
    )
