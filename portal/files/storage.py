"""Content-addressed blob storage under the data dir, and content sniffing.

The bytes of every upload live at ``<data dir>/blobs/<sha256[:2]>/<sha256>``; a
``StoredFile`` row records that a workspace owns them. The same bytes uploaded twice
are stored once, and a row never points at a blob that is not durably on disk: the
file is written, fsynced and renamed into place (and its directory fsynced) before the
row is inserted.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from pathlib import Path

from portal.files.tables import StoredFile
from portal.settings import Settings

_SHA256 = re.compile(r"[0-9a-f]{64}")

#: Declared-type-free detection: (offset, magic bytes, content type).
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),  # an empty archive
)
#: ISO-BMFF brands that are still images, not video (HEIC, AVIF): not played as MP4.
_IMAGE_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"})
_TEXT_SUFFIXES = (".txt", ".csv", ".md")
OCTET_STREAM = "application/octet-stream"


def blob_path(settings: Settings, sha256: str) -> Path:
    """Where the blob with this SHA-256 (lowercase hex) lives.

    Raises ValueError for anything but 64 lowercase hex digits, so that a value
    from outside can never walk out of the blob directory.
    """
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return settings.blob_dir / sha256[:2] / sha256


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_blob(settings: Settings, data: bytes) -> str:
    """Write ``data`` durably into the blob store (blocking) and return its SHA-256.

    Atomic: a temp file in the target directory is written and fsynced, renamed
    over the final name, then the directory is fsynced so the rename survives a
    crash. Existing blobs are not rewritten (same name, same bytes). Files keep
    ``mkstemp``'s mode 0600: they are client files, read only by the portal.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    path = blob_path(settings, sha256)
    shard = path.parent
    if path.exists() and path.stat().st_size == len(data):
        # Another writer may have renamed it in but not yet synced the directory.
        _fsync_dir(shard)
        return sha256
    if not shard.is_dir():
        new_root = not settings.blob_dir.is_dir()
        shard.mkdir(parents=True, exist_ok=True)
        # New directories' own entries must survive a crash too.
        _fsync_dir(shard.parent)
        if new_root:
            _fsync_dir(settings.blob_dir.parent)
    fd, tmp_name = tempfile.mkstemp(dir=shard, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(shard)
    return sha256


async def store_bytes(settings: Settings, workspace_id: int, data: bytes, content_type: str) -> StoredFile:
    """Store ``data`` for a workspace and return its ``StoredFile`` row (a Table instance).

    Get-or-create on (workspace, sha256): the same bytes stored twice give the same
    row (its first ``content_type`` wins). The blob is on disk and fsynced before the
    row is inserted. ``content_type`` should come from ``sniff_content_type``.

    Works inside or outside a transaction. A concurrent store of the same bytes is
    resolved by ``INSERT ... ON CONFLICT DO NOTHING`` on the unique (workspace,
    sha256) index followed by a re-read, instead of catching the integrity error:
    on PostgreSQL an error would abort the caller's whole transaction.
    """
    # fsync can take tens of milliseconds: keep it off the event loop.
    sha256 = await asyncio.to_thread(write_blob, settings, data)
    existing = await _find(workspace_id, sha256)
    if existing is not None:
        return existing
    row = StoredFile(workspace=workspace_id, sha256=sha256, size=len(data), content_type=content_type)
    inserted = await (
        StoredFile.insert(row)
        .on_conflict(target=(StoredFile.workspace, StoredFile.sha256), action="DO NOTHING")
        .returning(StoredFile.id)
    )
    if inserted:  # Piccolo has set row.id from the RETURNING row
        return row
    # Lost the race: another request inserted the same bytes in between.
    winner = await _find(workspace_id, sha256)
    if winner is None:  # pragma: no cover - the conflicting row was deleted meanwhile
        raise RuntimeError(f"stored file {sha256} vanished during insert")
    return winner


async def _find(workspace_id: int, sha256: str) -> StoredFile | None:
    return await (
        StoredFile.objects()
        .where((StoredFile.workspace == workspace_id) & (StoredFile.sha256 == sha256))
        .first()
    )


def sniff_content_type(data: bytes, filename: str) -> str:
    """The content type of ``data`` judged by its bytes, never by a declared type.

    Recognises PNG, JPEG, GIF, WebP, PDF, MP4 (ISO-BMFF ``ftyp``, except still-image
    brands such as HEIC/AVIF), WebM (EBML with the ``webm`` doctype) and ZIP. Plain
    text is accepted only for ``.txt``, ``.csv`` and ``.md`` files whose bytes are
    valid UTF-8 without NULs. Everything else, HTML and SVG included, is
    ``application/octet-stream`` so that it is only ever downloaded.
    """
    for offset, magic, content_type in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return OCTET_STREAM if data[8:12] in _IMAGE_BRANDS else "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        # EBML: WebM and Matroska share the header; only WebM plays in browsers.
        return "video/webm" if b"webm" in data[:64] else OCTET_STREAM
    if filename.lower().endswith(_TEXT_SUFFIXES) and b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return OCTET_STREAM
        return "text/plain"
    return OCTET_STREAM
