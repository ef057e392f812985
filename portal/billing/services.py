"""Billing: the clients' invoices, and the studio's invoicing (numbers, drafts, send, paid, void).

Rules for clients: they see draft, sent and paid invoices (never void ones); "overdue"
is derived (sent and past its due date), never stored; only sent and overdue invoices
are payable.

Rules for the studio (``portal.billing.amounts`` holds the arithmetic):
- numbers are the workspace's prefix and a zero-padded sequence (INV-0001), taken and
  moved on in the write transaction that inserts the invoice: unique and gap-free;
  so invoices are never deleted, a draft or a sent invoice is voided instead;
- an invoice is edited only while it is a draft (409 afterwards);
- sending needs at least one line and emails every client with a live grant;
- only owners and admins record a payment by hand or void an invoice; a paid invoice
  cannot be voided;
- every lookup is scoped to the staff member's workspace (404 otherwise), before any
  input is looked at;
- every change is audited.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from litestar import Request

from portal import clock
from portal.accounts.sessions import Principal, ensure_manager
from portal.audit.services import record
from portal.billing import queries
from portal.billing.amounts import (
    CURRENCIES,
    BadNumber,
    LineAmounts,
    line_amounts,
    parse_price_cents,
    parse_quantity,
    parse_rate,
    totals,
)
from portal.billing.tables import BillingProfile, Invoice, InvoiceLine, InvoiceNumbering
from portal.billing.views import (
    STUDIO_STATUS_LABELS,
    InvoiceDetail,
    InvoiceSheet,
    InvoiceSummary,
    Outstanding,
    StudioInvoice,
    StudioInvoiceRow,
    invoice_summary,
    line_view,
    outstanding,
    studio_invoice,
    studio_row,
)
from portal.db import engine, for_update
from portal.deliverables.services import review_recipients
from portal.errors import Conflict, Invalid, NotFound
from portal.formats import money
from portal.mail.outbox import PortalDisabled, enqueue_email
from portal.projects.access import get_visible_project
from portal.projects.tables import Project
from portal.projects.views import ProjectView, project_header
from portal.settings import Settings

#: Effective statuses that can be paid.
PAYABLE = frozenset({"sent", "overdue"})

@dataclass(frozen=True)
class BillingTab:
    project: ProjectView
    invoices: list[InvoiceSummary]
    outstanding: list[Outstanding]


@dataclass(frozen=True)
class InvoicePage:
    project: ProjectView
    invoice: InvoiceDetail


def effective_status(status: str, due_date: dt.date, today: dt.date) -> str:
    """The status a person sees: a sent invoice past its due date is "overdue"."""
    if status == "sent" and due_date < today:
        return "overdue"
    return status


def is_payable(effective: str) -> bool:
    return effective in PAYABLE


def _summary(row: dict, today: dt.date, base_url: str) -> InvoiceSummary:
    status = effective_status(row["status"], row["due_date"], today)
    return invoice_summary(row, status, is_payable(status), f"{base_url}/{row['id']}")


async def billing_tab(client: Principal, project_id: int, base_url: str) -> BillingTab:
    """Every client-visible invoice of a visible project, newest first, and what is due."""
    project = await get_visible_project(client, project_id)
    rows = await queries.client_invoices(project["id"], client.workspace_id)
    today = clock.today()
    invoices = [_summary(row, today, base_url) for row in rows]
    return BillingTab(project_header(project), invoices, outstanding(invoices))


async def invoices_to_pay(client: Principal, project_ids: list[int], portal_base: str) -> list[InvoiceSummary]:
    """What the client still has to pay across the projects they see (the portal home), soonest due
    first; ``project_ids`` are the visible ones."""
    today = clock.today()
    rows = await queries.sent_invoices(client.workspace_id, project_ids)
    return [_summary(row, today, f"{portal_base}/projects/{row['project']}/billing") for row in rows]


async def invoice_page(client: Principal, project_id: int, invoice_id: int, base_url: str) -> InvoicePage:
    """One client-visible invoice of a visible project with its lines; 404 otherwise."""
    project = await get_visible_project(client, project_id)
    row = await queries.client_invoice(invoice_id, project["id"], client.workspace_id)
    if row is None:
        raise NotFound()
    lines = await queries.invoice_lines(row["id"])
    return InvoicePage(project_header(project), _detail(row, lines, _summary(row, clock.today(), base_url)))


def _detail(row: dict, lines: list[dict], summary: InvoiceSummary) -> InvoiceDetail:
    return InvoiceDetail(
        summary=summary,
        lines=[line_view(line) for line in lines],
        notes=row["notes"],
        paid_at=row["paid_at"] if row["status"] in ("paid", "refunded") else None,
        billed_to=row["billed_to"],
        # total = subtotal + tax always; rows written before taxes existed carry only the total.
        subtotal_cents=row["total_cents"] - row["tax_cents"],
        tax_cents=row["tax_cents"],
    )


async def staff_invoice_sheet(staff: Principal, invoice_id: int) -> InvoiceSheet:
    """Any invoice of the workspace (drafts and void ones too) as its client would see it
    printed; 404 otherwise."""
    row = await _staff_invoice(staff, invoice_id)
    lines = await queries.invoice_lines(invoice_id)
    status = effective_status(row["status"], row["due_date"], clock.today())
    summary = invoice_summary(row, status, is_payable(status), f"/studio/invoices/{invoice_id}",
                              labels=STUDIO_STATUS_LABELS)
    return InvoiceSheet(row["project"], row["project_name"], _detail({**row, "billed_to": row["client"]}, lines, summary))


# The studio: numbering, drafts, lines, send, paid by hand, void.

NUMBER_PREFIX = re.compile(r"[A-Za-z0-9\-_/.]{1,12}")
DEFAULT_PREFIX = "INV-"
MAX_NOTES = 5000
MAX_DESCRIPTION = 300
MAX_PAID_NOTE = 1000
DUE_DAYS = 14
#: Effective statuses the studio's list filters by.
STUDIO_FILTERS = ("draft", "sent", "overdue", "paid", "refunded", "void")

_INVOICE_COLUMNS = (
    Invoice.id, Invoice.number, Invoice.status, Invoice.currency, Invoice.issue_date, Invoice.due_date,
    Invoice.notes, Invoice.subtotal_cents, Invoice.tax_cents, Invoice.total_cents, Invoice.sent_at,
    Invoice.paid_at, Invoice.paid_note, Invoice.voided_at, Invoice.project,
    Invoice.project.name.as_alias("project_name"), Invoice.project.organisation.name.as_alias("client"),
)
_LINE_COLUMNS = (
    InvoiceLine.id, InvoiceLine.description, InvoiceLine.quantity, InvoiceLine.unit_amount_cents,
    InvoiceLine.tax_rate, InvoiceLine.amount_cents, InvoiceLine.tax_cents,
)


@dataclass(frozen=True)
class Header:
    """An invoice's header as typed; ``clean_header`` turns it into stored values."""

    currency: str = "usd"
    issue_date: str = ""
    due_date: str = ""
    notes: str = ""


