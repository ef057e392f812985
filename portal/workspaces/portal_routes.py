"""The portal's branding files: the workspace's logo and its theme stylesheet.

Both are public (the sign-in page shows them), so they are ``PUBLIC_HANDLERS``.
"""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import File, Response

from portal.files.storage import blob_path
from portal.web.tenancy import PortalSite
from portal.workspaces import services
from portal.workspaces.theme import theme_css

BRANDING_CACHE = {"Cache-Control": "public, max-age=300"}


@get("/logo")
async def logo(request: Request, site: NamedDependency[PortalSite]) -> Response:
    found = await services.portal_logo(site.id)
    path = blob_path(request.app.state.settings, found.sha256)
    return File(path, media_type=found.content_type, content_disposition_type="inline", headers=BRANDING_CACHE)


@get("/theme.css", cache=False)
async def theme(site: NamedDependency[PortalSite]) -> Response:
    return Response(theme_css(site), media_type="text/css", headers=BRANDING_CACHE)


HANDLERS: list = []
PUBLIC_HANDLERS = [logo, theme]
