"""Removing the blobs a deletion left unreferenced, after its commit.

Blobs are content-addressed and shared: the same bytes may be another client's file, a
thumbnail or a logo, in this workspace or another. So a blob goes only when no row of any
workspace names it (the columns the backup archives from). Each is first moved aside,
then the references are asked again: the same bytes uploaded meanwhile (the upload found
the blob on disk and inserted its row) are put back.
"""

from __future__ import annotations

import asyncio
import logging

from portal.files.blobstore import blob_store
from portal.privacy import queries
from portal.settings import Settings

log = logging.getLogger("portal.privacy")


def _finish(settings: Settings, sha256: str, aside: str, referenced: bool) -> None:
    """Blocking: remove the set-aside blob, or put it back if a new row points at it."""
    store = blob_store(settings)
    if referenced:
        store.put_back(sha256, aside)
    else:
        store.drop(aside)


async def remove_unreferenced(settings: Settings, sha256s: list[str]) -> int:
    """Remove from the blob store those of the blobs that no row of any workspace references; how many."""
    candidates = sorted(set(sha256s))
    if not candidates:
        return 0
    referenced = await queries.referenced_blobs(candidates)
    unreferenced = [sha for sha in candidates if sha not in referenced]
    store = blob_store(settings)
    aside = {sha: path for sha in unreferenced if (path := await asyncio.to_thread(store.set_aside, sha))}
    if not aside:
        return 0
    referenced_now = await queries.referenced_blobs(sorted(aside))
    for sha, path in aside.items():
        await asyncio.to_thread(_finish, settings, sha, path, sha in referenced_now)
        if sha in referenced_now:
            log.warning("blob %s was stored again while its last user was deleted: kept", sha)
    return sum(1 for sha in aside if sha not in referenced_now)
