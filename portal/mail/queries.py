"""The mail area's plain SQL: claiming due messages for a worker, which Piccolo's query
builder cannot write (``CASE`` updates, ``SKIP LOCKED``).
"""

from __future__ import annotations

import datetime as dt

from portal.mail.tables import OutboxMessage

_DUE = "(status = 'pending' AND next_attempt_at <= {}) OR (status = 'sending' AND claimed_at < {})"
_CLAIM = """
UPDATE outbox_message SET
    attempts = CASE WHEN status = 'sending' THEN attempts + 1 ELSE attempts END,
    last_error = CASE WHEN status = 'sending' THEN {} ELSE last_error END,
    status = 'sending', claimed_by = {}, claimed_at = {}
WHERE id IN (SELECT id FROM outbox_message WHERE %s ORDER BY id LIMIT {}%s)
RETURNING id
"""


async def claim_due_messages(worker_id: str, now: dt.datetime, stale_before: dt.datetime, batch: int,
                             stale_error: str, *, skip_locked: bool) -> list[int]:
    """Mark up to ``batch`` due messages (pending and due, or claimed before
    ``stale_before`` by a worker that stopped) as sending by ``worker_id``; their ids.
    Runs inside the caller's write transaction."""
    sql = _CLAIM % (_DUE, " FOR UPDATE SKIP LOCKED" if skip_locked else "")
    rows = await OutboxMessage.raw(sql, stale_error, worker_id, now, now, stale_before, batch)
    return [row["id"] for row in rows]