@dataclass(frozen=True)
class LineInput:
    description: str = ""
    quantity: str = "1"
    unit_price: str = ""
    tax_rate: str = "0"


def default_header(today: dt.date) -> Header:
    """A new invoice's form: dollars, issued today, due in 14 days."""
    return Header("usd", today.isoformat(), (today + dt.timedelta(days=DUE_DAYS)).isoformat(), "")


def _date(raw: str, what: str) -> dt.date:
    text = (raw or "").strip()
    if not text:
        raise ValueError(f"Enter the {what}.")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"Enter the {what} as a date, like {clock.today().isoformat()}.") from None


def clean_header(header: Header) -> dict:
    """The stored fields of a header, or ``Invalid`` with a message per field."""
    errors: dict[str, str] = {}
    currency = (header.currency or "").strip().lower()
    if currency not in CURRENCIES:
        errors["currency"] = "Choose US dollar, euro or pound sterling."
    dates = {}
    for field, what in (("issue_date", "issue date"), ("due_date", "due date")):
        try:
            dates[field] = _date(getattr(header, field), what)
        except ValueError as exc:
            errors[field] = str(exc)
    if len(dates) == 2 and dates["due_date"] < dates["issue_date"]:
        errors["due_date"] = "The due date cannot be before the issue date."
    notes = (header.notes or "").strip()
    if len(notes) > MAX_NOTES:
        errors["notes"] = f"Keep the notes under {MAX_NOTES} characters."
    if errors:
        raise Invalid(errors)
    return {"currency": currency, "notes": notes, **dates}


