"""The deliverables area's plain-SQL reads: the lists and pages clients open most.

Piccolo is the default; these are plain SQL because Piccolo spends about a millisecond
of CPU composing them, more than SQLite spends running them (bench/profile_tab.py).
Column names are Piccolo's own; IN-lists get their placeholders from ``in_list``.
"""

from __future__ import annotations

from portal.db import column_list, fetch, in_list
from portal.deliverables.tables import CLIENT_VISIBLE_STATUSES, Deliverable, DeliverableVersion

DELIVERABLE_COLUMNS = (
    Deliverable.id,
    Deliverable.project,
    Deliverable.title,
    Deliverable.description,
    Deliverable.status,
    Deliverable.current_version,
    Deliverable.updated_at,
    Deliverable.ready_at,
    Deliverable.approved_at,
)
VERSION_COLUMNS = (
    DeliverableVersion.deliverable,
    DeliverableVersion.number,
    DeliverableVersion.filename,
    DeliverableVersion.content_type,
    DeliverableVersion.size,
    DeliverableVersion.note,
    DeliverableVersion.created_at,
    DeliverableVersion.content_sha256,
)

#: One deliverable of one project, client-visible only.
_CLIENT_DELIVERABLE = (
    f'SELECT {column_list(DELIVERABLE_COLUMNS)} FROM "deliverable"'
    ' WHERE "id" = {} AND "project" = {} AND "workspace" = {}'
    f' AND "status" IN ({in_list(CLIENT_VISIBLE_STATUSES)})'
)
_CARDS = (
    'SELECT "id", "title", "status", "current_version", "updated_at" FROM "deliverable"'
    ' WHERE "project" = {} AND "workspace" = {} AND "status" IN (%s) ORDER BY "updated_at" DESC, "id" DESC'
)
_WAITING = (
    'SELECT d."id", d."project", d."title", d."ready_at", p."name" AS "project_name" FROM "deliverable" d'
    ' JOIN "project" p ON p."id" = d."project"'
    ' WHERE d."workspace" = {} AND d."status" = \'ready_for_review\' AND d."project" IN (%s)'
    ' ORDER BY d."ready_at", d."id"'
)
#: Each version with where its preview stands (``portal.files.previews``).
_VERSION_SELECT = (
    f'SELECT {column_list(VERSION_COLUMNS, "v.")}, f."thumbnail_sha256", f."preview_status"'
    ' FROM "deliverable_version" v JOIN "stored_file" f ON f."id" = v."stored_file"'
)
_VERSIONS_OF = _VERSION_SELECT + ' WHERE v."deliverable" IN (%s)'
_VERSIONS = _VERSION_SELECT + ' WHERE v."deliverable" = {} ORDER BY v."number" DESC'

_DECISIONS = (
    'SELECT d."decision", d."comment", d."actor_email", d."client_user", u."name" AS "name", d."content_sha256",'
    ' d."ip", d."user_agent", d."created_at", v."number" AS "number", v."filename" AS "filename"'
    ' FROM "review_decision" d JOIN "deliverable_version" v ON v."id" = d."version"'
    ' LEFT JOIN "client_user" u ON u."id" = d."client_user" WHERE d."deliverable" = {}'
)
_COMMENTS = (
    'SELECT c."body", c."created_at", c."client_user", u."name" AS "client_name", u."email" AS "client_email",'
    ' s."name" AS "staff_name", v."number" AS "number"'
    ' FROM "deliverable_comment" c LEFT JOIN "client_user" u ON u."id" = c."client_user"'
    ' LEFT JOIN "staff_member" s ON s."id" = c."staff" LEFT JOIN "deliverable_version" v ON v."id" = c."version"'
    ' WHERE c."deliverable" = {}'
)


async def client_deliverable(deliverable_id: int, project_id: int, workspace_id: int) -> dict | None:
    rows = await fetch(_CLIENT_DELIVERABLE, deliverable_id, project_id, workspace_id, *CLIENT_VISIBLE_STATUSES)
    return rows[0] if rows else None


async def card_rows(project_id: int, workspace_id: int, statuses: tuple[str, ...]) -> list[dict]:
    """The project's deliverables in these statuses, most recently updated first."""
    return await fetch(_CARDS % in_list(statuses), project_id, workspace_id, *statuses)


async def waiting_for_review(workspace_id: int, project_ids: list[int]) -> list[dict]:
    """The deliverables of these projects waiting for the client's review, longest waiting first."""
    return await fetch(_WAITING % in_list(project_ids), workspace_id, *project_ids) if project_ids else []


async def versions_of(deliverable_ids: list[int]) -> list[dict]:
    """Every version of these deliverables (callers pick the current ones)."""
    return await fetch(_VERSIONS_OF % in_list(deliverable_ids), *deliverable_ids) if deliverable_ids else []


async def versions(deliverable_id: int) -> list[dict]:
    """A deliverable's versions, newest first."""
    return await fetch(_VERSIONS, deliverable_id)


async def decisions(deliverable_id: int) -> list[dict]:
    return await fetch(_DECISIONS, deliverable_id)


async def comments(deliverable_id: int) -> list[dict]:
    return await fetch(_COMMENTS, deliverable_id)
