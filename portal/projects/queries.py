"""The projects area's plain-SQL reads: the ones every portal request makes.

Piccolo is the default; these few are plain SQL because Piccolo spends more CPU
building them (0.2-0.4 ms each) than SQLite spends running them (bench/profile_tab.py).
Column names are Piccolo's own; IN-lists get their placeholders from ``in_list``.
"""

from __future__ import annotations

import datetime as dt

from portal.db import column_list, fetch, in_list
from portal.projects.tables import Project

#: A live grant: not revoked and not expired (arguments: client user, workspace, today).
_LIVE_GRANT = (
    'SELECT "project" FROM "project_access" WHERE "client_user" = {} AND "workspace" = {}'
    ' AND "revoked_at" IS NULL AND ("expires_on" IS NULL OR "expires_on" >= {})'
)
_VISIBLE_PROJECT = (
    f'SELECT {column_list(Project._meta.columns)} FROM "project" WHERE "id" = {{}} AND "workspace" = {{}}'
    f' AND "id" IN ({_LIVE_GRANT})'
)
CARD_COLUMNS = (Project.id, Project.name, Project.description, Project.status, Project.start_date, Project.due_date)
_PROJECTS = f'SELECT {column_list(CARD_COLUMNS)} FROM "project" WHERE "id" IN (%s) ORDER BY "name"'
_TASK_COUNTS = (
    'SELECT "project", "status", COUNT(*) AS "n" FROM "task" WHERE "project" IN (%s)'
    " AND \"kind\" = 'work' AND \"status\" != 'cancelled' GROUP BY \"project\", \"status\""
)
_MILESTONES = (
    'SELECT "project", "name", "due_date", "completed_at" FROM "milestone" WHERE "project" IN (%s)'
    ' ORDER BY "project", "position", "due_date"'
)


async def granted_project_ids(user_id: int, workspace_id: int, today: dt.date) -> list[int]:
    rows = await fetch(_LIVE_GRANT, user_id, workspace_id, today)
    return [row["project"] for row in rows]


async def granted_project(project_id: int, workspace_id: int, user_id: int, today: dt.date) -> dict | None:
    rows = await fetch(_VISIBLE_PROJECT, project_id, workspace_id, user_id, workspace_id, today)
    return rows[0] if rows else None


async def project_cards(ids: list[int]) -> list[dict]:
    """``CARD_COLUMNS`` of these projects, in name order."""
    return await fetch(_PROJECTS % in_list(ids), *ids) if ids else []


async def work_task_counts(ids: list[int]) -> list[dict]:
    """Per project and status, how many work tasks (cancelled ones left out)."""
    return await fetch(_TASK_COUNTS % in_list(ids), *ids) if ids else []


async def milestones(ids: list[int]) -> list[dict]:
    return await fetch(_MILESTONES % in_list(ids), *ids) if ids else []