def clean_line(line: LineInput) -> dict:
    """The stored fields of a line (with its amounts), or ``Invalid`` with a message per field."""
    errors: dict[str, str] = {}
    description = (line.description or "").strip()
    if not description:
        errors["description"] = "Describe what this line is for."
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = f"Keep the description under {MAX_DESCRIPTION} characters."
    values = {}
    for field, parse in (("quantity", parse_quantity), ("unit_price", parse_price_cents), ("tax_rate", parse_rate)):
        try:
            values[field] = parse(getattr(line, field))
        except BadNumber as exc:
            errors[field] = str(exc)
    if errors:
        raise Invalid(errors)
    amounts = line_amounts(values["quantity"], values["unit_price"], values["tax_rate"])
    return {
        "description": description, "quantity": values["quantity"], "unit_amount_cents": values["unit_price"],
        "tax_rate": values["tax_rate"], "amount_cents": amounts.net_cents, "tax_cents": amounts.tax_cents,
    }


def clean_prefix(raw: str) -> str:
    prefix = (raw or "").strip()
    if not NUMBER_PREFIX.fullmatch(prefix):
        raise Invalid({"prefix": "Use 1 to 12 letters, digits or - _ / . (for example INV- or 2026/)."})
    return prefix


def format_number(prefix: str, number: int) -> str:
    return f"{prefix}{number:04d}"


async def _numbering(workspace_id: int, *, lock: bool) -> dict:
    """The workspace's numbering row, made on first use; call inside a write transaction."""
    await InvoiceNumbering.insert(InvoiceNumbering(workspace=workspace_id, prefix=DEFAULT_PREFIX, next_number=1)).on_conflict(
        target=InvoiceNumbering.workspace, action="DO NOTHING"
    )
    query = InvoiceNumbering.select(InvoiceNumbering.id, InvoiceNumbering.prefix, InvoiceNumbering.next_number).where(
        InvoiceNumbering.workspace == workspace_id
    )
    return await (for_update(query) if lock else query).first()


async def _take_number(workspace_id: int) -> str:
    """The next free number of the sequence, moved on; call inside a write transaction."""
    row = await _numbering(workspace_id, lock=True)
    number = row["next_number"]
    # A number already taken (an imported invoice, an earlier prefix) is skipped, never reused.
    while await Invoice.exists().where(
        (Invoice.workspace == workspace_id) & (Invoice.number == format_number(row["prefix"], number))
    ):
        number += 1
    await InvoiceNumbering.update({InvoiceNumbering.next_number: number + 1}).where(
        InvoiceNumbering.id == row["id"]
    )
    return format_number(row["prefix"], number)


async def numbering_settings(staff: Principal) -> dict:
    """Prefix and the next number (owners and admins only)."""
    ensure_manager(staff, "change how invoices are numbered")
    # A read only (no write on a GET): a workspace without invoices yet has no row.
    row = await InvoiceNumbering.select(InvoiceNumbering.prefix, InvoiceNumbering.next_number).where(
        InvoiceNumbering.workspace == staff.workspace_id
    ).first() or {"prefix": DEFAULT_PREFIX, "next_number": 1}
    return {"prefix": row["prefix"], "next": format_number(row["prefix"], row["next_number"])}


async def save_numbering(staff: Principal, raw_prefix: str, *, request: Request | None = None) -> str:
    """Change the prefix of the numbers to come (the sequence goes on); returns it."""
    ensure_manager(staff, "change how invoices are numbered")
    prefix = clean_prefix(raw_prefix)
    async with engine().write_transaction():
        row = await _numbering(staff.workspace_id, lock=True)
        await InvoiceNumbering.update({InvoiceNumbering.prefix: prefix}).where(InvoiceNumbering.id == row["id"])
        await record("billing_settings_changed", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="workspace", target_id=staff.workspace_id, prefix_from=row["prefix"], prefix_to=prefix)
    return prefix


MAX_INSTRUCTIONS = 2000


async def instructions_settings(staff: Principal) -> str:
    """The payment instructions clients see when they cannot pay online (owners and admins)."""
    ensure_manager(staff, "change the payment instructions")
    return await payment_instructions(staff.workspace_id)


async def payment_instructions(workspace_id: int) -> str:
    """How a workspace's clients pay when they do not pay online ("" if it never said)."""
    row = await BillingProfile.select(BillingProfile.payment_instructions).where(
        BillingProfile.workspace == workspace_id).first()
    return row["payment_instructions"] if row else ""


