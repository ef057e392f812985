"""Server-side sessions in our own table; the cookie holds only a random id."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Literal

from portal import clock
from portal.accounts import queries
from portal.accounts.tables import MANAGERS, ClientUser, StaffMember, UserSession
from portal.accounts.tokens import hash_secret
from portal.errors import Forbidden
from portal.settings import Settings

#: last_seen_at is written at most this often, so reads stay reads.
TOUCH_EVERY = dt.timedelta(minutes=1)

@dataclass(frozen=True)
class Principal:
    """The signed-in person of a request."""

    kind: Literal["staff", "client"]
    user_id: int
    workspace_id: int
    email: str
    name: str
    session_id: int
    role: str = ""
    workspace_name: str = ""
    workspace_slug: str = ""
    #: Staff previewing the portal as this client (no session; nothing recorded as theirs).
    previewed_by: int | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def is_manager(self) -> bool:
        """An owner or admin of the studio: settings, team, billing state."""
        return self.kind == "staff" and self.role in MANAGERS


def ensure_manager(staff: Principal, action: str) -> None:
    """Refuse (403) what only owners and admins may do; ``action`` completes "Only owners
    and admins can ..."."""
    if not staff.is_manager:
        raise Forbidden(f"Only owners and admins can {action}.")


def cookie_name(settings: Settings) -> str:
    return "__Host-portal_session" if settings.is_https else "portal_session"


async def create_session(
    settings: Settings,
    *,
    workspace_id: int,
    staff_id: int | None = None,
    client_user_id: int | None = None,
    ip: str = "",
    user_agent: str = "",
) -> str:
    """Start a session with a brand-new random id and return that id (for the cookie)."""
    raw = secrets.token_urlsafe(32)
    current = clock.now()
    await UserSession.insert(
        UserSession(
            id_hash=hash_secret(raw),
            workspace=workspace_id,
            staff=staff_id,
            client_user=client_user_id,
            created_at=current,
            last_seen_at=current,
            expires_at=current + dt.timedelta(days=settings.session_max_days),
            ip=ip[:45],
            user_agent=user_agent[:500],
        )
    )
    if staff_id:
        await StaffMember.update({StaffMember.last_login_at: current}).where(StaffMember.id == staff_id)
    else:
        await ClientUser.update({ClientUser.last_login_at: current}).where(ClientUser.id == client_user_id)
    return raw


async def load_session(settings: Settings, raw: str | None) -> Principal | None:
    """The principal of a live session, or None (unknown, idle too long, expired, inactive)."""
    if not raw or len(raw) > 100:
        return None
    row = await queries.session_by_hash(hash_secret(raw))
    if row is None:
        return None
    current = clock.now()
    idle_limit = dt.timedelta(minutes=settings.session_idle_minutes)
    if row["expires_at"] <= current or row["last_seen_at"] + idle_limit <= current:
        await UserSession.delete().where(UserSession.id == row["id"])
        return None
    if row["staff"]:
        if not row["staff.active"]:
            return None
        principal = Principal("staff", row["staff"], row["workspace"], row["staff.email"], row["staff.name"], row["id"],
                              row["staff.role"], row["workspace.name"], row["workspace.slug"])
    else:
        if not row["client_user.active"]:
            return None
        principal = Principal("client", row["client_user"], row["workspace"], row["client_user.email"],
                              row["client_user.name"], row["id"], "", row["workspace.name"], row["workspace.slug"])
    if current - row["last_seen_at"] > TOUCH_EVERY:
        await UserSession.update({UserSession.last_seen_at: current}).where(UserSession.id == row["id"])
    return principal


async def end_session(raw: str | None) -> None:
    if raw:
        await UserSession.delete().where(UserSession.id_hash == hash_secret(raw))


async def end_all_sessions(*, staff_id: int | None = None, client_user_id: int | None = None) -> None:
    """Sign a person out everywhere (logout everywhere, revocation, removal)."""
    if staff_id:
        await UserSession.delete().where(UserSession.staff == staff_id)
    if client_user_id:
        await UserSession.delete().where(UserSession.client_user == client_user_id)
