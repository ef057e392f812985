"""Which workspace a portal request belongs to, and the URLs it uses."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from litestar import Request
from litestar.params import FromPath

from portal.errors import NotFound
from portal.workspaces import queries
from portal.workspaces.plans import allows


class PortalUnavailable(Exception):
    """The workspace switched its portal off: clients get a friendly page."""

    def __init__(self, site: PortalSite) -> None:
        self.site = site


@dataclass(frozen=True)
class PortalSite:
    """A workspace as its portal shows it, with the base path of its portal URLs."""

    id: int
    slug: str
    name: str
    plan: str
    portal_enabled: bool
    has_logo: bool
    accent_color: str
    welcome_message: str
    support_email: str
    sender_name: str
    base: str  # "/p/<slug>" on the default URL
    #: Changes with the accent, the plan and the logo: the theme and logo URLs carry it, so a
    #: browser's cached copy is never shown after the branding changed.
    branding_version: str = ""

    def url(self, path: str = "/") -> str:
        return f"{self.base}{path}"

    def branded(self, path: str) -> str:
        """The URL of a branding file (``/theme.css``, ``/logo``) for the current branding."""
        return f"{self.base}{path}?v={self.branding_version}"

    @property
    def full_branding(self) -> bool:
        return allows(self.plan, "branding_full")

    def allows(self, feature: str) -> bool:
        return allows(self.plan, feature)


def site_from_row(row: dict, base: str) -> PortalSite:
    return PortalSite(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        plan=row["plan"],
        portal_enabled=row["portal_enabled"],
        has_logo=bool(row["portal_logo_sha256"]),
        accent_color=row["accent_color"],
        welcome_message=row["welcome_message"],
        support_email=row["support_email"],
        sender_name=row["sender_name"],
        base=base,
        branding_version=hashlib.sha256(
            f"{row['accent_color']}|{row['plan']}|{row['portal_logo_sha256']}".encode()).hexdigest()[:12],
    )


async def site_of(workspace_id: int) -> PortalSite:
    """The staff member's workspace as its portal shows it (for documents made in the studio)."""
    row = await queries.site_by_id(workspace_id)
    if row is None:
        raise NotFound()
    return site_from_row(row, f"/p/{row['slug']}")


async def provide_site(request: Request, workspace_slug: FromPath[str]) -> PortalSite:
    """Dependency of every portal route: the workspace of the URL, or 404."""
    row = await queries.site_by_slug(workspace_slug)
    if row is None:
        raise NotFound()
    site = site_from_row(row, f"/p/{row['slug']}")
    request.state.site = site
    if not site.portal_enabled:
        raise PortalUnavailable(site)
    return site
