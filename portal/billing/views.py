"""View objects for the Billing tab and the invoice page: built for clients, never rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

#: Labels of the statuses a client can see ("void" is never shown).
STATUS_LABELS = {"draft": "Draft", "sent": "Sent", "paid": "Paid", "overdue": "Overdue"}


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


@dataclass(frozen=True)
class InvoiceDetail:
    summary: InvoiceSummary
    lines: list[LineView]
    notes: str
    paid_at: dt.datetime | None
    billed_to: str


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


def invoice_summary(row: dict, status: str, payable: bool, url: str) -> InvoiceSummary:
    return InvoiceSummary(
        id=row["id"], number=row["number"], issue_date=row["issue_date"], due_date=row["due_date"],
        currency=row["currency"], total_cents=row["total_cents"], status=status,
        status_label=STATUS_LABELS[status], payable=payable, url=url,
    )


def line_view(row: dict) -> LineView:
    return LineView(
        description=row["description"], quantity=quantity_label(row["quantity"]),
        unit_amount_cents=row["unit_amount_cents"], amount_cents=row["amount_cents"],
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
