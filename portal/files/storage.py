"""Content-addressed blob storage, and content sniffing.

The bytes of every upload live under their SHA-256 in the blob store
(``portal.files.blobstore``: ``<data dir>/blobs/<sha256[:2]>/<sha256>`` by default, or
an S3-compatible bucket); a ``StoredFile`` row records that a workspace owns them. The
same bytes uploaded twice are stored once, and a row never points at a blob that is not
durably stored: the file is written, fsynced and renamed into place (and its directory
fsynced), or its upload to the bucket has completed, before the row is inserted.

Uploads are streamed: ``store_stream`` copies from an ``UploadFile`` (or any binary file
object, or an async iterable of byte chunks) in 1 MiB chunks into a temp file inside
the blob directory, hashing, counting and sniffing as it goes, and refuses more than
the limit while copying. Nothing holds a whole upload in memory. A copy that fails for
any reason (too large, empty, an error, a cancelled request) leaves no temp file and
no row behind. With a bucket, the temp file is then sent to it (multipart, a few parts
at a time) and removed once the image checks below have read it.

Images (PNG, JPEG, GIF, WebP by their bytes) are then checked with Pillow against
``max_image_pixels`` before anything decodes them (``portal.files.images``): one that
is too large in pixels or cannot be decoded is stored as ``application/octet-stream``
(a download only, never shown inline); one that can gets a re-encoded WebP thumbnail,
stored as its own blob and referenced by ``StoredFile.thumbnail_sha256``. Browsers are
never handed the original bytes as a thumbnail.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import io
import os
import tempfile
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from litestar.datastructures import UploadFile

from portal.files import images
from portal.files.blobstore import LocalStore, blob_store, fsync_dir
from portal.files.tables import StoredFile
from portal.settings import Settings

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
#: Types whose preview (a PDF's first page, a video's frame) is made in the background
#: (``portal.files.previews``).
PREVIEW_TYPES = frozenset({"application/pdf", "video/mp4", "video/webm"})

#: Copy unit of uploads: at most about this much of an upload is in memory at once.
CHUNK = 1024 * 1024
#: How much of the start the magic-number rules look at (WebM's doctype is within 64).
HEAD = 64
#: Temp files in the blob dir older than this are leftovers of a crash (see ``sweep_temp_files``).
STALE_TEMP_SECONDS = 24 * 3600
_TEMP_PREFIX = ".tmp-"

#: What ``store_stream`` copies from.
Source = UploadFile | BinaryIO | AsyncIterable[bytes] | bytes


class UploadTooLarge(ValueError):
    """More than ``limit`` bytes arrived: nothing was stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class EmptyUpload(ValueError):
    """No bytes at all: nothing was stored."""


def blob_path(settings: Settings, sha256: str) -> Path:
    """Where the blob with this SHA-256 (lowercase hex) lives in the data dir's store.

    Raises ValueError for anything but 64 lowercase hex digits, so that a value
    from outside can never walk out of the blob directory. (With a bucket, blobs are
    not there: code that reads blobs asks ``blob_store(settings)``.)
    """
    return LocalStore(settings.blob_dir).path(sha256)


def _is_utf8_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _sniff(head: bytes, filename: str, is_text: Callable[[], bool]) -> str:
    """The rules of ``sniff_content_type`` on the first ``HEAD`` bytes; ``is_text`` says
    whether the whole content is UTF-8 without NULs (asked only for text file names)."""
    for offset, magic, content_type in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return OCTET_STREAM if head[8:12] in _IMAGE_BRANDS else "video/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        # EBML: WebM and Matroska share the header; only WebM plays in browsers.
        return "video/webm" if b"webm" in head[:HEAD] else OCTET_STREAM
    if filename.lower().endswith(_TEXT_SUFFIXES) and is_text():
        return "text/plain"
    return OCTET_STREAM


def sniff_content_type(data: bytes, filename: str) -> str:
    """The content type of ``data`` judged by its bytes, never by a declared type.

    Recognises PNG, JPEG, GIF, WebP, PDF, MP4 (ISO-BMFF ``ftyp``, except still-image
    brands such as HEIC/AVIF), WebM (EBML with the ``webm`` doctype) and ZIP. Plain
    text is accepted only for ``.txt``, ``.csv`` and ``.md`` files whose bytes are
    valid UTF-8 without NULs. Everything else, HTML and SVG included, is
    ``application/octet-stream`` so that it is only ever downloaded.

    (The type, not the safety check of images: ``store_stream`` also decodes a sniffed
    image's header and stores a pixel bomb or a broken image as octet-stream.)
    """
    return _sniff(data[:HEAD], filename, lambda: _is_utf8_text(data))


