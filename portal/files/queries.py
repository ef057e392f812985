"""The files area's plain-SQL read: the portal's Files tab.

Plain SQL on this hot read: Piccolo's joined select costs more CPU to build than to run
(bench/profile_tab.py). Column names are Piccolo's own.
"""

from __future__ import annotations

from portal.db import fetch

_SHARED = (
    'SELECT f."id", f."name", f."created_at", f."shared", s."content_type" AS "stored_file.content_type",'
    ' s."size" AS "stored_file.size", s."thumbnail_sha256" AS "stored_file.thumbnail_sha256",'
    ' s."preview_status" AS "stored_file.preview_status" FROM "project_file" f JOIN "stored_file" s ON s."id" = f."stored_file"'
    ' WHERE f."project" = {} AND f."workspace" = {} AND f."deleted_at" IS NULL AND f."shared" = {}'
    ' ORDER BY f."created_at" DESC, f."id" DESC'
)


async def shared_files(project_id: int, workspace_id: int) -> list[dict]:
    """The project's shared, undeleted files, newest first."""
    return await fetch(_SHARED, project_id, workspace_id, True)
