"""The portal's Files tab: the shared list, downloads and thumbnails."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response, Template

from portal.accounts.sessions import Principal
from portal.files import services
from portal.files.views import serve_file
from portal.web.rendering import page
from portal.web.tenancy import PortalSite


@get("/projects/{project_id:int}/files")
async def files_tab(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal], project_id: FromPath[int]
) -> Template:
    tab = await services.files_tab(client, project_id, site.url(f"/projects/{project_id}/files"))
    context = {"site": site, "client": client, "project": tab.project, "files": tab.files, "tab": "files"}
    return page(request, "portal/files.html", context, fragment="portal/_files.html")


@get("/projects/{project_id:int}/files/{file_id:int}/download")
async def download(
    request: Request, client: NamedDependency[Principal], project_id: FromPath[int], file_id: FromPath[int]
) -> Response:
    settings = request.app.state.settings
    blob = await services.download_shared_file(settings, request, client, project_id, file_id)
    return serve_file(settings, blob.sha256, blob.name, blob.content_type, size=blob.size)


@get("/projects/{project_id:int}/files/{file_id:int}/thumbnail")
async def thumbnail(
    request: Request, client: NamedDependency[Principal], project_id: FromPath[int], file_id: FromPath[int]
) -> Response:
    """The re-encoded thumbnail of a shared image (WebP), never the uploaded bytes; 404 without one."""
    settings = request.app.state.settings
    blob = await services.shared_thumbnail(settings, client, project_id, file_id)
    return serve_file(settings, blob.sha256, blob.name, blob.content_type, size=blob.size, inline=True)


#: Under /p/{workspace_slug}, for a signed-in client.
HANDLERS: list = [files_tab, download, thumbnail]