class _BlobWriter:
    """One upload on its way into the blob store (blocking methods; one thread at a time).

    Bytes go to a ``mkstemp`` file in the blob dir (mode 0600: client files, read only
    by the portal) while their SHA-256, size, first bytes and, for text file names, their
    UTF-8 validity (an incremental decoder: a character may span two chunks) are kept.
    ``commit`` fsyncs and renames it to its content address (or sends it to the bucket);
    ``discard`` removes it.
    """

    def __init__(self, settings: Settings, filename: str, limit: int) -> None:
        self.settings = settings
        self.limit = limit
        self.filename = filename
        self.size = 0
        self.cancelled = False
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self._text_name = filename.lower().endswith(_TEXT_SUFFIXES)
        self._text_ok = self._text_name
        self._decoder = codecs.getincrementaldecoder("utf-8")() if self._text_name else None
        self.store = blob_store(settings)
        self.temp = _temp_file(settings)
        self._file = self.temp.open("wb")

    def write(self, chunk: bytes) -> None:
        if self.cancelled:
            raise asyncio.CancelledError()
        if self.size + len(chunk) > self.limit:
            raise UploadTooLarge(self.limit)
        if len(self._head) < HEAD:
            self._head += chunk[: HEAD - len(self._head)]
        if self._text_ok:
            if b"\x00" in chunk:
                self._text_ok = False
            else:
                try:
                    self._decoder.decode(chunk)
                except UnicodeDecodeError:
                    self._text_ok = False
        self._hash.update(chunk)
        self._file.write(chunk)
        self.size += len(chunk)

    def _text_complete(self) -> bool:
        if not self._text_ok:
            return False
        try:
            self._decoder.decode(b"", final=True)  # a character cut off at the end
        except UnicodeDecodeError:
            return False
        return True

    def commit(self) -> Written:
        """The blob durably at its content address (``EmptyUpload`` for no bytes)."""
        if self.size == 0:
            raise EmptyUpload()
        content_type = _sniff(bytes(self._head), self.filename, self._text_complete)
        sha256 = self._hash.hexdigest()
        self._file.flush()
        local = self.store.local_path(sha256)
        if local is None:  # a bucket: send it, and keep the temp file for the image checks
            self._file.close()
            if self.store.size(sha256) != self.size:
                self.store.put_file(sha256, self.temp, content_type)
            return Written(sha256=sha256, size=self.size, content_type=content_type, path=self.temp, temporary=True)
        if self.store.size(sha256) == self.size:
            # Stored before (same name, same bytes): keep that one, and make sure its
            # directory entry is durable (its writer may not have synced it yet).
            self.discard()
            fsync_dir(local.parent)
        else:
            os.fsync(self._file.fileno())
            self._file.close()
            self.store.put_file(sha256, self.temp)
        return Written(sha256=sha256, size=self.size, content_type=content_type, path=local)

    def discard(self) -> None:
        try:
            self._file.close()
        except Exception:  # pragma: no cover - a failed flush of a file being thrown away
            pass
        try:
            os.unlink(self.temp)
        except FileNotFoundError:
            pass


@dataclass(frozen=True)
class Written:
    """A blob durably in the store, the type its bytes were sniffed as, and a local file
    of its bytes (``temporary``: a copy to remove once read, the store being a bucket)."""

    sha256: str
    size: int
    content_type: str
    path: Path
    temporary: bool = False

    def release(self) -> None:
        if self.temporary:
            self.path.unlink(missing_ok=True)


def _copy_file(writer: _BlobWriter, source: BinaryIO) -> Written:
    """Blocking: the whole copy of a file object, committed, or discarded on any error."""
    try:
        while chunk := source.read(CHUNK):
            writer.write(chunk)
        return writer.commit()
    except BaseException:
        writer.discard()
        raise


async def _copy_chunks(writer: _BlobWriter, source: AsyncIterable[bytes]) -> Written:
    """Chunks from the event loop, written (in 1 MiB pieces) off it."""
    try:
        pending = bytearray()
        async for chunk in source:
            pending += chunk
            if len(pending) >= CHUNK:
                await asyncio.to_thread(writer.write, bytes(pending))
                pending.clear()
        if pending:
            await asyncio.to_thread(writer.write, bytes(pending))
        return await asyncio.to_thread(writer.commit)
    except BaseException:
        writer.cancelled = True  # a thread still writing stops at its next chunk
        writer.discard()
        raise


