"""Invoices as PDF: the invoice sheet the page shows, printed by WeasyPrint.

The HTML comes from the same partial as the invoice page (``_partials/invoice_sheet.html``)
and the stylesheet is the app's own, under its print rules, so the PDF and the page
printed from a browser look the same.

Nothing is fetched while rendering: the stylesheets are passed as strings, the logo as a
``data:`` URI, and any other URL an invoice could carry is refused (no request to the
network or the disk leaves the renderer). Rendering is CPU-bound and blocks: it runs in a
thread, one at a time per process, so memory stays bounded by one invoice.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import re
import threading
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"
MEDIA_TYPE = "application/pdf"
_RENDERING = threading.BoundedSemaphore(1)
# The app's stylesheet is written for browsers: WeasyPrint warns of every screen-only rule
# it skips (hover, widths, masks). Those are expected; errors still show.
logging.getLogger("weasyprint").setLevel(logging.ERROR)


# WeasyPrint is imported at the first PDF (a second of start-up every process would pay).


@functools.cache
def _fetcher():
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("data",))  # every other URL is refused


@functools.cache
def _app_stylesheet():
    """The app's stylesheet, parsed once per process (most of a small invoice's render time)."""
    from weasyprint import CSS

    return CSS(string=(STATIC / "css" / "app.css").read_text(encoding="utf-8"), url_fetcher=_fetcher())


def data_uri(data: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def filename(number: str) -> str:
    """``INV-0042.pdf``: the invoice number with anything unsafe in a file name replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", number).strip("-.")
    return f"{safe or 'invoice'}.pdf"


def _render(html: str, stylesheets: tuple[str, ...]) -> bytes:
    from weasyprint import CSS, HTML

    with _RENDERING:
        extra = [CSS(string=css, url_fetcher=_fetcher()) for css in stylesheets]
        document = HTML(string=html, base_url="about:blank", url_fetcher=_fetcher())
        return document.write_pdf(stylesheets=[_app_stylesheet(), *extra])


async def render(html: str, *stylesheets: str) -> bytes:
    """The PDF of ``html`` under the app's stylesheet and ``stylesheets`` (e.g. the theme)."""
    return await asyncio.to_thread(_render, html, stylesheets)
