"""Recording audit events: logins, invites, approvals, payments, downloads, settings."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request

from portal.accounts.sessions import Principal
from portal.audit.tables import AuditEvent


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
        )
    )