async def write_stream(settings: Settings, source: Source, filename: str = "", *, limit: int | None = None) -> Written:
    """Copy ``source`` durably into the blob store; its SHA-256, size and sniffed type.

    ``limit`` defaults to ``settings.max_upload_bytes``; past it ``UploadTooLarge`` is
    raised while copying. ``EmptyUpload`` for no bytes. Either way, and on any other
    error or a cancellation, the temp file is removed.
    """
    limit = settings.max_upload_bytes if limit is None else limit
    if isinstance(source, UploadFile):
        source = source.file
        source.seek(0)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    writer = await asyncio.to_thread(_new_writer, settings, filename, limit)
    if hasattr(source, "read"):
        try:
            return await asyncio.to_thread(_copy_file, writer, source)
        except asyncio.CancelledError:
            # The request was cancelled: the copying thread cannot be interrupted, but it
            # stops at its next chunk and removes its temp file.
            writer.cancelled = True
            raise
    return await _copy_chunks(writer, source)


def _new_writer(settings: Settings, filename: str, limit: int) -> _BlobWriter:
    _sweep_once(settings)
    return _BlobWriter(settings, filename, limit)


def write_blob(settings: Settings, data: bytes) -> str:
    """Write ``data`` (a thumbnail, a preview: small) durably into the blob store
    (blocking) and return its SHA-256.

    Atomic: a temp file in the blob dir is written and fsynced, renamed to its
    content address, then that directory is fsynced so the rename survives a crash
    (or one PUT to the bucket). Existing blobs are not rewritten (same name, same bytes).
    """
    if not data:
        raise EmptyUpload()
    sha256 = hashlib.sha256(data).hexdigest()
    store = blob_store(settings)
    if store.size(sha256) != len(data):
        store.put_bytes(sha256, data, _sniff(data[:HEAD], "", lambda: False))
    return sha256


def _thumbnail(settings: Settings, path: Path, content_type: str) -> str | None:
    """Blocking: the SHA-256 of a new thumbnail blob, or None if the image is rejected."""
    try:
        data = images.thumbnail(path, content_type, settings.max_image_pixels)
    except images.ImageRejected:
        return None
    return write_blob(settings, data)


def _stored_thumbnail(settings: Settings, sha256: str, content_type: str) -> str | None:
    """Blocking: ``_thumbnail`` of a blob already stored (fetched to a temp file from a bucket)."""
    with LocalCopy(settings, sha256) as path:
        return _thumbnail(settings, path, content_type)


def _temp_file(settings: Settings) -> Path:
    """A new empty file (mode 0600) among the temp files of the blob dir, which exists durably:
    an upload on its way in, a bucket's blob fetched for a tool (``sweep_temp_files``)."""
    LocalStore(settings.blob_dir).ensure_dir(settings.blob_dir)
    fd, name = tempfile.mkstemp(dir=settings.blob_dir, prefix=_TEMP_PREFIX)
    os.close(fd)
    return Path(name)


class LocalCopy:
    """``with LocalCopy(settings, sha256) as path``: the blob as a file on this machine
    (blocking): the store's own file, or a temp copy fetched from the bucket and removed
    afterwards, for tools that read files (Pillow, pdfium, ffmpeg)."""

    def __init__(self, settings: Settings, sha256: str) -> None:
        self.settings, self.sha256 = settings, sha256
        self._temp: Path | None = None

    def __enter__(self) -> Path:
        store = blob_store(self.settings)
        local = store.local_path(self.sha256)
        if local is not None:
            return local
        self._temp = _temp_file(self.settings)
        try:
            store.copy_to_file(self.sha256, self._temp)
        except BaseException:
            self._temp.unlink(missing_ok=True)
            raise
        return self._temp

    def __exit__(self, *exc) -> None:
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)


def _checked_image(settings: Settings, path: Path, content_type: str, thumbnail: bool) -> tuple[str, str | None]:
    """Blocking: (the type to store, the thumbnail's SHA-256) of a sniffed image."""
    if thumbnail:
        sha = _thumbnail(settings, path, content_type)
        return (content_type, sha) if sha else (OCTET_STREAM, None)
    try:
        images.check(path, content_type, settings.max_image_pixels)
    except images.ImageRejected:
        return OCTET_STREAM, None
    return content_type, None


