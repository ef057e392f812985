"""Email delivery: the outbox worker against a real SMTP server (aiosmtpd).

Each test queues mail with ``enqueue_email`` (as the identity flows do) and runs the
worker's ``deliver_due``; the SMTP server is real and listens on a free local port.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import email
import email.policy
import logging
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from portal import clock
from portal.mail.outbox import enqueue_email
from portal.mail.smtp import parse_smtp_url
from portal.mail.tables import OutboxMessage
from portal.mail.worker import BACKOFF, MAX_ATTEMPTS, STALE_CLAIM, OutboxWorker, deliver_due
from tests.factories import make_workspace

INVITE = {
    "link_url": "http://127.0.0.1:8000/p/acme/login/INVITE-TOKEN-123",
    "days": 7,
    "project_name": "Northwind website",
    "inviter_name": "Olivia Owner",
    "recipient_name": "Alice Andrews",
    "expires_on": dt.date(2026, 3, 5),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []
        self.lock = threading.Lock()
        #: Set when a message arrives (the server runs in its own thread: a threading.Event).
        self.received = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.envelopes.append(envelope)
            self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        self.received.set()
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
async def workspace(db) -> int:
    return await make_workspace(sender_name="Acme Client Team")  # support email: help@acme.example


def with_smtp(settings, url: str | None):
    return dataclasses.replace(settings, smtp_url=url)


async def queue_invite(settings, workspace: int, to: str = "alice@northwind.example") -> int:
    return await enqueue_email(settings, workspace_id=workspace, to=to, template="invite", context=INVITE, to_client=True)


async def row(message_id: int) -> dict:
    return await OutboxMessage.select().where(OutboxMessage.id == message_id).first()


async def test_it_sends_a_branded_two_part_email(settings, workspace, smtp_server):
    controller, inbox = smtp_server
    smtp = with_smtp(settings, f"smtp+plain://127.0.0.1:{controller.port}")
    message_id = await queue_invite(smtp, workspace)

    assert await deliver_due(smtp, "worker-1") == 1

    assert len(inbox.messages) == 1
    received = inbox.messages[0]
    assert received["From"].addresses[0].display_name == "Acme Client Team"
    assert received["From"].addresses[0].addr_spec == settings.mail_from
    assert received["To"] == "alice@northwind.example"
    assert received["Reply-To"] == "help@acme.example"
    assert received["Subject"] == "Olivia Owner invited you to Northwind website"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["Message-ID"].startswith(f"<outbox.{message_id}.")
    assert received["Date"]
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "http://127.0.0.1:8000/p/acme/login/INVITE-TOKEN-123" in text
    assert 'href="http://127.0.0.1:8000/p/acme/login/INVITE-TOKEN-123"' in html
    assert "Open your portal" in html and "5 March 2026" in text
    assert inbox.envelopes[0].mail_from == settings.mail_from
    assert inbox.envelopes[0].rcpt_tos == ["alice@northwind.example"]

    stored = await row(message_id)
    assert stored["status"] == "sent" and stored["attempts"] == 1 and stored["sent_at"] is not None
    assert stored["claimed_by"] is None
    # Nothing is due any more: a second round sends nothing.
    assert await deliver_due(smtp, "worker-1") == 0
    assert len(inbox.messages) == 1


async def test_smtp_down_schedules_a_retry_with_backoff(settings, workspace):
    smtp = with_smtp(settings, f"smtp+plain://127.0.0.1:{free_port()}")  # nothing listens there
    message_id = await queue_invite(smtp, workspace)
    before = clock.now()

    assert await deliver_due(smtp, "worker-1") == 1

    stored = await row(message_id)
    assert stored["status"] == "pending"
    assert stored["attempts"] == 1
    assert stored["next_attempt_at"] >= before + BACKOFF[0]
    assert stored["last_error"]
    assert stored["claimed_by"] is None
    # Not due yet: the next round leaves it alone.
    assert await deliver_due(smtp, "worker-1") == 0
    assert (await row(message_id))["attempts"] == 1


async def test_it_gives_up_after_the_last_attempt(settings, workspace, monkeypatch):
    smtp = with_smtp(settings, f"smtp+plain://127.0.0.1:{free_port()}")
    message_id = await queue_invite(smtp, workspace)
    start = clock.now()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        # Move the clock past every backoff so far.
        later = start + sum(BACKOFF[: attempt - 1], dt.timedelta()) + dt.timedelta(seconds=attempt)
        monkeypatch.setattr(clock, "now", lambda later=later: later)
        assert await deliver_due(smtp, "worker-1") == 1
        stored = await row(message_id)
        assert stored["attempts"] == attempt
        assert stored["status"] == ("failed" if attempt == MAX_ATTEMPTS else "pending")

    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(days=30))
    assert await deliver_due(smtp, "worker-1") == 0
    assert (await row(message_id))["status"] == "failed"


async def test_a_refused_recipient_fails_at_once_and_the_rest_still_goes(settings, workspace, smtp_server):
    controller, inbox = smtp_server
    smtp = with_smtp(settings, f"smtp+plain://127.0.0.1:{controller.port}")
    refused = await queue_invite(smtp, workspace, to="nobody@northwind.example")
    accepted = await queue_invite(smtp, workspace, to="alice@northwind.example")

    assert await deliver_due(smtp, "worker-1") == 2

    assert (await row(refused))["status"] == "failed"
    assert "No such user" in (await row(refused))["last_error"]
    assert (await row(accepted))["status"] == "sent"
    assert [m["To"] for m in inbox.messages] == ["alice@northwind.example"]


async def test_without_smtp_the_message_is_logged_and_kept(settings, workspace, caplog):
    message_id = await queue_invite(with_smtp(settings, None), workspace)

    with caplog.at_level(logging.INFO, logger="portal.mail"):
        assert await deliver_due(with_smtp(settings, None), "worker-1") == 1

    stored = await row(message_id)
    assert stored["status"] == "logged"
    assert stored["text_body"]  # kept for the studio
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "portal.mail")
    assert "To: alice@northwind.example" in logged
    assert "http://127.0.0.1:8000/p/acme/login/INVITE-TOKEN-123" in logged
    assert stored["text_body"].strip() in logged


async def test_concurrent_workers_never_send_a_message_twice(settings, workspace, smtp_server):
    controller, inbox = smtp_server
    smtp = with_smtp(settings, f"smtp+plain://127.0.0.1:{controller.port}")
    ids = [await queue_invite(smtp, workspace, to=f"client{i}@northwind.example") for i in range(24)]

    rounds = 0
    while True:
        claimed = await asyncio.gather(*(deliver_due(smtp, f"worker-{w}", batch=3) for w in range(4)))
        rounds += 1
        if not any(claimed):
            break
    assert rounds > 1
    assert len(inbox.messages) == len(ids)
    assert len({m["Message-ID"] for m in inbox.messages}) == len(ids)
    assert sorted(m["To"] for m in inbox.messages) == sorted(f"client{i}@northwind.example" for i in range(24))
    assert await OutboxMessage.count().where(OutboxMessage.status == "sent") == len(ids)


async def test_a_message_left_sending_by_a_dead_worker_is_sent_again_later(settings, workspace, smtp_server, monkeypatch):
    controller, inbox = smtp_server
    smtp = with_smtp(settings, f"smtp+plain://127.0.0.1:{controller.port}")
    message_id = await queue_invite(smtp, workspace)
    claimed_at = clock.now()
    await OutboxMessage.update(
        {OutboxMessage.status: "sending", OutboxMessage.claimed_by: "dead-worker", OutboxMessage.claimed_at: claimed_at}
    ).where(OutboxMessage.id == message_id)

    assert await deliver_due(smtp, "worker-2") == 0  # the claim is fresh: hands off
    monkeypatch.setattr(clock, "now", lambda: claimed_at + STALE_CLAIM + dt.timedelta(seconds=1))
    assert await deliver_due(smtp, "worker-2") == 1

    stored = await row(message_id)
    assert stored["status"] == "sent" and stored["attempts"] == 2
    assert len(inbox.messages) == 1


async def test_smtp_plain_with_auth_sends_the_credentials(settings, workspace):
    seen: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login.decode(), auth_data.password.decode()))
        ok = auth_data.login == b"mailer@acme.example" and auth_data.password == b"p@ss:word"
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        # The user name and password are percent-encoded in the URL.
        smtp = with_smtp(settings, f"smtp+plain://mailer%40acme.example:p%40ss%3Aword@127.0.0.1:{controller.port}")
        message_id = await queue_invite(smtp, workspace)
        assert await deliver_due(smtp, "worker-1") == 1
    finally:
        controller.stop()
    assert seen == [("mailer@acme.example", "p@ss:word")]
    assert (await row(message_id))["status"] == "sent"
    assert len(inbox.messages) == 1


async def test_wrong_credentials_are_a_visible_failure(settings, workspace):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), auth_required=True, auth_require_tls=False,
                            authenticator=lambda *args: AuthResult(success=False, handled=False))
    controller.start()
    try:
        smtp = with_smtp(settings, f"smtp+plain://mailer:wrong@127.0.0.1:{controller.port}")
        message_id = await queue_invite(smtp, workspace)
        await deliver_due(smtp, "worker-1")
    finally:
        controller.stop()
    stored = await row(message_id)
    assert stored["status"] == "pending" and stored["attempts"] == 1
    assert "535" in stored["last_error"] or "Authentication" in stored["last_error"]
    assert inbox.messages == []


async def test_smtp_scheme_insists_on_starttls(settings, workspace, smtp_server):
    """smtp:// never sends credentials in clear text to a server without STARTTLS."""
    controller, inbox = smtp_server
    smtp = with_smtp(settings, f"smtp://mailer:secret@127.0.0.1:{controller.port}")
    message_id = await queue_invite(smtp, workspace)

    await deliver_due(smtp, "worker-1")

    stored = await row(message_id)
    assert stored["status"] == "pending" and stored["attempts"] == 1
    assert "STARTTLS" in stored["last_error"] or "TLS" in stored["last_error"]
    assert "secret" not in stored["last_error"]
    assert inbox.messages == []


