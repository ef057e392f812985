"""A started process leaves its startup objects out of the garbage collector's full passes.

A full pass over everything a started worker holds took 70-100 ms, and every request in
flight waited for it (the benchmark's p99 at 32 connections); ``portal.app`` freezes what
exists once the app has started, once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import TEST_ENV

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import asyncio, gc
    from litestar.testing import AsyncTestClient
    from portal.app import create_app

    async def started() -> int:
        async with AsyncTestClient(app=create_app()) as client:
            assert (await client.get("/healthz")).status_code == 200
            return gc.get_freeze_count()

    before = gc.get_freeze_count()
    first = asyncio.run(started())
    second = asyncio.run(started())  # a second app in the same process

    class Node:
        pass

    made_later = Node()
    made_later.me = made_later  # a cycle made after startup: still collected
    del made_later
    print(before, first, second, gc.collect() >= 1, gc.isenabled())
""")


def test_startup_objects_are_frozen_once_and_later_garbage_is_still_collected():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **TEST_ENV}, timeout=120)
    assert done.returncode == 0, done.stderr
    before, first, second, collected, enabled = done.stdout.split()
    assert before == "0" and int(first) > 10_000  # the modules, the app, its routes
    assert int(second) <= int(first)  # not frozen again: the second app is not kept alive for ever
    assert collected == "True" and enabled == "True"
