"""Delivering the outbox: claim due rows atomically, send (or log) them, record the outcome.

Every server process runs one ``OutboxWorker``. Workers share nothing but the database:
a row is claimed by one ``UPDATE ... RETURNING`` (inside an IMMEDIATE transaction on
SQLite, with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so no two processes ever hold the
same message. A row left in ``sending`` by a worker that died is claimed again after
``STALE_CLAIM``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from portal import clock
from portal.accounts import ratelimit
from portal.db import engine
from portal.mail import outbox, queries
from portal.mail.smtp import Outgoing, SmtpConnection, ends_session, is_permanent
from portal.mail.tables import OutboxMessage
from portal.settings import Settings

log = logging.getLogger("portal.mail")

#: Wait before attempt 2, 3, ... after a failure; after the last one the row is failed.
BACKOFF = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=6),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
STALE_CLAIM = dt.timedelta(minutes=10)
POLL_SECONDS = 2.0
#: How often the loop also does housekeeping (pruning old rate-limit hits).
HOUSEKEEPING_SECONDS = 600.0

#: Background work of other areas run by the loop each round, before delivery: given the
#: settings, it does what is due (claimed atomically, as the outbox is) and returns how
#: many items it handled. Email it queues is then delivered in the same round.
Job = Callable[[Settings], Awaitable[int]]
#: Occasional clean-up run with the loop's housekeeping.
Housekeeping = Callable[[], Awaitable[Any]]

_STALE_ERROR = "The worker sending this message stopped before it finished; sending again."


def new_worker_id() -> str:
    """A name for this process's worker, shown in ``claimed_by``: host, pid, random."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


async def claim_due(settings: Settings, worker_id: str, batch: int = 20) -> list[int]:
    """Mark up to ``batch`` due messages as ``sending`` by ``worker_id``; their ids."""
    now = clock.now()
    async with engine().write_transaction():
        ids = await queries.claim_due_messages(worker_id, now, now - STALE_CLAIM, batch, _STALE_ERROR,
                                               skip_locked=not settings.is_sqlite)
    return sorted(ids)


async def has_due() -> bool:
    """A cheap read (no write lock) that tells whether claiming is worth it."""
    now = clock.now()
    return await OutboxMessage.exists().where(
        ((OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now))
        | ((OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - STALE_CLAIM))
    )


async def deliver_due(settings: Settings, worker_id: str, batch: int = 20) -> int:
    """Claim due messages and send them (or log them without ``SMTP_URL``).

    Returns how many messages this call claimed (sent, logged or failed).
    """
    ids = await claim_due(settings, worker_id, batch)
    if not ids:
        return 0
    rows = await OutboxMessage.select().where(OutboxMessage.id.is_in(ids)).order_by(OutboxMessage.id)
    done: set[int] = set()
    try:
        if settings.smtp_url is None:
            for row in rows:
                _log_message(row)
                await _finish(row, worker_id, status="logged", attempts=row["attempts"])
                done.add(row["id"])
        else:
            await _send_all(settings, worker_id, rows, done)
    finally:
        # Stopped half-way (shutdown): hand the rest back instead of waiting for STALE_CLAIM.
        rest = [i for i in ids if i not in done]
        if rest:
            await OutboxMessage.update(
                {OutboxMessage.status: "pending", OutboxMessage.claimed_by: None, OutboxMessage.claimed_at: None}
            ).where(OutboxMessage.id.is_in(rest) & (OutboxMessage.claimed_by == worker_id))
    return len(ids)


async def _send_all(settings: Settings, worker_id: str, rows: list[dict], done: set[int]) -> None:
    reply_to: dict[int | None, str] = {}
    session_error: Exception | None = None
    async with SmtpConnection(settings) as smtp:
        for row in rows:
            if session_error is not None:
                # The server is unreachable or refused us: the rest of the batch waits too,
                # without a connection timeout each (that could outlast STALE_CLAIM).
                await _failed(row, worker_id, session_error)
                done.add(row["id"])
                continue
            workspace = row["workspace"]
            if workspace not in reply_to:
                reply_to[workspace] = await _reply_to(settings, workspace)
            try:
                await smtp.send(_outgoing(row, reply_to[workspace]))
            except Exception as exc:
                await _failed(row, worker_id, exc)
                if ends_session(exc):
                    session_error = exc
            else:
                await _finish(row, worker_id, status="sent", attempts=row["attempts"] + 1)
            done.add(row["id"])


async def _reply_to(settings: Settings, workspace: int | None) -> str:
    """The workspace's support address (full branding only), so replies reach people."""
    if not workspace:
        return ""
    try:
        return (await outbox.branding(settings, workspace))["support_email"]
    except Exception:  # a missing Reply-To must never hold the mail back
        log.exception("No Reply-To for workspace %s", workspace)
        return ""


