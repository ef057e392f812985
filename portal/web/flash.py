"""One-time messages after a redirect ("Invoice sent."), without a query string.

A successful form POST answers 303 (``see_other(path, flash="...")``) and sets a short,
signed cookie with the message; the next page rendered through ``page()`` shows it once
(``flash`` in the template context) and deletes the cookie. Signed with the app secret,
so no other site (or a planted cookie) can make a page say something we never said.
Plain pages without JavaScript and htmx boosted navigation work the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from litestar import Request
from litestar.datastructures import Cookie

COOKIE = "portal_flash"
MAX_LENGTH = 300


def _signature(secret: str, text: bytes) -> str:
    digest = hmac.new(secret.encode(), b"flash\x00" + text, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def flash_cookie(secret: str, message: str, *, secure: bool) -> Cookie:
    text = message[:MAX_LENGTH].encode()
    value = base64.urlsafe_b64encode(text).decode() + "." + _signature(secret, text)
    return Cookie(key=COOKIE, value=value, path="/", httponly=True, secure=secure, samesite="lax", max_age=60)


def read_flash(request: Request) -> str:
    """The message waiting for this request, or "" (unsigned or tampered: nothing)."""
    raw = request.cookies.get(COOKIE)
    if not raw or "." not in raw or len(raw) > 2 * MAX_LENGTH:
        return ""
    encoded, signature = raw.rsplit(".", 1)
    try:
        text = base64.urlsafe_b64decode(encoded.encode())
    except ValueError:
        return ""
    if not hmac.compare_digest(signature, _signature(request.app.state.settings.secret_key, text)):
        return ""
    return text.decode(errors="replace")


def spent_cookie() -> Cookie:
    return Cookie(key=COOKIE, value="", path="/", max_age=0, httponly=True, samesite="lax")
