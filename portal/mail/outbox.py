"""Queueing email: every message becomes an outbox row, rendered and branded now.

The worker (``portal.mail.worker``) sends rows later; nothing here talks to SMTP, so
callers stay fast and a message survives a crash or a mail-server outage.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from portal import clock
from portal.mail.tables import OutboxMessage
from portal.settings import Settings
from portal.workspaces.plans import allows
from portal.workspaces.tables import Workspace
from portal.workspaces.theme import DEFAULT_ACCENT, HEX, accent_surface, text_on
from portal.workspaces.urls import portal_base_url

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PRODUCT_NAME = "Client Portal"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


#: Called after a message is queued: the outbox worker of this process wakes up.
ENQUEUE_HOOKS: list[Callable[[], None]] = []


class PortalDisabled(Exception):
    """The workspace's portal is off: no email goes to its clients."""


async def branding(settings: Settings, workspace_id: int) -> dict[str, Any]:
    """What every email of a workspace shows: name, sender, colours, logo and links."""
    ws = await Workspace.select(
        Workspace.id, Workspace.slug, Workspace.name, Workspace.plan, Workspace.portal_enabled,
        Workspace.sender_name, Workspace.support_email, Workspace.accent_color, Workspace.portal_logo_sha256,
        Workspace.custom_domain, Workspace.domain_status,
    ).where(Workspace.id == workspace_id).first()
    full = allows(ws["plan"], "branding_full")
    portal_url = portal_base_url(settings, ws)
    brand = {
        "workspace_name": ws["name"],
        "portal_enabled": ws["portal_enabled"],
        "sender_name": (ws["sender_name"] or ws["name"]) if full else ws["name"],
        "support_email": ws["support_email"] if full else "",
        "accent": accent_surface(ws["accent_color"]) if full and HEX.match(ws["accent_color"] or "") else DEFAULT_ACCENT,
        "logo_url": f"{portal_url}/logo" if ws["portal_logo_sha256"] else "",
        "portal_url": portal_url,
        "powered_by": not full,
        "product_name": PRODUCT_NAME,
    }
    brand["accent_text"] = text_on(brand["accent"])
    return brand


def render(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of ``templates/emails/<template>.{subject,txt,html}``."""
    subject = _env.get_template(f"emails/{template}.subject.txt").render(context).strip()
    text = _env.get_template(f"emails/{template}.txt").render(context)
    html = _env.get_template(f"emails/{template}.html").render(context)
    return subject, text, html


async def enqueue_email(
    settings: Settings,
    *,
    workspace_id: int | None,
    to: str,
    template: str,
    context: dict[str, Any],
    to_client: bool = False,
) -> int:
    """Render a branded email and queue it; returns the outbox row id.

    ``to_client=True`` marks mail to a client: refused (``PortalDisabled``) while the
    workspace's portal is switched off.
    """
    brand = await branding(settings, workspace_id) if workspace_id else {
        "workspace_name": PRODUCT_NAME, "portal_enabled": True, "sender_name": PRODUCT_NAME, "support_email": "",
        "accent": DEFAULT_ACCENT, "accent_text": "#ffffff", "logo_url": "", "portal_url": settings.base_url,
        "powered_by": True, "product_name": PRODUCT_NAME,
    }
    if to_client and not brand["portal_enabled"]:
        raise PortalDisabled()
    subject, text, html = render(template, {**brand, **context})
    rows = await OutboxMessage.insert(
        OutboxMessage(
            workspace=workspace_id,
            to_address=to,
            from_name=brand["sender_name"],
            subject=subject,
            text_body=text,
            html_body=html,
            kind=template,
            status="pending",
            next_attempt_at=clock.now(),
        )
    ).returning(OutboxMessage.id)
    for hook in ENQUEUE_HOOKS:
        hook()
    return rows[0]["id"]
