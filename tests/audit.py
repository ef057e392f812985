"""Reading the audit log in tests: the events of one action, oldest first, detail parsed."""

from __future__ import annotations

import json

from portal.audit.tables import AuditEvent


async def events(action: str) -> list[dict]:
    rows = await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)
    return [{**row, "detail": json.loads(row["detail"]) if row["detail"] else {}} for row in rows]


async def only_event(action: str) -> dict:
    found = await events(action)
    assert len(found) == 1, f"{len(found)} {action} events"
    return found[0]


def who(event: dict) -> tuple:
    """(workspace, actor kind, actor id, whether the request's address and agent were kept)."""
    return event["workspace"], event["actor_kind"], event["actor_id"], bool(event["ip"] and event["user_agent"])
