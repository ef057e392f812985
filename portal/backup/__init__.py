"""Backups of an installation: the database and every file it references, in one archive.

``backup`` runs while the server serves: on SQLite the database is copied with SQLite's
online backup API (a consistent snapshot, writers carry on), on PostgreSQL with
``pg_dump`` inside the snapshot of a repeatable-read transaction that also lists the
files and counts the rows, so the archive's parts agree. Blobs are content-addressed and
never rewritten, so copying the ones the snapshot references after it was taken is
consistent too; each is hashed as it is archived.

The archive (``portal-backup-<UTC time>.tar``) holds ``manifest.json`` (format, engine,
schema version, row counts, every blob's SHA-256 and size), the database
(``database.sqlite3`` or ``database.pgdump``), the generated secret key when the data dir
has one (``secret_key``: without it stored Stripe keys cannot be read), and
``blobs/<aa>/<sha256>``. It is written as ``.part`` and renamed when complete.

``restore`` puts an archive into an empty installation (refusing a non-empty one unless
forced), checking every blob's hash on the way in; ``check`` verifies a data dir.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from portal import clock
from portal.backup import queries
from portal.files.blobstore import BlobStore, blob_store, sha256_of
from portal.mail import schedule
from portal.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
SECRET_KEY_FILE = "secret_key"
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup or restore cannot be done (the message says why); nothing was changed."""


@dataclass
class Snapshot:
    """What the database held at the snapshot: row counts, the referenced blobs, the schema."""

    counts: dict[str, int]
    blobs: set[str]
    schema: list[str]


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    blobs: int = 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _sha256_of(path: Path) -> str:
    with path.open("rb") as source:
        return sha256_of(source)


def _blob_sha256(store: BlobStore, sha256: str) -> str:
    """The SHA-256 of a stored blob's bytes as they are now, read in chunks."""
    with store.open(sha256) as source:
        return sha256_of(source)


class _Hashing:
    """A file object's bytes as read, hashed on the way (a blob into the archive)."""

    def __init__(self, source) -> None:
        self.source, self.digest = source, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.digest.update(chunk)
        return chunk


# Reading a snapshot: the same questions, asked of SQLite (sqlite3) or PostgreSQL (psql-like
# rows through a callable), so that both engines give the same manifest.


def _snapshot(engine: str, query) -> Snapshot:
    """``query(sql)`` returns rows as tuples."""
    tables = [row[0] for row in query(queries.tables(engine))]
    counts = {table: query(queries.row_count(table))[0][0] for table in tables}
    blobs: set[str] = set()
    for table, column in queries.BLOB_COLUMNS:
        if table in counts:
            blobs |= {row[0] for row in query(queries.blob_references(table, column))}
    blobs.discard("")
    schema = [f"{row[0]}:{row[1]}" for row in query(queries.SCHEMA)] if "migration" in counts else []
    return Snapshot(counts, blobs, schema)


def _sqlite_query(connection: sqlite3.Connection):
    return lambda sql: connection.execute(sql).fetchall()


# Backup


_NAME_TIME = "portal-backup-%Y%m%dT%H%M%SZ.tar"


@dataclass(frozen=True)
class LastBackup:
    path: Path
    created_at: dt.datetime
    size: int
    kept: int


def latest(directory: Path) -> LastBackup | None:
    """The newest archive of ``directory`` (its time from its name), or None."""
    archives = sorted(directory.glob("portal-backup-*.tar")) if directory.is_dir() else []
    for path in reversed(archives):
        try:
            created = dt.datetime.strptime(path.name, _NAME_TIME).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        return LastBackup(path, created, path.stat().st_size, len(archives))
    return None


def scheduled(settings: Settings) -> Path | None:
    """The background backup (blocking): a new archive when the newest is PORTAL_BACKUP_HOURS old.

    One process of the installation does it (an exclusive lock on ``.lock`` in the backup
    dir, released by the system if that process dies); the others return at once.
    """
    if not settings.backup_hours:
        return None
    directory = settings.backup_dir
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        last = latest(directory)
        if last and _now() - last.created_at < dt.timedelta(hours=settings.backup_hours):
            return None
        archive = backup(settings, directory)
        prune(directory, settings.backup_keep)
        return archive


