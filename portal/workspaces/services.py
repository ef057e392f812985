"""Workspaces: creating and listing them and setting their plan (operator commands), and
the reads other areas' pages make of their workspace."""

from __future__ import annotations

import re
from dataclasses import dataclass

from portal.errors import Conflict, Invalid, NotFound
from portal.workspaces.tables import PLANS, Workspace

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def check_plan(plan: str) -> str:
    if plan not in PLANS:
        raise Invalid({"plan": f"plan must be one of {', '.join(PLANS)}, got {plan!r}"})
    return plan


async def create_workspace(slug: str, name: str, plan: str = "starter") -> int:
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise Invalid({"slug": f"slug must be lowercase letters, digits and dashes (max 63), got {slug!r}"})
    if not name.strip():
        raise Invalid({"name": "name must not be empty"})
    check_plan(plan)
    if await Workspace.exists().where(Workspace.slug == slug):
        raise Conflict(f"a workspace with slug {slug!r} exists already")
    rows = await Workspace.insert(Workspace(slug=slug, name=name.strip(), plan=plan)).returning(Workspace.id)
    return rows[0]["id"]


async def list_workspaces() -> list[dict]:
    return await Workspace.select(
        Workspace.id, Workspace.slug, Workspace.name, Workspace.plan, Workspace.portal_enabled, Workspace.custom_domain
    ).order_by(Workspace.slug)


async def set_plan(slug: str, plan: str) -> None:
    check_plan(plan)
    rows = await Workspace.update({Workspace.plan: plan}).where(Workspace.slug == slug).returning(Workspace.id)
    if not rows:
        raise NotFound(f"no workspace with slug {slug!r}")


async def studio_header(workspace_id: int) -> dict:
    """What studio pages show of the staff member's workspace: name, slug, plan."""
    return await Workspace.select(Workspace.name, Workspace.slug, Workspace.plan).where(
        Workspace.id == workspace_id
    ).first()


#: Logos are shown inline; never SVG (it can carry script).
LOGO_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


@dataclass(frozen=True)
class Logo:
    sha256: str
    content_type: str


async def portal_logo(workspace_id: int) -> Logo:
    """The workspace's portal logo (its blob and type); 404 without one."""
    row = await Workspace.select(Workspace.portal_logo_sha256, Workspace.portal_logo_type).where(
        Workspace.id == workspace_id
    ).first()
    if not row or not row["portal_logo_sha256"] or row["portal_logo_type"] not in LOGO_TYPES:
        raise NotFound()
    return Logo(row["portal_logo_sha256"], row["portal_logo_type"])