def _outgoing(row: dict[str, Any], reply_to: str) -> Outgoing:
    return Outgoing(
        id=row["id"], to=row["to_address"], from_name=row["from_name"], subject=row["subject"],
        text=row["text_body"], html=row["html_body"], created_at=row["created_at"], reply_to=reply_to,
    )


def _log_message(row: dict[str, Any]) -> None:
    log.info(
        "Email not sent (SMTP_URL is not set), kept in the outbox as #%s.\nFrom: %s\nTo: %s\nSubject: %s\n\n%s",
        row["id"], row["from_name"], row["to_address"], row["subject"], row["text_body"],
    )


async def _finish(row: dict[str, Any], worker_id: str, *, status: str, attempts: int) -> None:
    await OutboxMessage.update(
        {
            OutboxMessage.status: status,
            OutboxMessage.attempts: attempts,
            OutboxMessage.sent_at: clock.now(),
            OutboxMessage.claimed_by: None,
            OutboxMessage.claimed_at: None,
            OutboxMessage.last_error: "",
        }
    ).where((OutboxMessage.id == row["id"]) & (OutboxMessage.claimed_by == worker_id))


async def _failed(row: dict[str, Any], worker_id: str, exc: Exception) -> None:
    attempts = row["attempts"] + 1
    error = f"{type(exc).__name__}: {exc}".strip()[:2000]
    give_up = attempts >= MAX_ATTEMPTS or is_permanent(exc)
    values: dict = {
        OutboxMessage.status: "failed" if give_up else "pending",
        OutboxMessage.attempts: attempts,
        OutboxMessage.last_error: error,
        OutboxMessage.claimed_by: None,
        OutboxMessage.claimed_at: None,
    }
    if not give_up:
        values[OutboxMessage.next_attempt_at] = clock.now() + BACKOFF[attempts - 1]
    await OutboxMessage.update(values).where((OutboxMessage.id == row["id"]) & (OutboxMessage.claimed_by == worker_id))
    log.warning(
        "Email #%s to %s failed (attempt %s of %s%s): %s",
        row["id"], row["to_address"], attempts, MAX_ATTEMPTS, ", giving up" if give_up else "", error,
    )


class OutboxWorker:
    """The background task of one server process: deliver, then sleep until woken or polled.

    ``enqueue_email`` in the same process wakes it at once (``outbox.ENQUEUE_HOOKS``);
    messages queued by other processes are found by polling every ``poll_seconds``.
    ``jobs`` (other areas' background steps, e.g. turning sign-in requests into emails)
    run at the start of every round and ``housekeeping`` with the loop's own; the mail
    area knows nothing about them beyond their signatures.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        worker_id: str | None = None,
        poll_seconds: float = POLL_SECONDS,
        batch: int = 20,
        jobs: Sequence[Job] = (),
        housekeeping: Sequence[Housekeeping] = (),
    ) -> None:
        self.settings = settings
        self.worker_id = worker_id or new_worker_id()
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.jobs = list(jobs)
        self.housekeeping = list(housekeeping)
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    def start(self) -> None:
        """Start the loop as a task of the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name=f"outbox-worker {self.worker_id}")
        outbox.ENQUEUE_HOOKS.append(self.wake)

    def wake(self) -> None:
        """Deliver now rather than at the next poll (safe from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the current batch (at most ``timeout`` seconds), then end the task."""
        if self.wake in outbox.ENQUEUE_HOOKS:
            outbox.ENQUEUE_HOOKS.remove(self.wake)
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        next_housekeeping = 0.0
        while not self._stopping:
            self._wake.clear()
            wait = self.poll_seconds
            try:
                if time.monotonic() >= next_housekeeping:
                    # The background loop every worker process has anyway also forgets
                    # old rate-limit hits (and what the areas' housekeeping prunes), so
                    # those tables stay small.
                    await ratelimit.prune()
                    for prune in self.housekeeping:
                        await prune()
                    next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
                more = await self._run_jobs()
                if await has_due() and await deliver_due(self.settings, self.worker_id, self.batch) >= self.batch:
                    more = True
                if more:
                    continue  # a full batch: more may be due right now
            except Exception:
                log.exception("Outbox worker %s: a delivery round failed; trying again shortly", self.worker_id)
                wait = self.poll_seconds * 5
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except TimeoutError:
                pass

    async def _run_jobs(self) -> bool:
        """Run each job once; True when one handled a full batch (it may have more)."""
        more = False
        for job in self.jobs:
            try:
                if await job(self.settings) >= self.batch:
                    more = True
            except Exception:
                # One area's failure must not hold the mail back.
                log.exception("Outbox worker %s: background job %s failed", self.worker_id,
                              getattr(job, "__qualname__", job))
        return more
