"""The shape of a client organisation's export: ``data.json``'s records and the ZIP's paths.

Pure shaping, no queries: ``portal.privacy.export`` reads the rows and hands them here.
Every record is built field by field from what the client saw in the portal (or from the
person's own records: sign-ins, sessions, access), so a column added to a table later
never reaches an export by accident.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from portal.feedback.views import CLIENT_STATUS

#: What stands in for a deleted person's email and name in the audit trail and the
#: records of other organisations that keep them.
DELETED_CLIENT = "deleted client"
#: Longest path component in the ZIP (names are cut, their ids keep them apart).
PART_MAX = 80
_UNSAFE_PART = re.compile(r'[\\/:*?"<>|]+')
_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Entry:
    """One stored file to put into the ZIP: where, which blob, and what the database says of it."""

    path: str
    sha256: str
    size: int
    modified: dt.datetime | None


def archive_filename(organisation_name: str, day: dt.date) -> str:
    """``northwind-traders-export-2026-12-04.zip``: ASCII, lowercase, no path or quote characters."""
    ascii_name = unicodedata.normalize("NFKD", organisation_name).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_UNSAFE.sub("-", ascii_name.lower()).strip("-")[:60].strip("-") or "client"
    return f"{slug}-export-{day.isoformat()}.zip"


def safe_part(text: str, limit: int = PART_MAX) -> str:
    """A readable path component: no slashes, control characters or leading dots."""
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = " ".join(_UNSAFE_PART.sub("-", text).split()).strip(" .-")
    return text[:limit].strip(" .") or "untitled"


def project_dir(project: dict) -> str:
    return f"projects/{project['id']} {safe_part(project['name'])}"


def version_path(project: dict, deliverable: dict, version: dict) -> str:
    return (f"{project_dir(project)}/deliverables/{deliverable['id']} {safe_part(deliverable['title'])}"
            f"/v{version['number']} {safe_part(version['filename'], 120)}")


def file_path(project: dict, row: dict) -> str:
    return f"{project_dir(project)}/files/{row['id']} {safe_part(row['name'], 120)}"


def _at(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _decimal(value: Decimal | int | str) -> str:
    """A quantity or rate with its two decimals, the same on both engines ("2.00")."""
    return f"{Decimal(str(value)):.2f}"


def organisation_record(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "created_at": _at(row["created_at"]),
            "archived_at": _at(row["archived_at"])}


def person_record(row: dict, grants: list[dict], sessions: list[dict], sign_ins: list[dict]) -> dict:
    """A person of the organisation with their own records: access, signed-in browsers, sign-ins."""
    return {
        "id": row["id"], "name": row["name"], "email": row["email"], "active": row["active"],
        "added_at": _at(row["created_at"]), "last_sign_in_at": _at(row["last_login_at"]),
        "google_sign_in_linked": bool(row["oidc_subject"]),
        "access": [{"project_id": g["project"], "project": g["project_name"], "invited_at": _at(g["invited_at"]),
                    "accepted_at": _at(g["accepted_at"]), "expires_on": _at(g["expires_on"]),
                    "revoked_at": _at(g["revoked_at"])} for g in grants],
        "signed_in_browsers": [{"since": _at(s["created_at"]), "last_seen_at": _at(s["last_seen_at"]),
                                "ends_at": _at(s["expires_at"]), "ip": s["ip"], "browser": s["user_agent"]}
                               for s in sessions],
        "sign_ins": [{"at": _at(e["created_at"]), "how": _sign_in_method(e), "ip": e["ip"], "browser": e["user_agent"]}
                     for e in sign_ins],
    }


def _sign_in_method(event: dict) -> str:
    if event["action"] == "login_google":
        return "Google"
    return "invitation link" if event["action"] == "invite_accepted" else "sign-in link"


def milestone_record(view: Any) -> dict:
    """A milestone as the Progress tab shows it (``portal.projects.progress.MilestoneView``)."""
    return {"name": view.name, "due_date": _at(view.due_date), "done": view.done}


def project_record(row: dict, percent_done: int, milestones: list[dict]) -> dict:
    return {"id": row["id"], "name": row["name"], "description": row["description"], "status": row["status"],
            "start_date": _at(row["start_date"]), "due_date": _at(row["due_date"]),
            "created_at": _at(row["created_at"]), "percent_done": percent_done, "milestones": milestones,
            "deliverables": [], "files": [], "feedback": [], "invoices": []}


def version_record(row: dict, path: str) -> dict:
    return {"number": row["number"], "filename": row["filename"], "content_type": row["content_type"],
            "size": row["size"], "sha256": row["content_sha256"], "note": row["note"],
            "uploaded_at": _at(row["created_at"]), "path": path}


def decision_record(row: dict) -> dict:
    return {"version": row["number"], "decision": row["decision"], "by": row["name"] or row["actor_email"],
            "email": row["actor_email"], "comment": row["comment"], "sha256": row["content_sha256"],
            "ip": row["ip"], "browser": row["user_agent"], "at": _at(row["created_at"])}


def comment_record(row: dict) -> dict:
    """A message of a deliverable's thread, signed as the portal signs it."""
    author = row["staff_name"] or row["client_name"] or row["client_email"] or "Team"
    return {"at": _at(row["created_at"]), "from": "client" if row["client_user"] else "team", "author": author,
            "version": row["number"], "body": row["body"]}