def test_smtp_url_schemes_and_default_ports():
    starttls = parse_smtp_url("smtp://user%40x.example:p%2Fw@mail.example")
    assert (starttls.hostname, starttls.port, starttls.start_tls, starttls.use_tls) == ("mail.example", 587, True, False)
    assert (starttls.username, starttls.password) == ("user@x.example", "p/w")
    assert "p/w" not in repr(starttls)
    implicit = parse_smtp_url("smtps://mail.example")
    assert (implicit.port, implicit.use_tls, implicit.start_tls, implicit.username) == (465, True, False, None)
    plain = parse_smtp_url("smtp+plain://127.0.0.1:2525")
    assert (plain.port, plain.use_tls, plain.start_tls) == (2525, False, False)
    assert parse_smtp_url("smtp+plain://relay").port == 25


def signal_when_idle(worker: OutboxWorker) -> asyncio.Event:
    """An event set once the worker's round is over and it waits for a wake-up or its poll."""
    idle = asyncio.Event()
    wake = worker._wake
    wait_for_wake = wake.wait

    async def wait() -> bool:
        idle.set()
        return await wait_for_wake()

    wake.wait = wait
    return idle


async def test_the_worker_wakes_when_mail_is_queued_and_stops_cleanly(settings, workspace, smtp_server):
    controller, inbox = smtp_server
    smtp = with_smtp(settings, f"smtp+plain://127.0.0.1:{controller.port}")
    # A long poll: only the wake-up from enqueue_email can make it deliver within the test.
    worker = OutboxWorker(smtp, worker_id="app-worker", poll_seconds=60)
    idle = signal_when_idle(worker)
    worker.start()
    try:
        # Queued only once the worker is idle, so its first round cannot pick the message up.
        await asyncio.wait_for(idle.wait(), 5)
        message_id = await queue_invite(smtp, workspace)
        assert await asyncio.to_thread(inbox.received.wait, 5), "not delivered: the worker was not woken"
        assert len(inbox.messages) == 1
    finally:
        await asyncio.wait_for(worker.stop(), 5)
    assert worker._task.done()
    assert (await row(message_id))["status"] == "sent"