async def save_instructions(staff: Principal, raw: str, *, request: Request | None = None) -> str:
    """Bank details or any words on how to pay, shown on unpaid invoices without online payment."""
    ensure_manager(staff, "change the payment instructions")
    text = "\n".join(line.rstrip() for line in (raw or "").replace("\r\n", "\n").strip().split("\n"))
    if len(text) > MAX_INSTRUCTIONS:
        raise Invalid({"payment_instructions": f"Keep the instructions under {MAX_INSTRUCTIONS} characters "
                                               f"(now {len(text)})."})
    async with engine().write_transaction():
        updated = await BillingProfile.update({BillingProfile.payment_instructions: text}).where(
            BillingProfile.workspace == staff.workspace_id).returning(BillingProfile.id)
        if not updated:
            await BillingProfile.insert(BillingProfile(workspace=staff.workspace_id, payment_instructions=text))
        await record("payment_instructions_changed", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="workspace", target_id=staff.workspace_id, length=len(text))
    return text


async def staff_project(staff: Principal, project_id: int) -> dict:
    """A project of the staff member's workspace, or 404."""
    row = await Project.select(Project.id, Project.name, Project.status, Project.organisation.name.as_alias("client")).where(
        (Project.id == project_id) & (Project.workspace == staff.workspace_id)
    ).first()
    if row is None:
        raise NotFound()
    return row


async def _staff_invoice(staff: Principal, invoice_id: int, *, lock: bool = False) -> dict:
    query = Invoice.select(*_INVOICE_COLUMNS).where(
        (Invoice.id == invoice_id) & (Invoice.workspace == staff.workspace_id)
    )
    if lock:  # the invoice row itself, not the joined project and organisation (PostgreSQL)
        await for_update(Invoice.select(Invoice.id).where(
            (Invoice.id == invoice_id) & (Invoice.workspace == staff.workspace_id)
        )).first()
    row = await query.first()
    if row is None:
        raise NotFound()
    return row


def ensure_draft(row: dict) -> None:
    """Refuse (409) a change to an invoice that is no longer a draft."""
    if row["status"] == "draft":
        return
    when = {"sent": row["sent_at"], "paid": row["paid_at"], "void": row["voided_at"]}.get(row["status"])
    state = {"sent": "was sent", "paid": "is paid", "refunded": "was refunded", "void": "was voided"}[row["status"]]
    on = f" on {when:%-d %b %Y}" if when else ""
    raise Conflict(
        f"Invoice {row['number']} {state}{on} and can no longer be edited. "
        "To correct it, void it and create a new invoice."
    )


async def create_invoice(staff: Principal, project_id: int, header: Header, *, request: Request | None = None) -> int:
    """A new draft invoice in one of the workspace's projects, numbered; returns its id."""
    await staff_project(staff, project_id)
    fields = clean_header(header)
    async with engine().write_transaction():
        number = await _take_number(staff.workspace_id)
        rows = await Invoice.insert(Invoice(
            workspace=staff.workspace_id, project=project_id, number=number, status="draft", **fields,
        )).returning(Invoice.id)
        invoice_id = rows[0]["id"]
        await record("invoice_created", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="invoice", target_id=invoice_id, number=number, project_id=project_id)
    return invoice_id


async def update_invoice(staff: Principal, invoice_id: int, header: Header, *, request: Request | None = None) -> None:
    """Change a draft's currency, dates and notes; 409 once sent."""
    ensure_draft(await _staff_invoice(staff, invoice_id))
    fields = clean_header(header)
    async with engine().write_transaction():
        ensure_draft(await _staff_invoice(staff, invoice_id, lock=True))
        await Invoice.update({getattr(Invoice, name): value for name, value in fields.items()}).where(
            Invoice.id == invoice_id
        )
        await record("invoice_updated", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="invoice", target_id=invoice_id, change="header")


async def _recompute(invoice_id: int) -> None:
    """The invoice's subtotal, tax and total from its lines (inside the writing transaction)."""
    lines = await InvoiceLine.select(InvoiceLine.amount_cents, InvoiceLine.tax_cents).where(
        InvoiceLine.invoice == invoice_id
    )
    sums = totals([LineAmounts(line["amount_cents"], line["tax_cents"]) for line in lines])
    await Invoice.update({
        Invoice.subtotal_cents: sums.subtotal_cents, Invoice.tax_cents: sums.tax_cents,
        Invoice.total_cents: sums.total_cents,
    }).where(Invoice.id == invoice_id)


