"""The accounts area's plain SQL: the session lookup of every signed-in request, and the
claim of a sign-in request, which Piccolo's query builder cannot write (``SKIP LOCKED``).

Column names are Piccolo's own (see the tables).
"""

from __future__ import annotations

import datetime as dt

from portal.accounts.tables import SignInRequest
from portal.db import fetch

#: Every signed-in request runs this. Written as SQL because Piccolo needs about 0.7 ms
#: of CPU to build this three-join select each time (bench/profile_tab.py), more than
#: the rest of a typical page's queries together; column names are Piccolo's own.
SESSION_SQL = """
SELECT s.id, s.workspace, s.staff, s.client_user, s.last_seen_at, s.expires_at,
       st.email AS "staff.email", st.name AS "staff.name", st.role AS "staff.role", st.active AS "staff.active",
       cu.email AS "client_user.email", cu.name AS "client_user.name", cu.active AS "client_user.active",
       w.name AS "workspace.name", w.slug AS "workspace.slug"
FROM user_session s
JOIN workspace w ON w.id = s.workspace
LEFT JOIN staff_member st ON st.id = s.staff
LEFT JOIN client_user cu ON cu.id = s.client_user
WHERE s.id_hash = {}
"""

_CLAIM = """
UPDATE sign_in_request SET processed_at = {}
WHERE processed_at IS NULL
  AND id = (SELECT id FROM sign_in_request WHERE processed_at IS NULL ORDER BY id LIMIT 1%s)
RETURNING id, area, workspace, email
"""


async def session_by_hash(id_hash: str) -> dict | None:
    """The session with this id hash, with its person and workspace, or None."""
    rows = await fetch(SESSION_SQL, id_hash)
    return rows[0] if rows else None


async def claim_sign_in_request(now: dt.datetime, *, skip_locked: bool) -> dict | None:
    """Mark the oldest pending sign-in request processed and return it (inside the
    caller's write transaction); ``skip_locked`` on PostgreSQL, where several workers
    may claim at once."""
    rows = await SignInRequest.raw(_CLAIM % (" FOR UPDATE SKIP LOCKED" if skip_locked else ""), now)
    return rows[0] if rows else None
