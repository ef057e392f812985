"""PostgreSQL's read cache follows the database's snapshots in time (portal.db.SnapshotCache)."""

from __future__ import annotations

from portal.db import SnapshotCache, _snapshot_order


def test_later_snapshots_order_after_earlier_ones():
    # xmax goes up as transactions finish; with the same xmax, fewer still running.
    assert _snapshot_order("700:705:") > _snapshot_order("700:704:")
    assert _snapshot_order("700:705:701") > _snapshot_order("700:705:701,703")
    assert _snapshot_order("702:705:") > _snapshot_order("700:705:701")
    assert _snapshot_order("9:12:") > _snapshot_order("10:11:10")
    assert _snapshot_order("700:705:") == _snapshot_order("700:705:")


def test_a_newer_snapshot_empties_the_cache_and_an_older_one_leaves_it():
    cache = SnapshotCache(max_rows=100)
    cache.check("700:704:")
    cache.put(("q", 1), "700:704:", [{"n": 1}])
    assert cache.get_at(("q", 1), "700:704:") == [{"n": 1}]
    cache.check("700:705:")  # something committed: what was read before may be old
    assert cache.version == "700:705:" and not cache.rows
    assert cache.get_at(("q", 1), "700:705:") is None
    cache.put(("q", 1), "700:705:", [{"n": 2}])
    # A check sent earlier but answered later is older: the cache stays as it is, and a
    # request holding that older snapshot neither reads from it nor writes to it.
    cache.check("700:704:")
    assert cache.version == "700:705:" and cache.get_at(("q", 1), "700:705:") == [{"n": 2}]
    assert cache.get_at(("q", 1), "700:704:") is None
    cache.put(("q", 2), "700:704:", [{"n": 3}])
    assert ("q", 2) not in cache.rows