def _line_id(raw: str) -> int:
    text = (raw or "").strip()
    if not text.isdigit() or len(text) > 12:
        raise NotFound()
    return int(text)


async def _draft_line(invoice_id: int, line_id: int) -> dict:
    row = await InvoiceLine.select(InvoiceLine.id, InvoiceLine.description).where(
        (InvoiceLine.id == line_id) & (InvoiceLine.invoice == invoice_id)
    ).first()
    if row is None:
        raise NotFound()
    return row


async def add_line(staff: Principal, invoice_id: int, line: LineInput, *, request: Request | None = None) -> None:
    """A new last line on a draft; totals follow."""
    ensure_draft(await _staff_invoice(staff, invoice_id))
    fields = clean_line(line)
    async with engine().write_transaction():
        ensure_draft(await _staff_invoice(staff, invoice_id, lock=True))
        last = await InvoiceLine.select(InvoiceLine.position).where(InvoiceLine.invoice == invoice_id).order_by(
            InvoiceLine.position, ascending=False
        ).first()
        await InvoiceLine.insert(InvoiceLine(
            invoice=invoice_id, position=(last["position"] + 1) if last else 0, **fields,
        ))
        await _recompute(invoice_id)
        await record("invoice_updated", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="invoice", target_id=invoice_id, change="line_added", description=fields["description"])


async def save_line(staff: Principal, invoice_id: int, raw_line_id: str, line: LineInput, *,
                    request: Request | None = None) -> None:
    """Change one line of a draft; totals follow."""
    ensure_draft(await _staff_invoice(staff, invoice_id))
    line_id = _line_id(raw_line_id)
    await _draft_line(invoice_id, line_id)
    fields = clean_line(line)
    async with engine().write_transaction():
        ensure_draft(await _staff_invoice(staff, invoice_id, lock=True))
        await _draft_line(invoice_id, line_id)
        await InvoiceLine.update({getattr(InvoiceLine, name): value for name, value in fields.items()}).where(
            InvoiceLine.id == line_id
        )
        await _recompute(invoice_id)
        await record("invoice_updated", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="invoice", target_id=invoice_id, change="line_changed", line_id=line_id)


async def remove_line(staff: Principal, invoice_id: int, raw_line_id: str, *, request: Request | None = None) -> None:
    """Take one line off a draft; totals follow."""
    ensure_draft(await _staff_invoice(staff, invoice_id))
    line_id = _line_id(raw_line_id)
    async with engine().write_transaction():
        ensure_draft(await _staff_invoice(staff, invoice_id, lock=True))
        line = await _draft_line(invoice_id, line_id)
        await InvoiceLine.delete().where(InvoiceLine.id == line_id)
        await _recompute(invoice_id)
        await record("invoice_updated", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="invoice", target_id=invoice_id, change="line_removed", description=line["description"])


async def send_invoice(settings: Settings, staff: Principal, invoice_id: int, *, request: Request | None = None) -> int:
    """Draft -> sent; emails every client with a live grant to the project a link to it.

    Returns how many emails were queued (none while the portal is switched off).
    ``Invalid`` without lines, ``Conflict`` when it is not a draft.
    """
    ensure_draft(await _staff_invoice(staff, invoice_id))
    async with engine().write_transaction():
        row = await _staff_invoice(staff, invoice_id, lock=True)
        ensure_draft(row)
        if not await InvoiceLine.exists().where(InvoiceLine.invoice == invoice_id):
            raise Invalid({"": "Add at least one line before sending this invoice."})
        now = clock.now()
        await Invoice.update({Invoice.status: "sent", Invoice.sent_at: now}).where(Invoice.id == invoice_id)
        sent = await _email_clients(settings, staff.workspace_id, row)
        await record("invoice_sent", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="invoice", target_id=invoice_id, number=row["number"], emails=sent)
    return sent


async def _email_clients(settings: Settings, workspace_id: int, row: dict) -> int:
    context = {
        "number": row["number"], "project_name": row["project_name"],
        "amount": money(row["total_cents"], row["currency"]), "due_date": f"{row['due_date']:%-d %b %Y}",
        "path": f"/projects/{row['project']}/billing/{row['id']}",
    }
    sent = 0
    for address in await review_recipients(workspace_id, row["project"]):
        try:
            await enqueue_email(settings, workspace_id=workspace_id, to=address, template="invoice_sent",
                                context=context, to_client=True)
        except PortalDisabled:
            return 0
        sent += 1
    return sent


