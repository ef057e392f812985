"""One-time login tokens (magic links and invites): random, hashed, single use."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from portal import clock
from portal.accounts.tables import TOKEN_PURPOSES, ClientUser, LoginToken, StaffMember
from portal.db import engine, for_update


def hash_secret(raw: str) -> str:
    """SHA-256 hex of a token or session id: only this is ever stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class TokenOwner:
    workspace_id: int
    staff_id: int | None
    client_user_id: int | None
    purpose: str


async def issue_token(
    *,
    workspace_id: int,
    staff_id: int | None = None,
    client_user_id: int | None = None,
    purpose: str = "login",
    lifetime: dt.timedelta,
    project_id: int | None = None,
) -> str:
    """Create a token for one person and return the raw value (256 random bits).

    A new token voids the person's older unused tokens of the same kind: a login link
    their older login links; a client's invite their older invites to the same project
    (``project_id``); a staff invite the staff member's older invites.
    """
    if (staff_id is None) == (client_user_id is None):
        raise ValueError("a token belongs to exactly one person: give staff_id or client_user_id")
    if purpose not in TOKEN_PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if project_id is not None and (purpose != "invite" or client_user_id is None):
        raise ValueError("only a client's invite names a project")
    raw = secrets.token_urlsafe(32)
    current = clock.now()
    owner = LoginToken.staff == staff_id if staff_id is not None else LoginToken.client_user == client_user_id
    older = [owner, LoginToken.purpose == purpose, LoginToken.used_at.is_null()]
    if purpose == "invite" and client_user_id is not None:
        # Invites to other projects stay valid; so do old invites that named no project.
        older.append(LoginToken.project_id == project_id if project_id is not None else LoginToken.project_id.is_null())
    async with engine().write_transaction():
        # The person's row locked first (PostgreSQL; SQLite's write transaction is already
        # alone): two links made at once for one person must not both stay valid.
        person = StaffMember.select(StaffMember.id).where(StaffMember.id == staff_id) if staff_id is not None \
            else ClientUser.select(ClientUser.id).where(ClientUser.id == client_user_id)
        await for_update(person)
        await LoginToken.update({LoginToken.used_at: current}).where(*older)
        await LoginToken.insert(
            LoginToken(
                workspace=workspace_id,
                token_hash=hash_secret(raw),
                purpose=purpose,
                staff=staff_id,
                client_user=client_user_id,
                project_id=project_id,
                created_at=current,
                expires_at=current + lifetime,
            )
        )
    return raw


def _of_workspace(workspace_id: int | None):
    return LoginToken.workspace == workspace_id if workspace_id is not None else LoginToken.id > 0


async def peek_token(raw: str, workspace_id: int | None) -> TokenOwner | None:
    """Whether ``raw`` is a usable token (of this workspace, if given); consumes nothing."""
    row = await LoginToken.select().where(
        LoginToken.token_hash == hash_secret(raw), _of_workspace(workspace_id)
    ).first()
    if not row or row["used_at"] is not None or row["expires_at"] <= clock.now():
        return None
    return TokenOwner(row["workspace"], row["staff"], row["client_user"], row["purpose"])


async def consume_token(raw: str, workspace_id: int | None) -> TokenOwner | None:
    """Mark the token used and return its owner, or None if it is unknown, used or expired.

    The conditional UPDATE ... RETURNING makes concurrent redemptions race to one winner.
    """
    current = clock.now()
    rows = await LoginToken.update({LoginToken.used_at: current}).where(
        LoginToken.token_hash == hash_secret(raw),
        _of_workspace(workspace_id),
        LoginToken.used_at.is_null(),
        LoginToken.expires_at > current,
    ).returning(LoginToken.workspace, LoginToken.staff, LoginToken.client_user, LoginToken.purpose)
    if not rows:
        return None
    row = rows[0]
    return TokenOwner(row["workspace"], row["staff"], row["client_user"], row["purpose"])