async def store_stream(
    settings: Settings, workspace_id: int, source: Source, filename: str = "", *,
    content_type: str | None = None, limit: int | None = None, thumbnail: bool = True,
) -> StoredFile:
    """Store an upload for a workspace, streamed; its ``StoredFile`` row (a Table instance).

    The type is sniffed from the bytes (``content_type`` overrides the sniffing, e.g. for
    bytes typed already); a sniffed image is checked with Pillow and, when it is too
    large in pixels or undecodable, stored as octet-stream; otherwise it gets a
    thumbnail (unless ``thumbnail=False``). Raises ``UploadTooLarge`` or ``EmptyUpload``
    with nothing stored.

    Get-or-create on (workspace, sha256): the same bytes stored twice give the same
    row (its first ``content_type`` wins). The blob is on disk and fsynced before the
    row is inserted. Works inside or outside a transaction. A concurrent store of the
    same bytes is resolved by ``INSERT ... ON CONFLICT DO NOTHING`` on the unique
    (workspace, sha256) index followed by a re-read, instead of catching the integrity
    error: on PostgreSQL an error would abort the caller's whole transaction.
    """
    written = await write_stream(settings, source, filename, limit=limit)
    try:
        existing = await _find(workspace_id, written.sha256)
        if existing is not None:
            return existing
        content_type = content_type or written.content_type
        thumbnail_sha256 = None
        if content_type in images.FORMATS:
            content_type, thumbnail_sha256 = await asyncio.to_thread(
                _checked_image, settings, written.path, content_type, thumbnail
            )
    finally:
        await asyncio.to_thread(written.release)
    row = StoredFile(
        workspace=workspace_id, sha256=written.sha256, size=written.size, content_type=content_type,
        thumbnail_sha256=thumbnail_sha256, preview_status="pending" if content_type in PREVIEW_TYPES else "",
    )
    inserted = await (
        StoredFile.insert(row)
        .on_conflict(target=(StoredFile.workspace, StoredFile.sha256), action="DO NOTHING")
        .returning(StoredFile.id)
    )
    if inserted:  # Piccolo has set row.id from the RETURNING row
        return row
    # Lost the race: another request inserted the same bytes in between.
    winner = await _find(workspace_id, written.sha256)
    if winner is None:  # pragma: no cover - the conflicting row was deleted meanwhile
        raise RuntimeError(f"stored file {written.sha256} vanished during insert")
    return winner


async def store_bytes(settings: Settings, workspace_id: int, data: bytes, content_type: str) -> StoredFile:
    """``store_stream`` for bytes already in memory and typed (the demo loader, tests).

    ``content_type`` should come from ``sniff_content_type``; images are checked and
    get a thumbnail as uploads do. No upload size limit applies.
    """
    return await store_stream(settings, workspace_id, data, content_type=content_type, limit=len(data))


async def ensure_thumbnail(settings: Settings, stored_file_id: int, sha256: str, content_type: str) -> str | None:
    """The thumbnail of an image stored before thumbnails existed, made now; None if the
    image is rejected (too many pixels, undecodable) or not an image."""
    if content_type not in images.FORMATS:
        return None
    thumbnail_sha256 = await asyncio.to_thread(_stored_thumbnail, settings, sha256, content_type)
    if thumbnail_sha256:
        await StoredFile.update({StoredFile.thumbnail_sha256: thumbnail_sha256}).where(StoredFile.id == stored_file_id)
    return thumbnail_sha256


async def stored_size(settings: Settings, sha256: str) -> int | None:
    """The size of the blob in the store, or None if it is not there (a row that outlived
    its bytes). A file's ``stat`` in the data dir; a HEAD request, off the loop, to a bucket."""
    store = blob_store(settings)
    if store.local_path(sha256) is not None:
        return store.size(sha256)
    return await asyncio.to_thread(store.size, sha256)


async def _find(workspace_id: int, sha256: str) -> StoredFile | None:
    return await (
        StoredFile.objects()
        .where((StoredFile.workspace == workspace_id) & (StoredFile.sha256 == sha256))
        .first()
    )


def sweep_temp_files(settings: Settings, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Remove temp files a crash left in the blob dir (blocking); how many.

    Only files older than ``older_than`` seconds: a younger one may be an upload in
    progress in another worker.
    """
    removed = 0
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(settings.blob_dir))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.name.startswith(_TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
            try:
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                pass
    return removed


_swept: set[Path] = set()


def _sweep_once(settings: Settings) -> None:
    """``sweep_temp_files`` at the first upload of a process (one directory listing)."""
    if settings.blob_dir not in _swept:
        _swept.add(settings.blob_dir)
        sweep_temp_files(settings)
