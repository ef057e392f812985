"""View objects for file lists, and safe ``Content-Disposition`` headers for downloads.

Templates get ``FileView``s, never ``ProjectFile`` rows, so internal columns (the blob
hash, who uploaded it, the sharing flag) cannot reach a portal page by accident.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

from litestar.response import File, Response, Stream

from portal.files.blobstore import blob_store
from portal.formats import size_label
from portal.settings import Settings

#: Images that browsers render without risk: shown inline as thumbnails (never SVG).
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

_TYPE_LABELS = {
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/gif": "GIF image",
    "image/webp": "WebP image",
    "application/pdf": "PDF",
    "application/zip": "ZIP archive",
    "video/mp4": "MP4 video",
    "video/webm": "WebM video",
}
_TEXT_LABELS = {".csv": "CSV", ".md": "Markdown", ".txt": "Text"}
#: Characters a quoted-string fallback must not carry (quote, backslash) and ones some
#: user agents treat specially inside it (percent escapes, separators).
_FALLBACK_UNSAFE = re.compile(r'["\\%;/:*?<>|]')


@dataclass(frozen=True)
class FileView:
    """One file as a list shows it."""

    id: int
    name: str
    type_label: str
    short_type: str
    size: int
    size_label: str
    uploaded_at: dt.datetime
    is_image: bool
    download_url: str
    thumbnail_url: str | None
    shared: bool = False  # only the studio shows it
    #: A PDF's or a video's preview is still being made (a placeholder shows meanwhile).
    preview_pending: bool = False


def type_label(content_type: str, name: str) -> str:
    """What kind of file this is, in words people use: "PDF", "PNG image", "CSV"."""
    if content_type in _TYPE_LABELS:
        return _TYPE_LABELS[content_type]
    suffix = PurePosixPath(name).suffix.lower()
    if content_type == "text/plain":
        return _TEXT_LABELS.get(suffix, "Text")
    if suffix and len(suffix) <= 6 and suffix[1:].isalnum():
        return f"{suffix[1:].upper()} file"
    return "File"


def file_view(row: dict, base_url: str) -> FileView:
    """A ``FileView`` from a row with id, name, created_at, shared and the stored file's
    ``content_type`` and ``size``; ``base_url`` is the list's URL (…/files)."""
    content_type = row["stored_file.content_type"]
    label = type_label(content_type, row["name"])
    is_image = content_type in INLINE_IMAGE_TYPES
    # Images get theirs made on first view if need be; PDFs and videos once their preview is made.
    has_thumbnail = is_image or bool(row.get("stored_file.thumbnail_sha256"))
    url = f"{base_url}/{row['id']}"
    return FileView(
        id=row["id"],
        name=row["name"],
        type_label=label,
        short_type=label.split(" ")[0],
        size=row["stored_file.size"],
        size_label=size_label(row["stored_file.size"]),
        uploaded_at=row["created_at"],
        is_image=is_image,
        download_url=f"{url}/download",
        thumbnail_url=f"{url}/thumbnail" if has_thumbnail else None,
        shared=bool(row.get("shared")),
        preview_pending=row.get("stored_file.preview_status") == "pending",
    )


def clean_filename(name: str, limit: int = 255) -> str:
    """A file name without path parts or control characters (CR, LF, NUL, ...)."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = " ".join(name.split()).strip(" .")
    return name[:limit]


def _ascii_fallback(name: str) -> str:
    """The closest plain-ASCII name (é -> e), for agents without RFC 5987 support."""
    decomposed = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = " ".join(_FALLBACK_UNSAFE.sub("_", decomposed).split())
    stem, dot, suffix = fallback.rpartition(".")
    if not dot:
        stem, suffix = fallback, ""
    if not stem.strip("_ ."):  # nothing readable survived: keep only the extension
        stem = "download"
    return f"{stem}{dot}{suffix}"


def content_disposition(name: str, disposition: str = "attachment") -> str:
    """An RFC 6266 header value: an ASCII ``filename`` fallback plus UTF-8 ``filename*``.

    Control characters (a CRLF cannot split the header), quotes, backslashes and path
    separators never reach the quoted fallback; ``filename*`` percent-encodes
    everything but RFC 5987 attr-chars, so the exact (cleaned) name survives.
    """
    cleaned = clean_filename(name) or "download"
    encoded = quote(cleaned, safe="")
    return f"{disposition}; filename=\"{_ascii_fallback(cleaned)}\"; filename*=UTF-8''{encoded}"


def serve_file(settings: Settings, sha256: str, name: str, content_type: str, *, size: int,
               inline: bool = False) -> Response:
    """A blob's response: an attachment (the default) or, for safe images only, inline.

    Never cached by shared caches; inline images are revalidated on every view, so an
    unshared file stops showing at once. A file of the data dir is sent as a file; a
    bucket's object is streamed through in chunks.
    """
    if inline and content_type not in INLINE_IMAGE_TYPES:
        raise ValueError(f"{content_type} is never served inline")
    headers = {
        "content-disposition": content_disposition(name, "inline" if inline else "attachment"),
        "cache-control": "private, no-cache" if inline else "private, no-store",
        "x-content-type-options": "nosniff",
    }
    store = blob_store(settings)
    path = store.local_path(sha256)
    if path is not None:
        return File(path=path, media_type=content_type, headers=headers)
    return Stream(store.chunks(sha256, 0, size), media_type=content_type,
                  headers={**headers, "content-length": str(size)})
