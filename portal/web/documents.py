"""Documents made from the pages: an invoice as a PDF, for its client and for the studio."""

from __future__ import annotations

import asyncio

from litestar import Request
from litestar.response import Response

from portal.billing import pdf
from portal.billing.payments import PayState
from portal.billing.views import InvoiceSheet
from portal.files.blobstore import blob_store
from portal.web.rendering import render_string
from portal.web.tenancy import PortalSite
from portal.workspaces import services as workspaces
from portal.workspaces.theme import theme_css
from portal.workspaces.urls import portal_base_url


async def invoice_pdf(request: Request, site: PortalSite, sheet: InvoiceSheet, pay: PayState) -> Response:
    """The invoice sheet of the invoice page as a PDF download, in the workspace's branding."""
    settings = request.app.state.settings
    logo_src = ""
    if site.has_logo:
        logo = await workspaces.portal_logo(site.id)
        data = await asyncio.to_thread(blob_store(settings).read_bytes, logo.sha256)
        logo_src = pdf.data_uri(data, logo.content_type)
    inv = sheet.invoice.summary
    html = render_string(request, "_partials/invoice_document.html", {
        "inv": inv, "invoice": sheet.invoice, "project_name": sheet.project_name, "pay": pay,
        "sender_name": site.name, "sender_email": site.support_email if site.full_branding else "",
        "logo_src": logo_src,
        "pay_online_url": portal_base_url(settings, {"slug": site.slug})
        + f"/projects/{sheet.project_id}/billing/{inv.id}",
    })
    return Response(
        await pdf.render(html, theme_css(site)), media_type=pdf.MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{pdf.filename(inv.number)}"',
                 "Cache-Control": "private, no-store"},
    )
