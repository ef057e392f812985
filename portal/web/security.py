"""Security headers on every answer: pages, fragments, errors, router 404/405, static files.

They are added by a ``before_send`` hook of the application, which Litestar runs for
every message it sends, including the answers its router gives before any route
middleware runs (unknown path, wrong method) and the error pages. Static files are
served by the application too (``portal.web.static``), so they carry them as well.

HTML answers that do not set ``Cache-Control`` themselves get ``no-store``: a signed-in
page or fragment is never kept by a browser or a proxy cache.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.types import Message, Scope

from portal.settings import Settings

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(self)",
    "cross-origin-opener-policy": "same-origin",
}

NO_STORE = (b"cache-control", b"no-store")


def header_pairs(settings: Settings) -> tuple[tuple[bytes, bytes], ...]:
    """The headers of every answer, encoded once (HSTS only on https installations)."""
    headers = dict(HEADERS)
    if settings.is_https and settings.hsts_seconds:
        headers["strict-transport-security"] = f"max-age={settings.hsts_seconds}"
    return tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items())


def security_headers_hook(settings: Settings) -> Callable[[Message, Scope], Awaitable[None]]:
    """A ``before_send`` hook adding the headers an answer does not set itself."""
    encoded = header_pairs(settings)

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers") or ())
        present = {name.lower() for name, _ in headers}
        headers.extend(pair for pair in encoded if pair[0] not in present)
        if b"cache-control" not in present and _is_html(headers):
            headers.append(NO_STORE)
        message["headers"] = headers

    return before_send


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.startswith(b"text/html")
    return False
