"""Talking SMTP: the ``SMTP_URL`` parsed, a message built, and a connection that sends.

``SMTP_URL`` schemes:
- ``smtp://user:pass@host:587``: STARTTLS, required (a server that does not offer it
  is an error, so credentials never cross the network in clear text).
- ``smtps://user:pass@host:465``: TLS from the first byte (implicit TLS).
- ``smtp+plain://host:25``: no TLS at all, for a relay on the same host or in tests.

User name and password are percent-decoded (``%40`` for ``@`` in a user name).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from types import TracebackType
from urllib.parse import unquote, urlsplit

import aiosmtplib

from portal.settings import Settings

#: Seconds for connecting and for each SMTP command.
TIMEOUT = 30
DEFAULT_PORTS = {"smtp": 587, "smtps": 465, "smtp+plain": 25}


@dataclass(frozen=True)
class SmtpConfig:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool

    def __repr__(self) -> str:  # never print the password into a log
        return f"SmtpConfig({self.hostname}:{self.port}, tls={self.use_tls}, starttls={self.start_tls}, user={self.username!r})"


def parse_smtp_url(url: str) -> SmtpConfig:
    """The connection parameters of an ``SMTP_URL`` (see the module docstring)."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"unsupported SMTP URL scheme {parts.scheme!r}")
    return SmtpConfig(
        hostname=parts.hostname,
        port=parts.port or DEFAULT_PORTS[parts.scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        use_tls=parts.scheme == "smtps",
        start_tls=parts.scheme == "smtp",
    )


@dataclass(frozen=True)
class Outgoing:
    """One email as the outbox holds it, plus what the worker adds at sending time."""

    id: int
    to: str
    from_name: str
    subject: str
    text: str
    html: str
    created_at: dt.datetime
    reply_to: str = ""


def build_message(settings: Settings, outgoing: Outgoing) -> EmailMessage:
    """A multipart/alternative message (plain text first, then HTML)."""
    domain = settings.mail_from.rsplit("@", 1)[1]
    message = EmailMessage()
    message["From"] = Address(display_name=outgoing.from_name, addr_spec=settings.mail_from)
    message["To"] = outgoing.to
    if outgoing.reply_to:
        message["Reply-To"] = outgoing.reply_to
    message["Subject"] = outgoing.subject
    message["Date"] = email.utils.formatdate(usegmt=True)
    # The same id on every attempt, so a retry after a lost reply is recognisably one message.
    message["Message-ID"] = f"<outbox.{outgoing.id}.{int(outgoing.created_at.timestamp())}@{domain}>"
    # Tell auto-responders (out-of-office, vacation) not to answer.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(outgoing.text)
    if outgoing.html:
        message.add_alternative(outgoing.html, subtype="html")
    return message


def _ehlo_name(settings: Settings) -> str:
    # socket.getfqdn(), aiosmtplib's default, can stall on a DNS lookup in a container.
    host = urlsplit(settings.base_url).hostname or "localhost"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[{host}]"


class SmtpConnection:
    """One SMTP session for a batch of messages, opened on first use.

    After an error the session is dropped, so the next message starts a fresh one.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = parse_smtp_url(settings.smtp_url or "")
        self._client: aiosmtplib.SMTP | None = None

    async def send(self, outgoing: Outgoing) -> None:
        """Send one message; raises an ``aiosmtplib`` error (or OSError) on failure."""
        message = build_message(self.settings, outgoing)
        try:
            client = await self._connected()
            await client.send_message(message, sender=self.settings.mail_from, recipients=[outgoing.to])
        except Exception:
            self.abort()
            raise

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            config = self.config
            client = aiosmtplib.SMTP(
                hostname=config.hostname,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.use_tls,
                start_tls=config.start_tls,
                local_hostname=_ehlo_name(self.settings),
                timeout=TIMEOUT,
            )
            await client.connect()
            self._client = client
        return self._client

    async def close(self) -> None:
        """End the session politely (QUIT)."""
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        try:
            await client.quit()
        except Exception:  # the server may already be gone: drop the socket
            client.close()

    def abort(self) -> None:
        """Drop the session without a word (after an error, or when cancelled)."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            client.close()

    async def __aenter__(self) -> SmtpConnection:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            await self.close()
        else:
            self.abort()


def is_permanent(exc: BaseException) -> bool:
    """True when retrying cannot help: the server refused the recipient for good (5xx)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(500 <= r.code < 600 for r in exc.recipients)
    return isinstance(exc, aiosmtplib.SMTPRecipientRefused) and 500 <= exc.code < 600


def ends_session(exc: BaseException) -> bool:
    """True when the error is the connection's, not the message's (so later sends fail too)."""
    per_message = (
        aiosmtplib.SMTPRecipientsRefused,
        aiosmtplib.SMTPRecipientRefused,
        aiosmtplib.SMTPSenderRefused,
        aiosmtplib.SMTPDataError,
    )
    return not isinstance(exc, per_message)
