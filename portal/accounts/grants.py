"""A client's standing in a workspace: live, expired (since when) or without access."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal import clock
from portal.projects.tables import ProjectAccess


@dataclass(frozen=True)
class AccessState:
    live: bool
    ended_on: dt.date | None  # the last expiry date when every grant has expired


async def access_state(workspace_id: int, client_user_id: int) -> AccessState:
    """One query: whether the client holds any live grant, else when access ended."""
    rows = await ProjectAccess.select(ProjectAccess.expires_on, ProjectAccess.revoked_at).where(
        ProjectAccess.workspace == workspace_id, ProjectAccess.client_user == client_user_id
    )
    today = clock.today()
    live = [r for r in rows if r["revoked_at"] is None and (r["expires_on"] is None or r["expires_on"] >= today)]
    if live:
        return AccessState(True, None)
    expired = [r["expires_on"] for r in rows if r["revoked_at"] is None and r["expires_on"] is not None]
    return AccessState(False, max(expired) if expired else None)
