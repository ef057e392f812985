"""Which workspace a portal request belongs to, and the URLs it uses."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from litestar import Request
from litestar.params import FromPath

from portal.errors import NotFound
from portal.web.hosts import portal_host
from portal.workspaces import queries
from portal.workspaces.plans import allows
from portal.workspaces.urls import domain_scheme


class ServedElsewhere(Exception):
    """The workspace's portal lives on its verified custom domain: go there."""

    def __init__(self, url: str) -> None:
        self.url = url


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
    base: str  # "/p/<slug>" on the default URL, "" on the custom domain
    #: ``https://<custom domain>`` when the request came in on it, else "" (the base URL).
    origin: str = ""
    #: Changes with the accent, the plan and the logo: the theme and logo URLs carry it, so a
    #: browser's cached copy is never shown after the branding changed.
    branding_version: str = ""

    def url(self, path: str = "/") -> str:
        return f"{self.base}{path}"

    def absolute(self, base_url: str, path: str = "/") -> str:
        """``url(path)`` with the origin the client is on (``base_url``: the installation's)."""
        return f"{self.origin or base_url}{self.url(path)}"

    def branded(self, path: str) -> str:
        """The URL of a branding file (``/theme.css``, ``/logo``) for the current branding."""
        return f"{self.base}{path}?v={self.branding_version}"

    @property
    def full_branding(self) -> bool:
        return allows(self.plan, "branding_full")

    def allows(self, feature: str) -> bool:
        return allows(self.plan, feature)


def site_from_row(row: dict, base: str, origin: str = "") -> PortalSite:
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
        origin=origin,
        branding_version=hashlib.sha256(
            f"{row['accent_color']}|{row['plan']}|{row['portal_logo_sha256']}".encode()).hexdigest()[:12],
    )


async def site_of(workspace_id: int) -> PortalSite:
    """The staff member's workspace as its portal shows it (for documents made in the studio)."""
    row = await queries.site_by_id(workspace_id)
    if row is None:
        raise NotFound()
    return site_from_row(row, f"/p/{row['slug']}")


#: Files a studio page shows from the portal (the logo preview): not sent to the domain.
_STAY = ("/logo", "/theme.css")


async def provide_site(request: Request, workspace_slug: FromPath[str]) -> PortalSite:
    """Dependency of every portal route: the workspace of the URL, or 404.

    On the custom domain (``portal_host``) the portal's URLs have no prefix. On the base
    URL, a workspace whose domain is verified sends page requests (GET) there.
    """
    row = await queries.site_by_slug(workspace_slug)
    if row is None:
        raise NotFound()
    settings = request.app.state.settings
    if host := portal_host(request):
        site = site_from_row(row, "", origin=f"{domain_scheme(settings)}://{host}")
    else:
        site = site_from_row(row, f"/p/{row['slug']}")
        if row["custom_domain"] and row["domain_status"] == "verified" and request.method in ("GET", "HEAD"):
            rest = request.url.path.removeprefix(site.base) or "/"
            if rest not in _STAY:
                query = f"?{request.url.query}" if request.url.query else ""
                raise ServedElsewhere(f"{domain_scheme(settings)}://{row['custom_domain']}{rest}{query}")
    request.state.site = site
    if not site.portal_enabled:
        raise PortalUnavailable(site)
    return site
