"""CSRF protection bound to the session.

The token of a request is an HMAC of the app secret over what identifies the browser's
session: the session cookie when there is one, otherwise a random anonymous cookie this
middleware sets. A token therefore only works with the very session it was made for:
an attacker who plants cookies on a plain-http installation cannot pair a token of
their own with the victim's session, and signing in (a new session id) retires every
token of the page before. Nothing is stored server-side.

Unsafe requests carry the token in the ``x-csrftoken`` header (htmx, from the page's
``hx-headers``) or the ``_csrf_token`` form field (no JavaScript); either may match.
Routes that prove their sender another way (a signed webhook) set
``opt={"exclude_from_csrf": True}``; static files (``opt={"static": True}``, GET only)
are passed straight through.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from http.cookies import SimpleCookie

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from portal.accounts.sessions import cookie_name as session_cookie_name
from portal.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
HEADER = "x-csrftoken"
FIELD = "_csrf_token"
EXPIRED = "This form has expired. Reload the page and try again."


def cookie_name(settings: Settings) -> str:
    """The anonymous binding cookie (``__Host-`` prefixed on https)."""
    return "__Host-csrftoken" if settings.is_https else "csrftoken"


def token_for(secret: str, binding: str) -> str:
    """The token for one session (or anonymous cookie) value."""
    digest = hmac.new(secret.encode(), b"csrf\x00" + binding.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _binding(settings: Settings, cookies: dict[str, str]) -> str | None:
    return cookies.get(session_cookie_name(settings)) or cookies.get(cookie_name(settings))


def _anonymous_cookie(settings: Settings, value: str) -> tuple[bytes, bytes]:
    cookie = SimpleCookie()
    name = cookie_name(settings)
    cookie[name] = value
    cookie[name]["path"] = "/"
    cookie[name]["httponly"] = True
    cookie[name]["samesite"] = "Lax"
    if settings.is_https:
        cookie[name]["secure"] = True
    return b"set-cookie", cookie[name].OutputString().encode("latin-1")


def csrf_middleware(app: ASGIApp) -> ASGIApp:
    """Check the token on unsafe requests; give templates the token of this session."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if scope["type"] != "http" or (handler is not None and handler.opt.get("static")):
            await app(scope, receive, send)  # static files: no form, no token to hand out
            return
        litestar_app = scope["litestar_app"]
        settings: Settings = litestar_app.state.settings
        request: Request = litestar_app.request_class(scope=scope, receive=receive)
        cookies = request.cookies
        binding = _binding(settings, cookies)
        new_cookie = None
        if binding is None:
            binding = secrets.token_urlsafe(32)
            new_cookie = _anonymous_cookie(settings, binding)
        expected = token_for(settings.secret_key, binding)
        exempt = handler is not None and handler.opt.get("exclude_from_csrf")
        if scope["method"] not in SAFE_METHODS and not exempt:
            if new_cookie is not None or not await _carries(request, expected):
                raise PermissionDeniedException(EXPIRED)
        ScopeState.from_scope(scope).csrf_token = expected
        if new_cookie is None:
            await app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), new_cookie]
            await send(message)

        await app(scope, receive, send_with_cookie)

    return middleware


async def _carries(request: Request, expected: str) -> bool:
    """Whether the header, or else the form field, holds ``expected``."""
    header = request.headers.get(HEADER)
    if header and _same(header, expected):
        return True
    content_type, _ = request.content_type
    if content_type in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
        # Parsed once: the handler's body is read from the same cached form.
        field = (await request.form()).get(FIELD)
        return isinstance(field, str) and _same(field, expected)
    return False


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that also takes non-ASCII input (compare_digest on str does not)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())
