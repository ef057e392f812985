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
from urllib.parse import urlsplit

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

#: Stripe's own origins for Checkout embedded in a page (Stripe.js and its frames).
STRIPE_JS = "https://js.stripe.com"
STRIPE_CHECKOUT = "https://checkout.stripe.com"
STRIPE_API = "https://api.stripe.com"


def _policy(**changes: str) -> str:
    directives = dict(item.split(" ", 1) for item in CONTENT_SECURITY_POLICY.split("; "))
    for name, value in changes.items():
        directives[name.replace("_", "-")] = value
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def checkout_origin(settings: Settings) -> str:
    """Where hosted Checkout lives: Stripe's page, or the test server PORTAL_STRIPE_API_BASE names."""
    if settings.stripe_api_base == "https://api.stripe.com":
        return STRIPE_CHECKOUT
    parts = urlsplit(settings.stripe_api_base)
    return f"{parts.scheme}://{parts.netloc}"


def page_csp(settings: Settings) -> str:
    """Every answer's policy. A form may lead on to hosted Checkout: the Pay form answers with a
    303 to Stripe's page, and Chromium checks ``form-action`` on that redirect too (the Pay
    form can sit in any page whose tab strip loaded the invoice)."""
    return _policy(form_action=f"'self' {checkout_origin(settings)}")


def embedded_checkout_csp(settings: Settings) -> str:
    """The page with Checkout embedded: Stripe.js, its frames and its API, on this page only."""
    return _policy(
        script_src=f"'self' {STRIPE_JS}",
        frame_src=f"{STRIPE_JS} {STRIPE_CHECKOUT}",
        connect_src=f"'self' {STRIPE_API} {STRIPE_CHECKOUT}",
        img_src="'self' data: blob: https://*.stripe.com",
        form_action=f"'self' {checkout_origin(settings)}",
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
    headers = {**HEADERS, "content-security-policy": page_csp(settings)}
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
