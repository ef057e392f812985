"""The feedback area's plain-SQL read: the portal's Feedback tab.

Plain SQL on this hot read: Piccolo's joined select costs more CPU to build than to run
(bench/profile_tab.py). Column names are Piccolo's own.
"""

from __future__ import annotations

from portal.db import fetch

_OWN_MESSAGES = (
    'SELECT m."id", m."subject", m."body", m."created_at", t."status" AS "task_status",'
    ' r."id" AS "reply_id", r."author_name", r."body" AS "reply_body", r."created_at" AS "reply_at"'
    ' FROM "feedback_message" m'
    ' LEFT JOIN "task" t ON t."id" = m."task"'
    ' LEFT JOIN "feedback_reply" r ON r."message" = m."id" AND r."workspace" = m."workspace"'
    ' WHERE m."project" = {} AND m."workspace" = {} AND m."client_user" = {}'
    ' ORDER BY m."created_at" DESC, m."id" DESC, r."created_at", r."id"'
)


async def own_messages(project_id: int, workspace_id: int, client_user_id: int) -> list[dict]:
    """The client's own messages on the project with their task's status, newest first, one row per
    staff reply (oldest first; reply columns NULL for a message without one). Only what the client
    may see: the task's status, never its assignee, details or comments."""
    return await fetch(_OWN_MESSAGES, project_id, workspace_id, client_user_id)