def deliverable_record(row: dict, versions: list[dict], decisions: list[dict], comments: list[dict]) -> dict:
    return {"id": row["id"], "title": row["title"], "description": row["description"], "status": row["status"],
            "current_version": row["current_version"], "ready_at": _at(row["ready_at"]),
            "approved_at": _at(row["approved_at"]), "versions": versions, "decisions": decisions,
            "conversation": sorted(comments, key=lambda c: c["at"] or "")}


def shared_file_record(row: dict, path: str) -> dict:
    return {"id": row["id"], "name": row["name"], "content_type": row["content_type"], "size": row["size"],
            "sha256": row["sha256"], "added_at": _at(row["created_at"]), "path": path}


def feedback_record(row: dict, replies: list[dict]) -> dict:
    """A feedback message with the status its client sees (never the task behind it) and the replies."""
    _, label = CLIENT_STATUS.get(row["task_status"] or "todo", CLIENT_STATUS["todo"])
    return {"id": row["id"], "subject": row["subject"], "body": row["body"], "at": _at(row["created_at"]),
            "from": row["client_name"] or row["author_email"], "email": row["author_email"], "status": label,
            "replies": [{"from": r["author_name"], "body": r["body"], "at": _at(r["created_at"])} for r in replies]}


def invoice_record(row: dict, lines: list[dict], payments: list[dict], today: dt.date) -> dict:
    """An invoice as its client sees it: amounts in minor units (cents) of ``currency``."""
    overdue = row["status"] == "sent" and row["due_date"] < today
    return {
        "number": row["number"], "status": "overdue" if overdue else row["status"], "currency": row["currency"],
        "issue_date": _at(row["issue_date"]), "due_date": _at(row["due_date"]),
        "subtotal_cents": row["subtotal_cents"], "tax_cents": row["tax_cents"], "total_cents": row["total_cents"],
        "notes": row["notes"], "sent_at": _at(row["sent_at"]), "paid_at": _at(row["paid_at"]),
        "lines": [{"description": li["description"], "quantity": _decimal(li["quantity"]),
                   "unit_price_cents": li["unit_amount_cents"], "net_cents": li["amount_cents"],
                   "tax_rate_percent": _decimal(li["tax_rate"]), "tax_cents": li["tax_cents"]}
                  for li in sorted(lines, key=lambda li: (li["position"], li["id"]))],
        "payments": [{"amount_cents": p["amount_cents"], "currency": p["currency"], "by": p["provider"],
                      "status": p["status"], "started_at": _at(p["created_at"]), "completed_at": _at(p["completed_at"]),
                      "refunded_cents": p["refunded_cents"]} for p in payments],
    }