async def scheduled_once(settings: Settings) -> Path | None:
    """``scheduled``, by one process of the whole installation per period, whichever
    replica it runs in (``portal.mail.schedule``): the first period counts from the
    newest archive of the backup dir."""
    if not settings.backup_hours:
        return None
    every = dt.timedelta(hours=settings.backup_hours)
    newest = await asyncio.to_thread(latest, settings.backup_dir)
    first_due = newest.created_at + every if newest else clock.now()
    if not await schedule.claim("backup", every, first_due, by=f"{socket.gethostname()}:{os.getpid()}"):
        return None
    return await asyncio.to_thread(scheduled, settings)


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` newest archives of ``directory``; the removed ones."""
    archives = sorted(directory.glob("portal-backup-*.tar"))
    removed = archives[:-keep] if len(archives) > keep else []
    for path in removed:
        path.unlink()
    return removed


def backup(settings: Settings, to_dir: Path | None = None) -> Path:
    """Write an archive of the installation into ``to_dir`` (default: PORTAL_BACKUP_DIR); its path."""
    target = Path(to_dir or settings.backup_dir).expanduser().resolve()
    target.mkdir(parents=True, exist_ok=True)
    created = _now()
    archive = target / created.strftime(_NAME_TIME)
    with tempfile.TemporaryDirectory(dir=target, prefix=".backup-") as work:
        work_dir = Path(work)
        if settings.is_sqlite:
            database, engine = work_dir / "database.sqlite3", "sqlite"
            snapshot = _sqlite_snapshot(settings.sqlite_path, database)
        else:
            database, engine = work_dir / "database.pgdump", "postgresql"
            snapshot = _postgres_snapshot(settings.database_url, database)
        part = archive.with_suffix(".tar.part")
        blobs = []
        with tarfile.open(part, "w") as tar:
            tar.add(database, arcname=database.name)
            key = settings.data_dir / SECRET_KEY_FILE
            if key.is_file():
                tar.add(key, arcname=SECRET_KEY_FILE)
            store = blob_store(settings)
            for sha256 in sorted(snapshot.blobs):
                size = store.size(sha256)
                if size is None:
                    raise BackupError(f"blob {sha256} is referenced but missing from {store.label}")
                info = tarfile.TarInfo(f"blobs/{sha256[:2]}/{sha256}")
                info.size, info.mode, info.mtime = size, 0o600, int(created.timestamp())
                with store.open(sha256) as source:
                    hashing = _Hashing(source)
                    tar.addfile(info, hashing)
                if hashing.digest.hexdigest() != sha256:
                    raise BackupError(f"blob {sha256} does not match its hash: run `portal check`")
                blobs.append({"sha256": sha256, "size": size})
            manifest = {
                "format": FORMAT, "created_at": created.isoformat(), "engine": engine, "database": database.name,
                "database_sha256": _sha256_of(database), "schema": snapshot.schema, "counts": snapshot.counts,
                "blobs": blobs, "secret_key": (settings.data_dir / SECRET_KEY_FILE).is_file(),
            }
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(created.timestamp())
            tar.addfile(info, io.BytesIO(data))
        with part.open("rb+") as written:
            os.fsync(written.fileno())
        os.replace(part, archive)
    return archive


def _sqlite_snapshot(source: Path, copy: Path) -> Snapshot:
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    with sqlite3.connect(source, timeout=30) as live, sqlite3.connect(copy) as snapshot:
        live.backup(snapshot)  # online: pages copied consistently while other connections write
    with sqlite3.connect(copy) as snapshot:
        return _snapshot("sqlite", _sqlite_query(snapshot))


def _psql(url: str, sql: str, snapshot_id: str | None = None) -> list[tuple]:
    """Rows of one query through psql (tab-separated, numbers as ints)."""
    script = sql if snapshot_id is None else (
        "BEGIN ISOLATION LEVEL REPEATABLE READ;"
        f"SET TRANSACTION SNAPSHOT '{snapshot_id}';{sql};COMMIT;"
    )
    out = subprocess.run(["psql", url, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", script],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise BackupError(f"psql failed: {out.stderr.strip()}")
    rows = []
    for line in out.stdout.splitlines():
        if line.strip() in ("", "BEGIN", "SET", "COMMIT"):
            continue
        rows.append(tuple(int(v) if v.isdigit() and len(v) < 19 else v for v in line.split("\t")))
    return rows


def _postgres_snapshot(url: str, dump: Path) -> Snapshot:
    """pg_dump and the manifest's facts from one exported snapshot (a transaction held open)."""
    for tool in ("pg_dump", "psql"):
        if shutil.which(tool) is None:
            raise BackupError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    holder = subprocess.Popen(["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdin and holder.stdout
        holder.stdin.write("BEGIN ISOLATION LEVEL REPEATABLE READ;\nSELECT pg_export_snapshot();\n")
        holder.stdin.flush()
        snapshot_id = ""
        while not snapshot_id:
            line = holder.stdout.readline()
            if not line:
                raise BackupError(f"psql failed: {holder.stderr.read().strip()}")
            if line.strip() not in ("", "BEGIN"):
                snapshot_id = line.strip()
        done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot_id}",
                               "--file", str(dump), url], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        return _snapshot("postgresql", lambda sql: _psql(url, sql, snapshot_id))
    finally:
        if holder.stdin:
            holder.stdin.close()
        holder.wait(timeout=30)


# Restore


def read_manifest(archive: Path) -> dict:
    try:
        with tarfile.open(archive) as tar:
            member = tar.extractfile(MANIFEST)
            manifest = json.loads(member.read()) if member else None
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{archive} is not a portal backup: {exc}") from None
    if not manifest or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is not a portal backup of format {FORMAT}")
    return manifest


def _is_empty(settings: Settings) -> bool:
    has_blobs = next(blob_store(settings).names(), None) is not None
    if settings.is_sqlite:
        db = settings.sqlite_path
        return not has_blobs and not (db.is_file() and db.stat().st_size > 0 and _sqlite_tables(db))
    return not has_blobs and not _psql(settings.database_url, queries.tables("postgresql"))


def _sqlite_tables(path: Path) -> list:
    with sqlite3.connect(path) as connection:
        return connection.execute(queries.tables("sqlite")).fetchall()


def restore(settings: Settings, archive: Path, *, force: bool = False) -> dict:
    """Restore ``archive`` into this installation; its manifest. Refuses a non-empty one unless ``force``."""
    manifest = read_manifest(archive)
    engine = "sqlite" if settings.is_sqlite else "postgresql"
    if manifest["engine"] != engine:
        raise BackupError(f"the archive holds a {manifest['engine']} database and this installation uses {engine}")
    if not force and not _is_empty(settings):
        raise BackupError(f"{settings.data_dir} (or its database) is not empty: restore into an empty one, or add --force")
    expected = {blob["sha256"] for blob in manifest["blobs"]}
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix=".restore-") as work, tarfile.open(archive) as tar:
        work_dir = Path(work)
        names = set(tar.getnames())
        for blob in expected:
            if f"blobs/{blob[:2]}/{blob}" not in names:
                raise BackupError(f"the archive lacks blob {blob}")
        tar.extract(manifest["database"], work_dir, filter="data")
        database = work_dir / manifest["database"]
        if _sha256_of(database) != manifest["database_sha256"]:
            raise BackupError("the archive's database does not match its checksum")
        store = blob_store(settings)
        settings.blob_dir.mkdir(parents=True, exist_ok=True)
        for member in tar:
            if member.name.startswith("blobs/") and member.isfile():
                sha256 = member.name.rsplit("/", 1)[-1]
                if sha256 not in expected:
                    continue
                temp = settings.blob_dir / f".tmp-restore-{sha256}"
                try:
                    with tar.extractfile(member) as source, temp.open("wb") as out:
                        shutil.copyfileobj(source, out, _CHUNK)
                        out.flush()
                        os.fsync(out.fileno())
                    if _sha256_of(temp) != sha256:
                        raise BackupError(f"blob {sha256} in the archive does not match its hash")
                    store.put_file(sha256, temp)  # the data dir: renamed into place; a bucket: sent
                finally:
                    temp.unlink(missing_ok=True)
        if manifest.get("secret_key") and SECRET_KEY_FILE in names:
            # The installation's own key (a fresh data dir has just generated one) gives way to
            # the archive's: sessions and stored Stripe keys were made with it.
            tar.extract(SECRET_KEY_FILE, work_dir, filter="data")
            key = settings.data_dir / SECRET_KEY_FILE
            os.replace(work_dir / SECRET_KEY_FILE, key)
            key.chmod(0o600)
        if engine == "sqlite":
            for suffix in ("-wal", "-shm"):
                Path(f"{settings.sqlite_path}{suffix}").unlink(missing_ok=True)
            os.replace(database, settings.sqlite_path)
        else:
            done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error",
                                   "-d", settings.database_url, str(database)], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
    return manifest


# Check


def check(settings: Settings) -> CheckReport:
    """The database's integrity, every referenced blob present with its hash, the orphans."""
    report = CheckReport()
    if settings.is_sqlite:
        if not settings.sqlite_path.is_file():
            report.problems.append(f"no database at {settings.sqlite_path}")
            return report
        with sqlite3.connect(settings.sqlite_path, timeout=30) as connection:
            result = [row[0] for row in connection.execute(queries.INTEGRITY_CHECK).fetchall()]
            if result != ["ok"]:
                report.problems += [f"database: {line}" for line in result]
            snapshot = _snapshot("sqlite", _sqlite_query(connection))
    else:
        snapshot = _snapshot("postgresql", lambda sql: _psql(settings.database_url, sql))
    report.blobs = len(snapshot.blobs)
    store = blob_store(settings)
    for sha256 in sorted(snapshot.blobs):
        if store.size(sha256) is None:
            report.problems.append(f"missing blob {sha256}")
        elif _blob_sha256(store, sha256) != sha256:
            report.problems.append(f"corrupted blob {sha256} (its bytes no longer match their hash)")
    report.orphans = sorted(name for name in store.names() if name not in snapshot.blobs)
    return report
