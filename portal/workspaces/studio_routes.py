"""Studio: Settings -> Client Portal (switch and branding)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.response import Template

from portal.accounts.sessions import Principal
from portal.errors import Invalid
from portal.web.forms import FORM, MULTIPART
from portal.web.rendering import INVALID, page, see_other
from portal.workspaces import branding, domains
from portal.workspaces.branding import PortalSettingsForm
from portal.workspaces.plans import allows
from portal.workspaces.theme import accent_shades
from portal.workspaces.urls import portal_base_url


@dataclass
class SettingsUpload(PortalSettingsForm):
    """The settings form as posted: the fields plus the optional logo file."""

    logo: UploadFile | None = field(default=None)


@dataclass
class DomainForm:
    domain: str = ""


async def _page(request: Request, staff: Principal, form: PortalSettingsForm | None = None, errors=None, *,
                domain_typed: str | None = None, domain_errors=None) -> Template:
    workspace = await branding.current(staff)
    settings = request.app.state.settings
    if form is None:
        form = PortalSettingsForm(
            portal_enabled="on" if workspace["portal_enabled"] else "", welcome_message=workspace["welcome_message"],
            accent_color=workspace["accent_color"], support_email=workspace["support_email"],
            sender_name=workspace["sender_name"],
        )
    context = {
        "staff": staff, "workspace": workspace, "form": form, "errors": errors or {},
        "full_branding": allows(workspace["plan"], "branding_full"), "notice": request.query_params.get("notice", ""),
        "portal_url": portal_base_url(settings, workspace) + "/", "error": None,
        "accent": accent_shades(workspace["accent_color"]),
        "domain": {
            "allowed": allows(workspace["plan"], "custom_domain"), "target": settings.cname_target,
            "typed": (workspace["custom_domain"] or "") if domain_typed is None else domain_typed,
            "errors": domain_errors or {}, "checked": domains.checked_ago(workspace["domain_checked_at"]),
            "propagation": domains.PROPAGATION,
        },
    }
    invalid = errors or domain_errors
    return page(request, "studio/portal_settings.html", context, status_code=INVALID if invalid else 200)


@get("/settings/portal")
async def portal_settings(request: Request, staff: NamedDependency[Principal]) -> Template:
    return await _page(request, staff)


@post("/settings/portal")
async def save_portal_settings(
    request: Request,
    staff: NamedDependency[Principal],
    data: Annotated[SettingsUpload, MULTIPART],
) -> Response:
    form = data
    # The UploadFile itself: branding decodes it from its spooled file, never reads it whole.
    logo = data.logo if isinstance(data.logo, UploadFile) and data.logo.filename else None
    try:
        await branding.save_settings(request.app.state.settings, request, staff, form, logo)
    except Invalid as exc:
        return await _page(request, staff, form, exc.errors)
    finally:
        if isinstance(data.logo, UploadFile):
            await data.logo.close()
    return see_other("/studio/settings/portal?notice=saved")


@post("/settings/portal/logo/remove")
async def remove_logo(request: Request, staff: NamedDependency[Principal]) -> Response:
    await branding.remove_logo(request, staff)
    return see_other("/studio/settings/portal?notice=saved")


@post("/settings/portal/domain")
async def set_domain(request: Request, staff: NamedDependency[Principal], data: Annotated[DomainForm, FORM]) -> Response:
    domains.require_manager(staff)
    try:
        await domains.set_domain(request.app.state.settings, staff.workspace_id, data.domain, actor=staff)
    except Invalid as exc:
        return await _page(request, staff, domain_typed=data.domain, domain_errors=exc.errors)
    return see_other("/studio/settings/portal?notice=domain_saved#domain")


@post("/settings/portal/domain/verify")
async def verify_domain(request: Request, staff: NamedDependency[Principal]) -> Response:
    domains.require_manager(staff)
    try:
        result = await domains.verify_domain(request.app.state.settings, staff.workspace_id, actor=staff)
    except Invalid as exc:
        return await _page(request, staff, domain_errors=exc.errors)
    # Not verified: the page shows the reason, kept on the workspace (domain_error).
    return see_other(f"/studio/settings/portal?notice=domain_{'verified' if result.verified else 'checked'}#domain")


@post("/settings/portal/domain/remove")
async def remove_domain(request: Request, staff: NamedDependency[Principal]) -> Response:
    domains.require_manager(staff)
    await domains.remove_domain(request.app.state.settings, staff.workspace_id, actor=staff)
    return see_other("/studio/settings/portal?notice=domain_removed#domain")


HANDLERS = [portal_settings, save_portal_settings, remove_logo, set_domain, verify_domain, remove_domain]
