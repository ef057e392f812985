"""The Client Portal settings of a workspace: the switch and the branding.

Plans decide what may be set: every plan has the logo and the welcome message; Growth
and Scale add accent colour, support email and sender name. The server enforces it.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from litestar import Request
from litestar.datastructures import UploadFile

from portal.accounts.magic import EMAIL
from portal.accounts.sessions import Principal
from portal.accounts.tables import MANAGERS
from portal.audit.services import record
from portal.errors import Forbidden, Invalid
from portal.files import images
from portal.files.storage import HEAD, sniff_content_type, store_stream
from portal.settings import Settings
from portal.workspaces.plans import allows
from portal.workspaces.tables import Workspace
from portal.workspaces.theme import HEX

LOGO_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
LOGO_MAX_BYTES = 2 * 1024 * 1024
WELCOME_MAX = 1000
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class PortalSettingsForm:
    portal_enabled: str = ""
    welcome_message: str = ""
    accent_color: str = ""
    support_email: str = ""
    sender_name: str = ""


def require_admin(staff: Principal) -> None:
    if staff.role not in MANAGERS:
        raise Forbidden("Only owners and admins can change the client portal settings.")


async def current(staff: Principal) -> dict:
    return await Workspace.select().where(Workspace.id == staff.workspace_id).first()


def clean_text(value: str, limit: int) -> str:
    """Plain text: control characters removed, line endings unified, trimmed."""
    return CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()[:limit]


def _read_logo(upload: UploadFile, max_pixels: int) -> tuple[bytes | None, str]:
    """Blocking: (the logo re-encoded as PNG, "") or (None, the form error); (None, "")
    for an empty file. Read from the upload's own spooled file: the original's bytes
    are never held whole, and only the re-encoded image is stored."""
    source = upload.file
    source.seek(0, 2)
    size = source.tell()
    if size == 0:
        return None, ""
    source.seek(0)
    content_type = sniff_content_type(source.read(HEAD), upload.filename or "")
    if content_type not in LOGO_TYPES:
        return None, "Upload the logo as a PNG, JPEG, GIF or WebP image."
    if size > LOGO_MAX_BYTES:
        return None, "The logo must be smaller than 2 MB."
    try:
        return images.logo(source, content_type, max_pixels), ""
    except images.TooManyPixels as exc:
        claimed = f" ({exc.size[0]:,} x {exc.size[1]:,})" if exc.size else ""
        return None, (f"The logo is too large in pixels{claimed}: use an image of at most "
                      f"{max_pixels:,} pixels, such as 1024 x 1024.")
    except images.ImageRejected:
        return None, "The logo could not be read as an image: upload a PNG, JPEG, GIF or WebP file."


def validate_settings(form: PortalSettingsForm, plan: str) -> dict:
    """The column values the form asks for (what ``plan`` allows), or ``Invalid`` with every field's error."""
    errors: dict[str, str] = {}
    welcome = clean_text(form.welcome_message, WELCOME_MAX + 1)
    if len(welcome) > WELCOME_MAX:
        errors["welcome_message"] = f"Keep the welcome message under {WELCOME_MAX} characters."
    values = {Workspace.portal_enabled: form.portal_enabled == "on", Workspace.welcome_message: welcome}
    if allows(plan, "branding_full"):
        accent = (form.accent_color or "").strip().lower()
        if not HEX.match(accent):
            errors["accent_color"] = "Enter a colour like #2952cc."
        support = (form.support_email or "").strip().lower()
        if support and not EMAIL.match(support):
            errors["support_email"] = "Enter an email address like help@agency.com, or leave it empty."
        sender = clean_text(form.sender_name, 201).replace("\n", " ")
        if len(sender) > 200 or any(ch in sender for ch in '<>"'):
            errors["sender_name"] = "Use a short name without < > or quotes."
        values.update({Workspace.accent_color: accent, Workspace.support_email: support, Workspace.sender_name: sender})
    if errors:
        raise Invalid(errors)
    return values


async def save_settings(
    settings: Settings, request: Request, staff: Principal, form: PortalSettingsForm, logo: UploadFile | None
) -> None:
    """Validate everything first (fields and logo, every error at once); write nothing unless all is valid.

    A logo is decoded (refused past ``settings.max_image_pixels``, before decoding) and
    stored re-encoded as a PNG that fits in 1024 x 1024, never as the uploaded bytes.
    """
    require_admin(staff)
    workspace = await current(staff)
    errors: dict[str, str] = {}
    try:
        values = validate_settings(form, workspace["plan"])
    except Invalid as exc:
        errors, values = exc.errors, {}
    png, logo_error = (await asyncio.to_thread(_read_logo, logo, settings.max_image_pixels)) if logo else (None, "")
    if logo_error:
        errors["logo"] = logo_error
    if errors:
        raise Invalid(errors)
    await _save(settings, request, staff, values, png)


async def _save(settings: Settings, request: Request, staff: Principal, values: dict, png: bytes | None) -> None:
    if png:
        stored = await store_stream(settings, staff.workspace_id, png, content_type=images.LOGO_TYPE,
                                    limit=len(png), thumbnail=False)
        values = {**values, Workspace.portal_logo_sha256: stored.sha256, Workspace.portal_logo_type: images.LOGO_TYPE}
    await Workspace.update(values).where(Workspace.id == staff.workspace_id)
    await record("portal_settings_changed", workspace_id=staff.workspace_id, actor=staff, request=request,
                 portal_enabled=values[Workspace.portal_enabled], logo_changed=bool(png))


async def remove_logo(request: Request, staff: Principal) -> None:
    require_admin(staff)
    await Workspace.update({Workspace.portal_logo_sha256: None, Workspace.portal_logo_type: None}).where(
        Workspace.id == staff.workspace_id
    )
    await record("portal_settings_changed", workspace_id=staff.workspace_id, actor=staff, request=request, logo_removed=True)
