"""Where the bytes of blobs live: the data dir (the default) or an S3-compatible bucket.

``PORTAL_STORAGE_URL`` chooses: empty for ``<data dir>/blobs`` (``LocalStore``), or
``s3://bucket/prefix`` (``BucketStore``, through obstore, with the endpoint, region and
credentials of the ``PORTAL_S3_*`` settings). Both keep a blob under the same
content address, ``<sha256[:2]>/<sha256>``, so moving from one to the other
(``portal storage migrate``) copies names as they are.

The methods are blocking (call them in a thread), except ``chunks``, which streams a
byte range for a response. A bucket needs no public access: the portal reads and writes
with its own credentials, and a presigned URL (``signed_url``) lets a browser fetch one
blob for a few minutes when ``PORTAL_STORAGE_PRESIGN_SECONDS`` is set.

Writes are whole-or-nothing in both: a local blob is written to a temp file, fsynced
and renamed; a bucket object becomes visible only when its (multipart, for large files)
upload completes. Memory stays flat: files are sent and read in chunks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import anyio
import obstore
from obstore.store import S3Store

from portal.settings import Settings

_SHA256 = re.compile(r"[0-9a-f]{64}")
#: Reading unit of downloads and copies.
CHUNK = 1024 * 1024
#: Multipart part size and parallel parts of a bucket upload: at most about
#: ``PART * PARTS_AT_ONCE`` bytes of an upload are in memory at once.
PART = 8 * 1024 * 1024
PARTS_AT_ONCE = 2
_ASIDE_PREFIX = ".deleting-"


def key_of(sha256: str) -> str:
    """A blob's name in any store; ValueError for anything but 64 lowercase hex digits,
    so that a value from outside can never name something else."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return f"{sha256[:2]}/{sha256}"


def fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` (a new or renamed file in it) survive a crash."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_of(source: BinaryIO) -> str:
    """The SHA-256 (hex) of what is left to read in ``source``, read in chunks."""
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


class BlobStore(ABC):
    """The interface both stores share (see the module's docstring)."""

    #: How the store is named in messages (a directory, or ``s3://bucket/prefix``).
    label: str = ""

    def local_path(self, sha256: str) -> Path | None:
        """The blob as a file on this machine, when the store is the data dir (else None)."""
        return None

    @abstractmethod
    def size(self, sha256: str) -> int | None:
        """The blob's size in bytes, or None if it is not in the store."""

    @abstractmethod
    def put_file(self, sha256: str, path: Path, content_type: str = "") -> None:
        """Store the file at ``path`` (whose bytes hash to ``sha256``) under that name."""

    @abstractmethod
    def put_bytes(self, sha256: str, data: bytes, content_type: str = "") -> None:
        """Store ``data`` (small: a thumbnail, a preview) under ``sha256``."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """The blob, to read in chunks; FileNotFoundError if it is not in the store."""

    @abstractmethod
    def chunks(self, sha256: str, start: int, length: int) -> AsyncIterator[bytes]:
        """``length`` bytes of the blob from ``start``, streamed (for a response)."""

    def read_bytes(self, sha256: str) -> bytes:
        """A small blob whole (a logo, a thumbnail)."""
        with self.open(sha256) as source:
            return source.read()

    def copy_to_file(self, sha256: str, target: Path) -> None:
        """Copy the blob into the file ``target``, in chunks (for tools that need a file)."""
        with self.open(sha256) as source, target.open("wb") as out:
            shutil.copyfileobj(source, out, CHUNK)

    @abstractmethod
    def set_aside(self, sha256: str) -> str | None:
        """Move the blob to a name no reader or upload uses; that name, or None if absent."""

    @abstractmethod
    def put_back(self, sha256: str, aside: str) -> None:
        """Undo ``set_aside``, unless the blob has been stored again meanwhile (then drop it)."""

    @abstractmethod
    def drop(self, aside: str) -> None:
        """Remove a set-aside blob for good."""

    @abstractmethod
    def names(self) -> Iterator[str]:
        """The SHA-256 of every blob in the store."""

    def signed_url(self, sha256: str, seconds: int) -> str | None:
        """A URL that fetches the blob for ``seconds`` without credentials, if the store has one."""
        return None


class LocalStore(BlobStore):
    """Blobs as files under a directory: ``<dir>/<sha256[:2]>/<sha256>``, mode 0600."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.label = str(directory)

    def path(self, sha256: str) -> Path:
        return self.directory / key_of(sha256)

    def local_path(self, sha256: str) -> Path:
        return self.path(sha256)

    def ensure_dir(self, directory: Path) -> None:
        """``directory`` (the store's or one of its shards) exists, durably."""
        if directory.is_dir():
            return
        new_root = not self.directory.is_dir()
        directory.mkdir(parents=True, exist_ok=True)
        # New directories' own entries must survive a crash too.
        fsync_dir(directory.parent)
        if new_root and directory != self.directory:
            fsync_dir(self.directory.parent)

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def put_file(self, sha256: str, path: Path, content_type: str = "") -> None:
        """Rename ``path`` (a synced file on the same file system) into place, durably."""
        target = self.path(sha256)
        self.ensure_dir(target.parent)
        os.replace(path, target)
        fsync_dir(target.parent)

    def put_bytes(self, sha256: str, data: bytes, content_type: str = "") -> None:
        self.ensure_dir(self.directory)
        fd, name = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            self.put_file(sha256, Path(name))
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    async def chunks(self, sha256: str, start: int, length: int) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self.path(sha256), "rb") as handle:
            await handle.seek(start)
            remaining = length
            while remaining > 0:
                chunk = await handle.read(min(64 * 1024, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    def set_aside(self, sha256: str) -> str | None:
        path = self.path(sha256)
        aside = path.with_name(f"{_ASIDE_PREFIX}{sha256}")
        try:
            os.replace(path, aside)
        except FileNotFoundError:
            return None
        return str(aside)

    def put_back(self, sha256: str, aside: str) -> None:
        if self.path(sha256).exists():
            os.unlink(aside)
        else:
            os.replace(aside, self.path(sha256))

    def drop(self, aside: str) -> None:
        os.unlink(aside)

    def names(self) -> Iterator[str]:
        if self.directory.is_dir():
            for path in sorted(self.directory.glob("??/*")):
                if path.is_file() and _SHA256.fullmatch(path.name):
                    yield path.name


class BucketStore(BlobStore):
    """Blobs as objects of an S3-compatible bucket, ``<prefix>/<sha256[:2]>/<sha256>``."""

    def __init__(self, url: str, *, endpoint: str = "", region: str = "", access_key_id: str = "",
                 secret_access_key: str = "") -> None:
        parts = urlsplit(url)
        self.bucket, self.prefix = parts.netloc, parts.path.strip("/")
        self.label = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        config: dict = {"region": region or "us-east-1"}
        if endpoint:
            config.update(endpoint=endpoint.rstrip("/"), virtual_hosted_style_request=False)
        if access_key_id:
            config.update(access_key_id=access_key_id, secret_access_key=secret_access_key)
        self.store = S3Store(self.bucket, prefix=self.prefix or None,
                             client_options={"allow_http": endpoint.startswith("http://")}, **config)

    def size(self, sha256: str) -> int | None:
        try:
            return obstore.head(self.store, key_of(sha256))["size"]
        except FileNotFoundError:
            return None

    def _attributes(self, content_type: str) -> dict:
        return {"Content-Type": content_type} if content_type else {}

    def put_file(self, sha256: str, path: Path, content_type: str = "") -> None:
        with path.open("rb") as source:
            obstore.put(self.store, key_of(sha256), source, attributes=self._attributes(content_type),
                        chunk_size=PART, max_concurrency=PARTS_AT_ONCE)

    def put_bytes(self, sha256: str, data: bytes, content_type: str = "") -> None:
        obstore.put(self.store, key_of(sha256), data, attributes=self._attributes(content_type))

    def open(self, sha256: str) -> BinaryIO:
        return _Reader(obstore.open_reader(self.store, key_of(sha256), buffer_size=CHUNK))

    async def chunks(self, sha256: str, start: int, length: int) -> AsyncIterator[bytes]:
        if length <= 0:
            return
        result = await obstore.get_async(self.store, key_of(sha256), options={"range": (start, start + length)})
        async for chunk in result.stream(min_chunk_size=64 * 1024):
            yield bytes(chunk)

    def _aside_key(self, sha256: str) -> str:
        return f"{sha256[:2]}/{_ASIDE_PREFIX}{sha256}"

    def set_aside(self, sha256: str) -> str | None:
        try:
            obstore.rename(self.store, key_of(sha256), self._aside_key(sha256))
        except FileNotFoundError:
            return None
        return self._aside_key(sha256)

    def put_back(self, sha256: str, aside: str) -> None:
        if self.size(sha256) is None:
            obstore.rename(self.store, aside, key_of(sha256))
        else:
            obstore.delete(self.store, aside)

    def drop(self, aside: str) -> None:
        obstore.delete(self.store, aside)

    def names(self) -> Iterator[str]:
        for batch in obstore.list(self.store):
            for meta in batch:
                name = meta["path"].rsplit("/", 1)[-1]
                if _SHA256.fullmatch(name):
                    yield name

    def signed_url(self, sha256: str, seconds: int) -> str | None:
        return obstore.sign(self.store, "GET", key_of(sha256), dt.timedelta(seconds=seconds))


class _Reader:
    """obstore's reader as a binary file object (``with``, ``read``) for copying code."""

    def __init__(self, reader) -> None:
        self._reader = reader

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return bytes(self._reader.readall())
        return bytes(self._reader.read(size))

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_stores: dict[tuple, BlobStore] = {}


def blob_store(settings: Settings) -> BlobStore:
    """The store the settings name (one object per process and configuration)."""
    key = (settings.storage_url, str(settings.blob_dir), settings.s3_endpoint, settings.s3_region,
           settings.s3_access_key_id, settings.s3_secret_access_key)
    store = _stores.get(key)
    if store is None:
        if settings.storage_url:
            store = BucketStore(settings.storage_url, endpoint=settings.s3_endpoint, region=settings.s3_region,
                                access_key_id=settings.s3_access_key_id,
                                secret_access_key=settings.s3_secret_access_key)
        else:
            store = LocalStore(settings.blob_dir)
        _stores[key] = store
    return store


@dataclass
class MigrationReport:
    """What ``migrate_to_bucket`` did: blobs copied, already there, refused (bytes that no
    longer match their name: reported, not copied)."""

    copied: int = 0
    present: int = 0
    corrupted: list[str] = field(default_factory=list)


def migrate_to_bucket(settings: Settings) -> MigrationReport:
    """Copy every blob of the data dir into the bucket of ``PORTAL_STORAGE_URL`` (blocking).

    Idempotent and resumable: a blob the bucket has at the same size is left alone. The
    data dir's files are kept (remove ``<data dir>/blobs`` once ``portal check`` passes).
    """
    target = blob_store(settings)
    if not isinstance(target, BucketStore):
        raise ValueError("PORTAL_STORAGE_URL names no bucket: set it to s3://bucket/prefix first")
    source = LocalStore(settings.blob_dir)
    report = MigrationReport()
    for sha256 in source.names():
        path = source.path(sha256)
        size = path.stat().st_size
        if target.size(sha256) == size:
            report.present += 1
            continue
        with path.open("rb") as data:
            intact = sha256_of(data) == sha256
        if not intact:
            report.corrupted.append(sha256)
            continue
        target.put_file(sha256, path)
        report.copied += 1
    return report
