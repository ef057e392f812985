"""One-time login tokens (magic links and invites): random, hashed, single use."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from portal import clock
from portal.accounts.tables import LoginToken
from portal.db import engine


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
) -> str:
    """Create a token for one person and return the raw value (256 random bits).

    A new login token voids the person's older unused login tokens.
    """
    assert (staff_id is None) != (client_user_id is None)
    raw = secrets.token_urlsafe(32)
    current = clock.now()
    owner = LoginToken.staff == staff_id if staff_id else LoginToken.client_user == client_user_id
    async with engine().write_transaction():
        if purpose == "login":
            await LoginToken.update({LoginToken.used_at: current}).where(
                owner, LoginToken.purpose == "login", LoginToken.used_at.is_null()
            )
        await LoginToken.insert(
            LoginToken(
                workspace=workspace_id,
                token_hash=hash_secret(raw),
                purpose=purpose,
                staff=staff_id,
                client_user=client_user_id,
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
