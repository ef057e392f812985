"""Jinja filters and globals shared by all templates."""

from __future__ import annotations

import datetime as dt

from jinja2 import Environment
from markupsafe import Markup, escape

from portal.formats import money
from portal.projects.views import status_label as project_status
from portal.settings import Settings

STATIC_VERSION = "5"
HTMX = "js/htmx-2.0.11.min.js"


def date(value: dt.date | dt.datetime | None, fmt: str = "%-d %b %Y") -> str:
    """A date as people write it: 5 Mar 2026."""
    return value.strftime(fmt) if value else ""


def days_left(n: int) -> str:
    if n == 0:
        return "today"
    if n == 1:
        return "tomorrow"
    return f"in {n} days"


def paragraphs(text: str) -> Markup:
    """Plain text as HTML paragraphs (escaped; single newlines become line breaks)."""
    blocks = [b.strip() for b in (text or "").replace("\r\n", "\n").split("\n\n") if b.strip()]
    return Markup("".join(f"<p>{escape(b).replace(chr(10), Markup('<br>'))}</p>" for b in blocks))


def install(env: Environment, settings: Settings) -> None:
    env.filters.update(date=date, days_left=days_left, money=money, paragraphs=paragraphs, project_status=project_status)
    env.globals.update(
        htmx_path=f"/static/{HTMX}",
        static_version=STATIC_VERSION,
        base_url=settings.base_url,
    )
