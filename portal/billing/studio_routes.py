"""Studio routes for invoices: a project's Billing tab, the workspace's invoices, one
invoice (header, lines, send, paid by hand, void) and Settings -> Billing (numbering).

Every lookup is scoped to the staff member's workspace by the services (404 otherwise,
before any input is read); a form with bad input is shown again with its errors (400).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from portal import clock
from portal.accounts.sessions import Principal
from portal.billing import payments, services
from portal.billing.amounts import CURRENCIES
from portal.billing.services import Header, LineInput
from portal.billing.stripe_keys import KeysInput
from portal.errors import Invalid
from portal.web import documents
from portal.web.forms import FORM
from portal.web.rendering import INVALID, page, see_other
from portal.web.tenancy import site_of
from portal.workspaces import services as workspaces

PROJECT_BILLING = "/projects/{project_id:int}/billing"
INVOICE = "/invoices/{invoice_id:int}"
FILTERS = (("", "All"), ("draft", "Draft"), ("sent", "Sent"), ("overdue", "Overdue"), ("paid", "Paid"), ("refunded", "Refunded"), ("void", "Void"))


@dataclass
class HeaderForm:
    currency: str = ""
    issue_date: str = ""
    due_date: str = ""
    notes: str = ""

    def header(self) -> Header:
        return Header(self.currency, self.issue_date, self.due_date, self.notes)


@dataclass
class LineForm:
    line_id: str = ""
    description: str = ""
    quantity: str = ""
    unit_price: str = ""
    tax_rate: str = ""

    def line(self) -> LineInput:
        return LineInput(self.description, self.quantity, self.unit_price, self.tax_rate)


@dataclass
class PaidForm:
    paid_on: str = ""
    paid_note: str = ""


@dataclass
class PrefixForm:
    prefix: str = ""


@dataclass
class InstructionsForm:
    payment_instructions: str = ""


def _currencies() -> list[tuple[str, str]]:
    return list(CURRENCIES.items())


def _invoice_url(invoice_id: int) -> str:
    return f"/studio/invoices/{invoice_id}"


async def _common(staff: Principal) -> dict:
    return {"staff": staff, "workspace": await workspaces.studio_header(staff.workspace_id), "currencies": _currencies()}


# A project's Billing tab: its invoices and a new one.


async def _project_page(request: Request, staff: Principal, project_id: int, *, form: Header | None = None,
                        errors: dict | None = None, status_code: int = 200) -> Template:
    project = await services.staff_project(staff, project_id)
    context = {
        **await _common(staff), "project": project, "section": "billing",
        "invoices": await services.studio_invoices(staff, project_id=project_id),
        "form": form or services.default_header(clock.today()), "errors": errors or {},
    }
    return page(request, "studio/billing.html", context, status_code=status_code)


@get(PROJECT_BILLING)
async def project_billing(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int]) -> Template:
    return await _project_page(request, staff, project_id)


@post(PROJECT_BILLING)
async def create_invoice(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                         data: Annotated[HeaderForm, FORM]) -> Response:
    try:
        invoice_id = await services.create_invoice(staff, project_id, data.header(), request=request)
    except Invalid as exc:
        return await _project_page(request, staff, project_id, form=data.header(), errors=exc.errors, status_code=INVALID)
    return see_other(_invoice_url(invoice_id), flash="Draft invoice created. Add its lines, then send it.",
                     request=request)


# The workspace's invoices.


@get("/invoices")
async def invoices(request: Request, staff: NamedDependency[Principal], status: FromQuery[str] = "") -> Template:
    status = status if status in services.STUDIO_FILTERS else ""
    context = {**await _common(staff), "invoices": await services.studio_invoices(staff, status=status),
               "status": status, "filters": FILTERS}
    return page(request, "studio/invoices.html", context)


# One invoice.


async def _invoice_page(request: Request, staff: Principal, invoice_id: int, *, errors: dict | None = None,
                        header: Header | None = None, line: LineForm | None = None, paid: PaidForm | None = None,
                        status_code: int = 200) -> Template:
    invoice = await services.studio_invoice_page(staff, invoice_id)
    editing = line.line_id if line else request.query_params.get("line", "")
    edited = next((item for item in invoice.lines if str(item.id) == editing), None)
    if line is None:
        line = (LineForm(str(edited.id), edited.description, edited.quantity_input, edited.unit_price_input,
                         edited.tax_rate_input) if edited else LineForm(quantity="1", tax_rate="0"))
    context = {
        **await _common(staff), "invoice": invoice, "errors": errors or {},
        "header": header or Header(invoice.currency, invoice.issue_date.isoformat(), invoice.due_date.isoformat(),
                                   invoice.notes),
        "line": line, "edited": edited if line.line_id else None,
        "paid": paid or PaidForm(paid_on=clock.today().isoformat()), "today": clock.today().isoformat(),
    }
    return page(request, "studio/invoice.html", context, status_code=status_code)


@get(INVOICE)
async def invoice(request: Request, staff: NamedDependency[Principal], invoice_id: FromPath[int]) -> Template:
    return await _invoice_page(request, staff, invoice_id)


@get(INVOICE + "/pdf")
async def invoice_pdf(request: Request, staff: NamedDependency[Principal], invoice_id: FromPath[int]) -> Response:
    """The invoice as its client gets it in PDF (drafts too, marked Draft)."""
    sheet = await services.staff_invoice_sheet(staff, invoice_id)
    site = await site_of(staff.workspace_id)
    return await documents.invoice_pdf(request, site, sheet, await payments.pay_state(staff.workspace_id, invoice_id))


@post(INVOICE)
async def save_header(request: Request, staff: NamedDependency[Principal], invoice_id: FromPath[int],
                      data: Annotated[HeaderForm, FORM]) -> Response:
    try:
        await services.update_invoice(staff, invoice_id, data.header(), request=request)
    except Invalid as exc:
        return await _invoice_page(request, staff, invoice_id, errors=exc.errors, header=data.header(), status_code=INVALID)
    return see_other(_invoice_url(invoice_id), flash="Invoice saved.", request=request)


@post(INVOICE + "/lines")
async def add_line(request: Request, staff: NamedDependency[Principal], invoice_id: FromPath[int],
                   data: Annotated[LineForm, FORM]) -> Response:
    try:
        if data.line_id:
            await services.save_line(staff, invoice_id, data.line_id, data.line(), request=request)
        else:
            await services.add_line(staff, invoice_id, data.line(), request=request)
    except Invalid as exc:
        return await _invoice_page(request, staff, invoice_id, errors=exc.errors, line=data, status_code=INVALID)
    return see_other(_invoice_url(invoice_id), flash="Line saved." if data.line_id else "Line added.", request=request)


@post(INVOICE + "/lines/remove")
async def remove_line(request: Request, staff: NamedDependency[Principal], invoice_id: FromPath[int],
                      data: Annotated[LineForm, FORM]) -> Response:
    await services.remove_line(staff, invoice_id, data.line_id, request=request)
    return see_other(_invoice_url(invoice_id), flash="Line removed.", request=request)


@post(INVOICE + "/send")
async def send(request: Request, staff: NamedDependency[Principal], invoice_id: FromPath[int]) -> Response:
    try:
        sent = await services.send_invoice(request.app.state.settings, staff, invoice_id, request=request)
    except Invalid as exc:
        return await _invoice_page(request, staff, invoice_id, errors=exc.errors, status_code=INVALID)
    emailed = f"{sent} client{'' if sent == 1 else 's'} emailed." if sent else "No client was emailed."
    return see_other(_invoice_url(invoice_id), flash=f"Invoice sent. {emailed}", request=request)


@post(INVOICE + "/paid")
async def mark_paid(request: Request, staff: NamedDependency[Principal], invoice_id: FromPath[int],
                    data: Annotated[PaidForm, FORM]) -> Response:
    try:
        await services.mark_paid(staff, invoice_id, paid_on=data.paid_on, note=data.paid_note, request=request)
    except Invalid as exc:
        return await _invoice_page(request, staff, invoice_id, errors=exc.errors, paid=data, status_code=INVALID)
    return see_other(_invoice_url(invoice_id), flash="Payment recorded: the invoice is paid.", request=request)


@post(INVOICE + "/void")
async def void(request: Request, staff: NamedDependency[Principal], invoice_id: FromPath[int]) -> Response:
    await services.void_invoice(staff, invoice_id, request=request)
    return see_other(_invoice_url(invoice_id), flash="Invoice voided. Clients no longer see it.", request=request)


# Settings -> Billing.


async def _settings_page(request: Request, staff: Principal, *, prefix: str | None = None, errors: dict | None = None,
                         instructions: str | None = None, status_code: int = 200) -> Template:
    numbering = await services.numbering_settings(staff)
    saved = await services.instructions_settings(staff)
    context = {**await _common(staff), "numbering": numbering, "prefix": numbering["prefix"] if prefix is None else prefix,
               "errors": errors or {}, "instructions": saved if instructions is None else instructions,
               "online": await payments.online_payment(staff.workspace_id)}
    return page(request, "studio/billing_settings.html", context, status_code=status_code)


@get("/settings/billing")
async def billing_settings(request: Request, staff: NamedDependency[Principal]) -> Template:
    return await _settings_page(request, staff)


@post("/settings/billing")
async def save_billing_settings(request: Request, staff: NamedDependency[Principal],
                                data: Annotated[PrefixForm, FORM]) -> Response:
    try:
        await services.save_numbering(staff, data.prefix, request=request)
    except Invalid as exc:
        return await _settings_page(request, staff, prefix=data.prefix, errors=exc.errors, status_code=INVALID)
    return see_other("/studio/settings/billing", flash="Invoice numbering saved.", request=request)


@post("/settings/billing/instructions")
async def save_payment_instructions(request: Request, staff: NamedDependency[Principal],
                                    data: Annotated[InstructionsForm, FORM]) -> Response:
    try:
        await services.save_instructions(staff, data.payment_instructions, request=request)
    except Invalid as exc:
        return await _settings_page(request, staff, errors=exc.errors, instructions=data.payment_instructions,
                                    status_code=INVALID)
    return see_other("/studio/settings/billing", flash="Payment instructions saved.", request=request)


# Settings -> Payments: the workspace's own Stripe account (owners and admins).

PAYMENT_SETTINGS = "/studio/settings/payments"


async def _payments_page(request: Request, staff: Principal, *, form: KeysInput | None = None,
                         errors: dict | None = None, status_code: int = 200) -> Template:
    current = await payments.payment_settings(request.app.state.settings, staff)
    form = form or KeysInput(publishable_key=current.publishable_key, checkout=current.checkout)
    context = {**await _common(staff), "payments": current, "form": form, "errors": errors or {}}
    return page(request, "studio/payment_settings.html", context, status_code=status_code)


@get("/settings/payments")
async def payment_settings(request: Request, staff: NamedDependency[Principal]) -> Template:
    return await _payments_page(request, staff)


@post("/settings/payments")
async def save_payment_settings(request: Request, staff: NamedDependency[Principal],
                                data: Annotated[KeysInput, FORM]) -> Response:
    try:
        await payments.save_keys(request.app.state.settings, staff, data, request=request)
    except Invalid as exc:
        # The secrets typed are never sent back into the page.
        shown = KeysInput(publishable_key=data.publishable_key, checkout=data.checkout)
        return await _payments_page(request, staff, form=shown, errors=exc.errors, status_code=INVALID)
    return see_other(PAYMENT_SETTINGS, flash="Stripe keys saved. Use Test connection to check them.", request=request)


@post("/settings/payments/test")
async def test_payment_connection(request: Request, staff: NamedDependency[Principal]) -> Response:
    try:
        name = await payments.check_connection(request.app.state.settings, staff)
    except Invalid as exc:
        return await _payments_page(request, staff, errors=exc.errors, status_code=INVALID)
    return see_other(PAYMENT_SETTINGS, flash=f"Connected to the Stripe account {name}.", request=request)


@post("/settings/payments/remove")
async def remove_payment_keys(request: Request, staff: NamedDependency[Principal]) -> Response:
    await payments.remove_keys(staff, request=request)
    return see_other(PAYMENT_SETTINGS, flash="Stripe keys removed. Clients can no longer pay online.", request=request)


HANDLERS = [
    project_billing, create_invoice, invoices, invoice, invoice_pdf, save_header, add_line, remove_line, send, mark_paid, void,
    billing_settings, save_billing_settings, save_payment_instructions,
    payment_settings, save_payment_settings, test_payment_connection, remove_payment_keys,
]
