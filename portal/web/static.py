"""Static files (CSS, JS, vendored pdf.js) served by the application itself.

Served here rather than by the HTTP server's own static mount so that every answer goes
through the application's ``before_send`` hook and carries the security headers. The
set of files is small and fixed at release time, so each is read once into memory and
answered with an ETag; ``?v=`` URLs (the stylesheet and scripts) are immutable.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

ROOT = Path(__file__).resolve().parents[2] / "static"
ONE_DAY = "public, max-age=86400"
IMMUTABLE = "public, max-age=31536000, immutable"
_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".css": "text/css", ".pfb": "application/octet-stream"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


_assets: dict[str, Asset | None] = {}


def load(relative: str) -> Asset | None:
    """The file at ``static/<relative>``, or None when there is none (kept either way)."""
    if relative in _assets:
        return _assets[relative]
    asset = None
    path = (ROOT / relative).resolve()
    if path.is_relative_to(ROOT) and path.is_file() and not any(part.startswith(".") for part in path.relative_to(ROOT).parts):
        body = path.read_bytes()
        content_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        asset = Asset(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    if len(_assets) < 2000:  # the tree holds about fifty files; unknown names are not kept forever
        _assets[relative] = asset
    return asset


@get("/static/{path:path}", cache=False, include_in_schema=False, opt={"static": True})
async def static_file(request: Request, path: FromPath[str]) -> Response:
    asset = load(path.lstrip("/"))
    if asset is None:
        raise NotFoundException()
    headers = {"etag": asset.etag, "cache-control": IMMUTABLE if "v" in request.query_params else ONE_DAY}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.content_type, headers=headers)


@get("/favicon.ico", cache=False, include_in_schema=False, opt={"static": True})
async def favicon(request: Request) -> Response:
    """The default icon, for clients that ask for /favicon.ico without reading the page's link."""
    asset = load("img/favicon.png")
    return Response(asset.body, media_type=asset.content_type, headers={"etag": asset.etag, "cache-control": ONE_DAY})
