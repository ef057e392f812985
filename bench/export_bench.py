"""Time and memory of a client organisation's export (``portal.privacy``) with one large file.

    .venv/bin/python bench/export_bench.py [--mb 200]

Builds a throwaway installation (SQLite in a temporary data dir): a workspace, a client
with one person and one project, and one shared file of ``--mb`` megabytes of random
bytes (written in 1 MiB chunks). Then exports the organisation the way the studio does
(the ZIP into an unnamed temporary file in the data dir, then read back in chunks as the
download would send it) and prints the time and the growth of the process's peak
memory (resident set size), and, in a second run under tracemalloc, the peak of Python's
own allocations.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

WORK = Path(tempfile.mkdtemp(prefix="portal-export-bench-"))
os.environ.update({
    "PORTAL_DATA_DIR": str(WORK / "data"), "DATABASE_URL": f"sqlite:///{WORK / 'data' / 'portal.sqlite3'}",
    "PORTAL_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789", "PORTAL_LOG_LEVEL": "WARNING",
    "PORTAL_MAX_UPLOAD_MB": "10000",
})
(WORK / "data").mkdir()

from portal.accounts.tables import ClientOrganisation, ClientUser  # noqa: E402  (after the environment)
from portal.db import engine  # noqa: E402
from portal.files.storage import CHUNK, store_stream  # noqa: E402
from portal.files.tables import ProjectFile  # noqa: E402
from portal.migrations import migrate  # noqa: E402
from portal.privacy import export, services  # noqa: E402
from portal.projects.tables import Project  # noqa: E402
from portal.settings import Settings  # noqa: E402
from portal.workspaces.tables import Workspace  # noqa: E402


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def first_id(query) -> int:
    return (await query)[0]["id"]


async def setup(settings: Settings, megabytes: int) -> tuple[int, int]:
    await migrate()
    ws = await first_id(Workspace.insert(Workspace(slug="bench", name="Bench Agency")).returning(Workspace.id))
    org = await first_id(ClientOrganisation.insert(ClientOrganisation(workspace=ws, name="Big Files Ltd")).returning(
        ClientOrganisation.id))
    await ClientUser.insert(ClientUser(workspace=ws, organisation=org, email="pat@bigfiles.example", name="Pat"))
    project = await first_id(Project.insert(Project(workspace=ws, organisation=org, name="Film")).returning(Project.id))
    source = WORK / "big.bin"
    with source.open("wb") as out:
        for _ in range(megabytes):
            out.write(os.urandom(CHUNK))
    with source.open("rb") as handle:
        stored = await store_stream(settings, ws, handle, "master.mov", limit=megabytes * CHUNK)
    source.unlink()
    await ProjectFile.insert(ProjectFile(workspace=ws, project=project, stored_file=stored.id, name="master.mov",
                                         shared=True))
    return ws, org


async def export_once(settings: Settings, ws: int, org: int) -> tuple[float, int]:
    """The studio's path: collect, ZIP into a temporary file, read it back in chunks."""
    start = time.perf_counter()
    collected = await export.collect(ws, org)
    with tempfile.TemporaryFile(dir=settings.data_dir) as target:
        await asyncio.to_thread(export.write_zip, settings, target, collected)
        size = target.tell()
        target.seek(0)
        with zipfile.ZipFile(target) as archive:  # a valid archive, with the file in it
            assert any(name.endswith("master.mov") for name in archive.namelist())
        target.seek(0)
        sent = 0
        async for chunk in services.chunks(os.fdopen(os.dup(target.fileno()), "rb")):
            sent += len(chunk)
        assert sent == size
    return time.perf_counter() - start, size


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200, help="size of the one file, in MiB")
    args = parser.parse_args()
    settings = Settings.from_env()
    try:
        ws, org = await setup(settings, args.mb)
        before = rss_peak_mb()
        seconds, size = await export_once(settings, ws, org)
        print(f"export of one {args.mb} MiB file: {size / 2**20:.1f} MiB ZIP in {seconds:.2f} s;"
              f" peak RSS +{rss_peak_mb() - before:.1f} MB over {before:.0f} MB")
        tracemalloc.start()
        seconds, _ = await export_once(settings, ws, org)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"under tracemalloc: {seconds:.2f} s; peak of Python allocations {peak / 2**20:.1f} MB")
    finally:
        await engine().close_pool()
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
