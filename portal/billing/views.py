"""View objects for the Billing tab and the invoice page (built for clients, never rows),
and for the studio's invoice pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from portal.billing.amounts import cents_input, decimal_input

#: Labels of the statuses a client can see ("void" is never shown).
STATUS_LABELS = {"draft": "Draft", "sent": "Sent", "paid": "Paid", "overdue": "Overdue", "refunded": "Refunded"}


@dataclass(frozen=True)
class InvoiceSummary:
    """One invoice as the list shows it; ``status`` is the effective one (overdue derived)."""

    id: int
    number: str
    issue_date: dt.date
    due_date: dt.date
    currency: str
    total_cents: int
    status: str
    status_label: str
    payable: bool
    url: str


@dataclass(frozen=True)
class LineView:
    description: str
    quantity: str
    unit_amount_cents: int
    amount_cents: int
    tax_rate: str = "0"
    tax_cents: int = 0


@dataclass(frozen=True)
class InvoiceDetail:
    summary: InvoiceSummary
    lines: list[LineView]
    notes: str
    paid_at: dt.datetime | None
    billed_to: str
    subtotal_cents: int = 0
    tax_cents: int = 0

    @property
    def has_tax(self) -> bool:
        """Whether any line carries a tax rate (the page then shows a tax column)."""
        return self.tax_cents > 0 or any(line.tax_rate != "0" for line in self.lines)


@dataclass(frozen=True)
class InvoiceSheet:
    """An invoice as it is printed (the PDF), whoever asks for it."""

    project_id: int
    project_name: str
    invoice: InvoiceDetail


@dataclass(frozen=True)
class Outstanding:
    """What is left to pay in one currency: sent and overdue invoices."""

    currency: str
    total_cents: int
    count: int
    overdue_count: int


@dataclass
class _Sum:
    total_cents: int = 0
    count: int = 0
    overdue_count: int = 0


def quantity_label(quantity: Decimal | float | int) -> str:
    """A quantity without trailing zeros: 4, 2.5, 0.25."""
    text = format(Decimal(str(quantity)).normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def invoice_summary(row: dict, status: str, payable: bool, url: str, *,
                    labels: dict[str, str] = STATUS_LABELS) -> InvoiceSummary:
    return InvoiceSummary(
        id=row["id"], number=row["number"], issue_date=row["issue_date"], due_date=row["due_date"],
        currency=row["currency"], total_cents=row["total_cents"], status=status,
        status_label=labels[status], payable=payable, url=url,
    )


def line_view(row: dict) -> LineView:
    return LineView(
        description=row["description"], quantity=quantity_label(row["quantity"]),
        unit_amount_cents=row["unit_amount_cents"], amount_cents=row["amount_cents"],
        tax_rate=quantity_label(row.get("tax_rate") or 0), tax_cents=row.get("tax_cents") or 0,
    )


def outstanding(invoices: list[InvoiceSummary]) -> list[Outstanding]:
    """Totals still to pay, one per currency (in order of first appearance)."""
    sums: dict[str, _Sum] = {}
    for invoice in invoices:
        if not invoice.payable:
            continue
        entry = sums.setdefault(invoice.currency, _Sum())
        entry.total_cents += invoice.total_cents
        entry.count += 1
        entry.overdue_count += invoice.status == "overdue"
    return [Outstanding(currency, s.total_cents, s.count, s.overdue_count) for currency, s in sums.items()]


# The studio's invoices: every status, void included, with the staff-only facts.

STUDIO_STATUS_LABELS = {**STATUS_LABELS, "void": "Void"}


@dataclass(frozen=True)
class StudioInvoiceRow:
    id: int
    number: str
    client: str
    project: str
    project_id: int
    status: str
    status_label: str
    currency: str
    total_cents: int
    issue_date: dt.date
    due_date: dt.date
    url: str


@dataclass(frozen=True)
class StudioLine:
    id: int
    description: str
    quantity: str
    unit_amount_cents: int
    tax_rate: str
    amount_cents: int
    tax_cents: int
    #: The values the edit form starts from.
    quantity_input: str
    unit_price_input: str
    tax_rate_input: str


@dataclass(frozen=True)
class StudioInvoice:
    id: int
    number: str
    status: str
    status_label: str
    currency: str
    issue_date: dt.date
    due_date: dt.date
    notes: str
    subtotal_cents: int
    tax_cents: int
    total_cents: int
    sent_at: dt.datetime | None
    paid_at: dt.datetime | None
    paid_note: str
    voided_at: dt.datetime | None
    project_id: int
    project: str
    client: str
    lines: list[StudioLine]
    url: str

    @property
    def editable(self) -> bool:
        return self.status == "draft"

    @property
    def can_send(self) -> bool:
        return self.status == "draft"

    @property
    def can_mark_paid(self) -> bool:
        return self.status in ("sent", "overdue")

    @property
    def can_void(self) -> bool:
        return self.status in ("draft", "sent", "overdue")


def studio_row(row: dict, status: str) -> StudioInvoiceRow:
    return StudioInvoiceRow(
        id=row["id"], number=row["number"], client=row["client"], project=row["project_name"],
        project_id=row["project"], status=status, status_label=STUDIO_STATUS_LABELS[status],
        currency=row["currency"], total_cents=row["total_cents"], issue_date=row["issue_date"],
        due_date=row["due_date"], url=f"/studio/invoices/{row['id']}",
    )


def studio_line(row: dict) -> StudioLine:
    return StudioLine(
        id=row["id"], description=row["description"], quantity=quantity_label(row["quantity"]),
        unit_amount_cents=row["unit_amount_cents"], tax_rate=quantity_label(row["tax_rate"] or 0),
        amount_cents=row["amount_cents"], tax_cents=row["tax_cents"],
        quantity_input=decimal_input(row["quantity"]), unit_price_input=cents_input(row["unit_amount_cents"]),
        tax_rate_input=decimal_input(row["tax_rate"] or 0),
    )


def studio_invoice(row: dict, status: str, lines: list[dict]) -> StudioInvoice:
    return StudioInvoice(
        id=row["id"], number=row["number"], status=status, status_label=STUDIO_STATUS_LABELS[status],
        currency=row["currency"], issue_date=row["issue_date"], due_date=row["due_date"], notes=row["notes"],
        # total = subtotal + tax always; rows written before taxes existed carry only the total.
        subtotal_cents=row["total_cents"] - row["tax_cents"], tax_cents=row["tax_cents"], total_cents=row["total_cents"],
        sent_at=row["sent_at"], paid_at=row["paid_at"], paid_note=row["paid_note"], voided_at=row["voided_at"],
        project_id=row["project"], project=row["project_name"], client=row["client"],
        lines=[studio_line(line) for line in lines], url=f"/studio/invoices/{row['id']}",
    )
