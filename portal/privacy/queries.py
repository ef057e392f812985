"""The privacy area's plain SQL: which of some blobs anything still references.

Plain SQL because the question is asked of every column that names a blob, the same
list the backup archives from (``portal.backup.queries.BLOB_COLUMNS``), so a column
added there is respected here too.
"""

from __future__ import annotations

from portal.backup.queries import BLOB_COLUMNS
from portal.db import fetch, in_list

#: Blobs asked about per statement (well under both engines' limits on parameters).
BATCH = 500


async def referenced_blobs(sha256s: list[str]) -> set[str]:
    """The ones of ``sha256s`` that a row of any workspace still points at."""
    found: set[str] = set()
    for start in range(0, len(sha256s), BATCH):
        batch = sha256s[start:start + BATCH]
        for table, column in BLOB_COLUMNS:
            rows = await fetch(f'SELECT DISTINCT "{column}" AS "sha256" FROM "{table}" WHERE "{column}" IN ({in_list(batch)})',
                               *batch)
            found |= {row["sha256"] for row in rows}
    return found
