"""A real SMTP server for tests (aiosmtpd), and what it received, parsed."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from tests.servers import free_port


class Inbox:
    """What the aiosmtpd server received, parsed."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list:
        return [message for message in list(self.messages) if address in message["To"]]

    def wait_for(self, to: str, subject: str = "", timeout: float = 15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.to(to):
                if subject in message["Subject"]:
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no email to {to} about {subject!r} arrived in {timeout}s")


@contextlib.contextmanager
def smtp_sink() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on a free loopback port, for the block: its inbox and its port."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()
