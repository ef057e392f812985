"""Absolute URLs of a workspace's portal (emails, printed links)."""

from __future__ import annotations

from portal.settings import Settings


def domain_scheme(settings: Settings) -> str:
    """How custom domains are reached: https, except on a plain-http development install."""
    return "https" if settings.is_https or settings.env == "production" else "http"


def portal_base_url(settings: Settings, workspace: dict) -> str:
    """The portal's public root: the verified custom domain, else ``{BASE_URL}/p/{slug}``."""
    if workspace.get("custom_domain") and workspace.get("domain_status") == "verified":
        return f"{domain_scheme(settings)}://{workspace['custom_domain']}"
    return f"{settings.base_url}/p/{workspace['slug']}"
