"""Serving a deliverable version's bytes: HTTP Range, safe headers, streaming.

Browsers seek in videos with ``Range`` requests (and Safari plays nothing without
them), so the file route answers ``206 Partial Content`` for one satisfiable range,
``416`` for an unsatisfiable one and the whole file otherwise. Bytes are streamed
from the blob store in chunks: a 200 MB video never sits in memory. With a bucket and
``PORTAL_STORAGE_PRESIGN_SECONDS`` set, a version viewed in the page (not a download)
is a redirect to a presigned URL of the bucket instead, after the same access check:
the browser then fetches and seeks in it from the bucket directly.

User files are shown inline only when the browser renders them as media (images,
PDF, video); everything else, and any type that could run script (HTML, SVG), is an
attachment. A sandboxing CSP covers the response in case it is opened directly.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from litestar import Request
from litestar.response import Redirect, Response, Stream

from portal.errors import NotFound
from portal.files.blobstore import blob_store
from portal.files.images import THUMBNAIL_TYPE
from portal.files.storage import stored_size
from portal.files.views import serve_file
from portal.settings import Settings

#: Types a browser shows as media; never text/html or image/svg+xml.
INLINE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "video/mp4", "video/webm"}
)
#: Opened on its own, a user file gets no scripts, no plugins and a unique origin.
FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class Unsatisfiable(Exception):
    """The Range header asks for bytes the file does not have."""


def is_inline(content_type: str) -> bool:
    return content_type in INLINE_TYPES


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single ``bytes=`` range, or None for "all".

    Multiple ranges, other units and unparsable values are ignored (RFC 9110 lets a
    server send the whole representation). Raises ``Unsatisfiable`` for a range
    that starts past the end, an empty suffix or a last byte before the first.
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # "bytes=-500": the last 500 bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable()
        return max(size - suffix, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise Unsatisfiable()
    return start, min(end, size - 1)


def content_disposition(disposition: str, filename: str) -> str:
    """``inline``/``attachment`` with an ASCII fallback name and the UTF-8 original."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename) or "download"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(
    request: Request,
    settings: Settings,
    *,
    sha256: str,
    size: int,
    content_type: str,
    filename: str,
    download: bool,
) -> Response:
    """The response for a stored blob: 200, 206, 304 or 416 with safe headers."""
    inline = is_inline(content_type) and not download
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{sha256}"',
        # Versions never change, but access can end: revalidate every time (cheap 304).
        "Cache-Control": "private, no-cache",
        "Content-Disposition": content_disposition("inline" if inline else "attachment", filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(b"", status_code=304, headers=headers)
    store = blob_store(settings)
    if inline and settings.storage_presign_seconds:
        url = store.signed_url(sha256, settings.storage_presign_seconds)
        if url:
            return Redirect(url, status_code=302, headers={"Cache-Control": "private, no-store"})
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range and if_range != headers["ETag"]:
        range_header = None  # the client's partial copy is of other bytes: send all
    try:
        byte_range = parse_range(range_header, size)
    except Unsatisfiable:
        return Response(b"", status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end = byte_range if byte_range else (0, size - 1)
    length = max(end - start + 1, 0)
    headers["Content-Length"] = str(length)
    status = 200
    if byte_range:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Stream(store.chunks(sha256, start, length), status_code=status, media_type=content_type, headers=headers)


async def preview_file(settings: Settings, sha256: str, stem: str) -> Response:
    """A version's preview (the WebP made by ``portal.files.previews``), inline; 404 if its
    blob is gone."""
    size = await stored_size(settings, sha256)
    if size is None:
        raise NotFound()
    return serve_file(settings, sha256, f"{stem} (preview).webp", THUMBNAIL_TYPE, size=size, inline=True)
