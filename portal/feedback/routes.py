"""Feedback routes: the portal tab and the studio actions."""

from __future__ import annotations

#: Routes under /p/{workspace_slug} that need a signed-in client.
PORTAL_HANDLERS: list = []
#: Routes under /studio that need a signed-in staff member.
STUDIO_HANDLERS: list = []
