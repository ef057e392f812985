"""Installation-wide jobs are claimed once per period (``portal.mail.schedule``)."""

from __future__ import annotations

import asyncio
import datetime as dt

from portal import clock
from portal.mail import schedule
from portal.mail.tables import ScheduledRun

HOUR = dt.timedelta(hours=1)


async def test_a_job_is_claimed_when_due_and_then_not_again_until_its_period_has_passed(db, monkeypatch):
    start = clock.now()
    assert not await schedule.claim("backup", HOUR, first_due=start + dt.timedelta(minutes=30))  # not due yet
    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(minutes=31))
    assert await schedule.claim("backup", HOUR, first_due=start, by="host-a:1")
    row = await ScheduledRun.select().where(ScheduledRun.name == "backup").first()
    assert row["last_started_by"] == "host-a:1"
    assert row["next_due_at"] == start + dt.timedelta(minutes=91)
    assert not await schedule.claim("backup", HOUR, first_due=start)  # its first_due no longer counts
    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(minutes=91))
    assert await schedule.claim("backup", HOUR, first_due=start, by="host-b:2")
    assert not await schedule.claim("other", HOUR, first_due=start + 2 * HOUR)  # each job its own row
    assert await ScheduledRun.count() == 2


async def test_of_many_processes_asking_at_once_one_runs_the_job(db):
    answers = await asyncio.gather(*(schedule.claim("backup", HOUR, clock.now(), by=f"p{n}") for n in range(8)))
    assert sorted(answers) == [False] * 7 + [True]