async def mark_paid(staff: Principal, invoice_id: int, *, paid_on: str, note: str,
                    request: Request | None = None) -> None:
    """Record a payment that arrived outside the portal (owners and admins): sent -> paid."""
    row = await _staff_invoice(staff, invoice_id)
    ensure_manager(staff, "record a payment")
    _ensure_payable(row)
    errors = {}
    try:
        day = _date(paid_on, "payment date")
        if day > clock.today():
            errors["paid_on"] = "The payment date cannot be in the future."
    except ValueError as exc:
        errors["paid_on"] = str(exc)
    note = (note or "").strip()
    if len(note) > MAX_PAID_NOTE:
        errors["paid_note"] = f"Keep the note under {MAX_PAID_NOTE} characters."
    if errors:
        raise Invalid(errors)
    now = clock.now()
    paid_at = now if day == now.date() else dt.datetime.combine(day, dt.time(12, 0), dt.UTC)
    async with engine().write_transaction():
        _ensure_payable(await _staff_invoice(staff, invoice_id, lock=True))
        await Invoice.update({Invoice.status: "paid", Invoice.paid_at: paid_at, Invoice.paid_note: note}).where(
            Invoice.id == invoice_id
        )
        await record("invoice_paid", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="invoice", target_id=invoice_id, number=row["number"], paid_on=day.isoformat(),
                     by_hand=True)


def _ensure_payable(row: dict) -> None:
    if row["status"] == "draft":
        raise Conflict(f"Invoice {row['number']} is still a draft: send it before recording a payment.")
    if row["status"] in ("paid", "refunded"):
        raise Conflict(f"Invoice {row['number']} is already {row['status']}.")
    if row["status"] == "void":
        raise Conflict(f"Invoice {row['number']} was voided: nothing is due on it.")


async def void_invoice(staff: Principal, invoice_id: int, *, request: Request | None = None) -> None:
    """Draft or sent -> void (owners and admins); the number stays used, clients no longer see it."""
    row = await _staff_invoice(staff, invoice_id)
    ensure_manager(staff, "void invoices")
    async with engine().write_transaction():
        row = await _staff_invoice(staff, invoice_id, lock=True)
        if row["status"] in ("paid", "refunded"):
            raise Conflict(f"Invoice {row['number']} is {row['status']} and cannot be voided.")
        if row["status"] == "void":
            raise Conflict(f"Invoice {row['number']} is already void.")
        await Invoice.update({Invoice.status: "void", Invoice.voided_at: clock.now()}).where(Invoice.id == invoice_id)
        await record("invoice_voided", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="invoice", target_id=invoice_id, number=row["number"], was=row["status"])


async def studio_invoices(staff: Principal, *, status: str = "", project_id: int | None = None) -> list[StudioInvoiceRow]:
    """The workspace's invoices (or one project's), newest first; ``status`` filters by the effective one."""
    where = Invoice.workspace == staff.workspace_id
    if project_id is not None:
        where &= Invoice.project == project_id
    today = clock.today()
    if status in ("sent", "overdue"):
        where &= Invoice.status == "sent"
        where &= (Invoice.due_date < today) if status == "overdue" else (Invoice.due_date >= today)
    elif status in STUDIO_FILTERS:
        where &= Invoice.status == status
    rows = await Invoice.select(*_INVOICE_COLUMNS).where(where).order_by(Invoice.issue_date, ascending=False).order_by(
        Invoice.id, ascending=False
    )
    return [studio_row(row, effective_status(row["status"], row["due_date"], today)) for row in rows]


async def studio_invoice_page(staff: Principal, invoice_id: int) -> StudioInvoice:
    """One invoice of the workspace with its lines, for the studio; 404 otherwise."""
    row = await _staff_invoice(staff, invoice_id)
    lines = await InvoiceLine.select(*_LINE_COLUMNS).where(InvoiceLine.invoice == invoice_id).order_by(
        InvoiceLine.position
    ).order_by(InvoiceLine.id)
    return studio_invoice(row, effective_status(row["status"], row["due_date"], clock.today()), lines)
