"""Billing routes: the portal's Billing tab and invoice page."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from portal.accounts.sessions import Principal
from portal.billing import services
from portal.web.rendering import page
from portal.web.tenancy import PortalSite


def _base(site: PortalSite, project_id: int) -> str:
    return site.url(f"/projects/{project_id}/billing")


@get("/projects/{project_id:int}/billing")
async def billing_tab(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal], project_id: FromPath[int]
) -> Template:
    tab = await services.billing_tab(client, project_id, _base(site, project_id))
    context = {
        "site": site, "client": client, "project": tab.project, "invoices": tab.invoices,
        "outstanding": tab.outstanding, "tab": "billing", "billing_url": _base(site, project_id),
    }
    return page(request, "portal/billing.html", context, fragment="portal/_billing.html")


@get("/projects/{project_id:int}/billing/{invoice_id:int}")
async def invoice(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal],
    project_id: FromPath[int], invoice_id: FromPath[int],
) -> Template:
    found = await services.invoice_page(client, project_id, invoice_id, _base(site, project_id))
    context = {
        "site": site, "client": client, "project": found.project, "invoice": found.invoice, "tab": "billing",
        "billing_url": _base(site, project_id),
    }
    return page(request, "portal/invoice.html", context, fragment="portal/_invoice.html")


#: Routes under /p/{workspace_slug} that need a signed-in client.
HANDLERS: list = [billing_tab, invoice]
#: Routes under /studio that need a signed-in staff member.
