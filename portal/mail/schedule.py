"""Jobs of the whole installation run once per period, whichever process or replica the
background loop runs in (``ScheduledRun``): the scheduled backup.

``claim`` makes the job's row on first use (due at ``first_due``), then moves its due time
one period on with a conditional update; of the processes that ask at once, only the one
whose update changed the row runs the job (the same on SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt

from portal import clock
from portal.mail.tables import ScheduledRun


async def claim(name: str, every: dt.timedelta, first_due: dt.datetime, by: str = "") -> bool:
    """True when this process is to run job ``name`` now (it is due, and no other took it)."""
    now = clock.now()
    await ScheduledRun.insert(ScheduledRun(name=name, next_due_at=first_due)).on_conflict(
        target=ScheduledRun.name, action="DO NOTHING")
    taken = await ScheduledRun.update({
        ScheduledRun.next_due_at: now + every, ScheduledRun.last_started_at: now, ScheduledRun.last_started_by: by[:64],
    }).where((ScheduledRun.name == name) & (ScheduledRun.next_due_at <= now)).returning(ScheduledRun.id)
    return bool(taken)
