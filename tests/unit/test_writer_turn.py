"""SQLite writers of several processes take turns through a lock file (portal.db.WriterTurn).

Two ``WriterTurn`` objects on one path open the file twice, so their ``flock``s conflict
as two processes' would.
"""

from __future__ import annotations

import asyncio
import fcntl

import pytest

from portal.db import WriterTurn


def free(path) -> bool:
    probe = WriterTurn(str(path))
    try:
        fcntl.flock(probe.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        probe.close()


async def test_a_waiting_writer_gets_the_turn_as_soon_as_it_is_given(tmp_path):
    path = tmp_path / "portal.sqlite3"
    first, second = WriterTurn(str(path)), WriterTurn(str(path))
    await first.take()
    waiting = asyncio.create_task(second.take())
    await asyncio.sleep(0.1)
    assert not waiting.done() and not free(path)
    first.give()
    await asyncio.wait_for(waiting, 2)
    assert not free(path)  # the second writer holds it now
    second.give()
    assert free(path)


async def test_a_writer_that_waited_queues_again_instead_of_grabbing(tmp_path):
    path = tmp_path / "portal.sqlite3"
    first, second = WriterTurn(str(path)), WriterTurn(str(path))
    await first.take()
    waiting = asyncio.create_task(second.take())
    await asyncio.sleep(0.05)
    first.give()
    await asyncio.wait_for(waiting, 2)
    assert second.waited and not first.waited
    second.give()


async def test_a_cancelled_wait_gives_the_turn_back(tmp_path):
    path = tmp_path / "portal.sqlite3"
    first, second = WriterTurn(str(path)), WriterTurn(str(path))
    await first.take()
    waiting = asyncio.create_task(second.take())
    await asyncio.sleep(0.05)
    waiting.cancel()
    await asyncio.sleep(0.05)
    assert not waiting.done()  # still waiting for its thread, which waits for the lock
    first.give()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, 2)
    assert free(path)


async def test_no_file_no_lock():
    turn = WriterTurn("")
    await turn.take()
    turn.give()
    turn.close()
    assert turn.fd == -1
