"""Billing routes: the portal's Billing tab and invoice page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Response, Template

from portal.accounts.sessions import Principal
from portal.billing import payments, services
from portal.billing.views import InvoiceSheet
from portal.web import documents
from portal.web.forms import FORM
from portal.web.rendering import page
from portal.web.security import embedded_checkout_csp
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
    state = await payments.pay_state(client.workspace_id, invoice_id)
    context = {
        "site": site, "client": client, "project": found.project, "invoice": found.invoice, "tab": "billing",
        "billing_url": _base(site, project_id), "pay": state,
        "pay_url": _base(site, project_id) + f"/{invoice_id}/pay",
        "pdf_url": _base(site, project_id) + f"/{invoice_id}/pdf",
    }
    return page(request, "portal/invoice.html", context, fragment="portal/_invoice.html")


@get("/projects/{project_id:int}/billing/{invoice_id:int}/pdf")
async def invoice_pdf(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal],
    project_id: FromPath[int], invoice_id: FromPath[int],
) -> Response:
    """The invoice as a PDF to download: the page's own sheet, with the agency's logo."""
    found = await services.invoice_page(client, project_id, invoice_id, _base(site, project_id))
    sheet = InvoiceSheet(found.project.id, found.project.name, found.invoice)
    return await documents.invoice_pdf(request, site, sheet, await payments.pay_state(client.workspace_id, invoice_id))


@dataclass
class PayForm:
    #: "embedded" when the page's script runs (Checkout in the page), else hosted Checkout.
    mode: str = "hosted"


@post("/projects/{project_id:int}/billing/{invoice_id:int}/pay")
async def pay(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal],
    project_id: FromPath[int], invoice_id: FromPath[int], data: Annotated[PayForm, FORM],
) -> Template | Redirect:
    """Open Stripe Checkout for the invoice: embedded in a page of ours, or a 303 to Stripe's page."""
    settings = request.app.state.settings
    invoice_url = _absolute(request, site, _base(site, project_id) + f"/{invoice_id}")
    checkout = await payments.start_checkout(
        settings, client, project_id, invoice_id, want_embedded=data.mode == "embedded", invoice_url=invoice_url,
        return_url=invoice_url + "/paid", request=request,
    )
    if checkout.url:
        return Redirect(path=checkout.url, status_code=303)
    found = await services.invoice_page(client, project_id, invoice_id, _base(site, project_id))
    context = {
        "site": site, "client": client, "project": found.project, "invoice": found.invoice, "tab": "billing",
        "billing_url": _base(site, project_id), "checkout": checkout,
    }
    return page(request, "portal/checkout.html", context,
                headers={"Content-Security-Policy": embedded_checkout_csp(settings)})


def _absolute(request: Request, site: PortalSite, path: str) -> str:
    """Where Stripe sends the client back: this portal's own address (its custom domain, or the base URL)."""
    return (site.origin or request.app.state.settings.base_url) + path


@get("/projects/{project_id:int}/billing/{invoice_id:int}/paid")
async def paid(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal],
    project_id: FromPath[int], invoice_id: FromPath[int],
    session_id: Annotated[str, QueryParameter(max_length=255)] = "",
) -> Template:
    """Back from Checkout: what Stripe says of the session. Marks nothing paid (the webhook does)."""
    state = await payments.return_state(request.app.state.settings, client, project_id, invoice_id, session_id,
                                        _base(site, project_id))
    found = await services.invoice_page(client, project_id, invoice_id, _base(site, project_id))
    context = {
        "site": site, "client": client, "project": found.project, "invoice": found.invoice, "tab": "billing",
        "billing_url": _base(site, project_id), "state": state,
    }
    return page(request, "portal/payment_return.html", context)


#: Routes under /p/{workspace_slug} that need a signed-in client.
HANDLERS: list = [billing_tab, invoice, invoice_pdf, pay, paid]
#: Routes under /studio that need a signed-in staff member.
