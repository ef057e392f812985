"""The workspaces area's plain-SQL read: the portal's workspace, on every portal request.

Plain SQL, because Piccolo spends more CPU building a select than SQLite spends running
it (bench/profile_tab.py); column names are Piccolo's own.
"""

from __future__ import annotations

from portal.db import column_list, fetch
from portal.workspaces.tables import Workspace

SITE_COLUMNS = (
    Workspace.id,
    Workspace.slug,
    Workspace.name,
    Workspace.plan,
    Workspace.portal_enabled,
    Workspace.portal_logo_sha256,
    Workspace.accent_color,
    Workspace.welcome_message,
    Workspace.support_email,
    Workspace.sender_name,
    Workspace.custom_domain,
    Workspace.domain_status,
)
_SITE = f'SELECT {column_list(SITE_COLUMNS)} FROM "workspace" WHERE "slug" = {{}}'
_SITE_BY_ID = f'SELECT {column_list(SITE_COLUMNS)} FROM "workspace" WHERE "id" = {{}}'


async def site_by_slug(slug: str) -> dict | None:
    rows = await fetch(_SITE, slug)
    return rows[0] if rows else None


async def site_by_id(workspace_id: int) -> dict | None:
    rows = await fetch(_SITE_BY_ID, workspace_id)
    return rows[0] if rows else None


_BY_DOMAIN = 'SELECT "slug" FROM "workspace" WHERE "custom_domain" = {} AND "domain_status" = \'verified\''


async def slug_of_verified_domain(host: str) -> str | None:
    """The workspace served on ``host`` (normalised), if it is a verified custom domain."""
    rows = await fetch(_BY_DOMAIN, host)
    return rows[0]["slug"] if rows else None
