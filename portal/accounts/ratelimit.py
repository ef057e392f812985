"""Sliding-window rate limits kept in the database (shared by every worker process)."""

from __future__ import annotations

import datetime as dt

from portal import clock
from portal.accounts.tables import RateLimitHit
from portal.errors import RateLimited

WINDOW = dt.timedelta(minutes=15)


def too_many_attempts() -> RateLimited:
    minutes = int(WINDOW.total_seconds() // 60)
    return RateLimited(f"Too many attempts. Please wait {minutes} minutes and try again.",
                       retry_after=int(WINDOW.total_seconds()))


async def hit(key: str, limit: int) -> bool:
    """Count one attempt under ``key``; False when the window already holds ``limit``."""
    current = clock.now()
    recent = await RateLimitHit.count().where(RateLimitHit.key == key, RateLimitHit.created_at > current - WINDOW)
    if recent >= limit:
        return False
    await RateLimitHit.insert(RateLimitHit(key=key, created_at=current))
    return True


async def check(limits: list[tuple[str, int]]) -> None:
    """Count an attempt under each (key, limit); raise ``RateLimited`` if any is over."""
    allowed = [await hit(key, limit) for key, limit in limits]
    if not all(allowed):
        raise too_many_attempts()


async def prune() -> None:
    """Forget hits older than the window (called now and then by the outbox worker loop)."""
    await RateLimitHit.delete().where(RateLimitHit.created_at < clock.now() - WINDOW)
