"""The portal's branding files: the workspace's logo and its theme stylesheet.

Both are public (the sign-in page shows them), so they are ``PUBLIC_HANDLERS``.
"""

from __future__ import annotations

import asyncio

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import File, Response

from portal.files.blobstore import blob_store
from portal.web.tenancy import PortalSite
from portal.workspaces import services
from portal.workspaces.theme import theme_css

BRANDING_CACHE = {"Cache-Control": "public, max-age=300"}


@get("/logo")
async def logo(request: Request, site: NamedDependency[PortalSite]) -> Response:
    found = await services.portal_logo(site.id)
    store = blob_store(request.app.state.settings)
    path = store.local_path(found.sha256)
    if path is not None:
        return File(path, media_type=found.content_type, content_disposition_type="inline", headers=BRANDING_CACHE)
    data = await asyncio.to_thread(store.read_bytes, found.sha256)  # a logo is small (re-encoded at upload)
    return Response(data, media_type=found.content_type, headers={**BRANDING_CACHE, "Content-Disposition": "inline"})


@get("/theme.css", cache=False)
async def theme(site: NamedDependency[PortalSite]) -> Response:
    return Response(theme_css(site), media_type="text/css", headers=BRANDING_CACHE)


HANDLERS: list = []
PUBLIC_HANDLERS = [logo, theme]
