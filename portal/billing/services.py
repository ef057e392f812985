"""Billing for clients: the invoices of a visible project and one invoice with its lines.

Rules: clients see draft, sent and paid invoices (never void ones); "overdue" is derived
(sent and past its due date), never stored; only sent and overdue invoices are payable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal import clock
from portal.accounts.sessions import Principal
from portal.billing import queries
from portal.billing.views import (
    InvoiceDetail,
    InvoiceSummary,
    Outstanding,
    invoice_summary,
    line_view,
    outstanding,
)
from portal.errors import NotFound
from portal.projects.access import get_visible_project
from portal.projects.views import ProjectView, project_header

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


async def invoice_page(client: Principal, project_id: int, invoice_id: int, base_url: str) -> InvoicePage:
    """One client-visible invoice of a visible project with its lines; 404 otherwise."""
    project = await get_visible_project(client, project_id)
    row = await queries.client_invoice(invoice_id, project["id"], client.workspace_id)
    if row is None:
        raise NotFound()
    lines = await queries.invoice_lines(row["id"])
    summary = _summary(row, clock.today(), base_url)
    detail = InvoiceDetail(
        summary=summary,
        lines=[line_view(line) for line in lines],
        notes=row["notes"],
        paid_at=row["paid_at"] if row["status"] == "paid" else None,
        billed_to=row["billed_to"],
    )
    return InvoicePage(project_header(project), detail)
