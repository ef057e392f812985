"""``PORTAL_LITESTREAM_URL``: ``portal serve`` runs Litestream beside the app, the SQLite
database reaches the bucket (moto's S3 server) within seconds, and
``portal restore-replica`` brings it back into an installation that lost it.

The installation here has a SQLite database of its own in its data dir, whatever engine
the rest of the suite runs on."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

from tests.s3 import MotoS3
from tests.servers import ROOT, start_server


def _portal(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portal.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def _children(pid: int) -> list[str]:
    """The command lines of a process's children (from /proc)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = open(f"/proc/{entry.name}/stat").read()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(open(f"/proc/{entry.name}/cmdline").read().replace("\0", " "))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _has_workspace(config, database, probe) -> bool:
    from portal import litestream

    probe.unlink(missing_ok=True)
    done = subprocess.run([litestream.binary(), "restore", "-config", str(config), "-o", str(probe), str(database)],
                          env=litestream.environment(dict(os.environ)), capture_output=True, timeout=60)
    if done.returncode != 0 or not probe.exists():
        return False
    with sqlite3.connect(probe) as db:
        return db.execute("SELECT count(*) FROM workspace WHERE slug = 'replicated'").fetchone() == (1,)


def test_serve_replicates_the_database_and_restore_replica_brings_it_back(tmp_path):
    with MotoS3() as s3:
        bucket = s3.bucket("portal-litestream")
        one = tmp_path / "one"
        bucket_env = {name: value for name, value in s3.environment(bucket).items() if name != "PORTAL_STORAGE_URL"}
        env = {"PORTAL_DATA_DIR": str(one), "DATABASE_URL": f"sqlite:///{one / 'portal.sqlite3'}",
               "PORTAL_LITESTREAM_URL": f"s3://{bucket}/portal-db", **bucket_env}
        with start_server("litestream", env) as server:
            children = _children(server.process.pid)
            assert any(" replicate -config " in c and "litestream" in c for c in children), children
            assert any("portal.cli serve" in c for c in children), children
            assert oct((one / "litestream.yml").stat().st_mode & 0o777) == "0o600"  # it holds the secret
            out = server.cli("workspace", "create", "replicated", "Replicated Agency", "--owner", "ro@replicated.example")
            assert "replicated" in out
            # The workspace's commit reaches the bucket while the server runs (looked at with
            # Litestream's own restore into a scratch file, until it holds the row).
            deadline, probe = time.monotonic() + 30, tmp_path / "probe.sqlite3"
            while not _has_workspace(one / "litestream.yml", one / "portal.sqlite3", probe):
                assert time.monotonic() < deadline, "the commit did not reach the bucket in 30 s"
                time.sleep(0.5)
            assert any(key.startswith("portal-db/") for key in s3.keys(bucket))
            supervisor = server.process
        assert supervisor.poll() is not None
        assert _children(supervisor.pid) == []  # Litestream stopped with the server

        # A new machine: an empty data dir, the same settings.
        two = tmp_path / "two"
        restored_env = {**os.environ, **server.env, "PORTAL_DATA_DIR": str(two),
                        "DATABASE_URL": f"sqlite:///{two / 'portal.sqlite3'}"}
        done = _portal(restored_env, "restore-replica")
        assert done.returncode == 0, done.stderr
        assert f"restored {two / 'portal.sqlite3'} from s3://{bucket}/portal-db" in done.stdout
        with sqlite3.connect(two / "portal.sqlite3") as db:
            assert db.execute("SELECT name FROM workspace WHERE slug = 'replicated'").fetchall() == [("Replicated Agency",)]
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

        again = _portal(restored_env, "restore-replica")
        assert again.returncode == 1
        assert "exists: restore into an installation without a database, or add --force" in again.stderr
        unset = _portal({**restored_env, "PORTAL_LITESTREAM_URL": ""}, "restore-replica")
        assert unset.returncode == 1 and "set PORTAL_LITESTREAM_URL" in unset.stderr
        postgres = _portal({**restored_env, "DATABASE_URL": "postgresql://portal@127.0.0.1:1/none"}, "serve")
        assert postgres.returncode == 1
        assert "PORTAL_LITESTREAM_URL replicates SQLite; PostgreSQL has its own replication" in postgres.stderr
