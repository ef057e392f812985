"""Absolute URLs of a workspace's portal (emails, printed links)."""

from __future__ import annotations

from portal.settings import Settings


def portal_base_url(settings: Settings, workspace: dict) -> str:
    """The portal's public root: the verified custom domain, else ``{BASE_URL}/p/{slug}``."""
    if workspace.get("custom_domain") and workspace.get("domain_status") == "verified":
        scheme = "https" if settings.is_https or settings.env == "production" else "http"
        return f"{scheme}://{workspace['custom_domain']}"
    return f"{settings.base_url}/p/{workspace['slug']}"
