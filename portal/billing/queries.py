"""The billing area's plain-SQL reads: the portal's Billing tab and invoice page.

Plain SQL on these hot reads: Piccolo's select costs more CPU to build than to run
(bench/profile_tab.py). Column names are Piccolo's own.
"""

from __future__ import annotations

from portal.billing.tables import CLIENT_VISIBLE, Invoice
from portal.db import column_list, fetch, in_list

SUMMARY_COLUMNS = (
    Invoice.id, Invoice.number, Invoice.status, Invoice.issue_date, Invoice.due_date, Invoice.currency,
    Invoice.total_cents,
)
_CLIENT_INVOICES = (
    f'SELECT {column_list(SUMMARY_COLUMNS)} FROM "invoice"'
    f' WHERE "project" = {{}} AND "workspace" = {{}} AND "status" IN ({in_list(CLIENT_VISIBLE)})'
    ' ORDER BY "issue_date" DESC, "id" DESC'
)
_CLIENT_INVOICE = (
    f'SELECT {column_list(SUMMARY_COLUMNS, "i.")},'
    ' i."notes", i."paid_at", i."tax_cents", o."name" AS "billed_to"'
    ' FROM "invoice" i JOIN "project" p ON p."id" = i."project"'
    ' JOIN "client_organisation" o ON o."id" = p."organisation"'
    f' WHERE i."id" = {{}} AND i."project" = {{}} AND i."workspace" = {{}} AND i."status" IN ({in_list(CLIENT_VISIBLE)})'
)
_TO_PAY = (
    f'SELECT "project", {column_list(SUMMARY_COLUMNS)} FROM "invoice"'
    ' WHERE "workspace" = {} AND "status" = \'sent\' AND "project" IN (%s) ORDER BY "due_date", "id"'
)
#: A workspace takes payments online once all three of its Stripe keys are set (the
#: condition names the columns; no key is ever selected on a client's page).
ONLINE = (
    '"secret_key_encrypted" != \'\' AND "publishable_key" != \'\' AND "webhook_secret_encrypted" != \'\''
)
#: All an invoice page needs of payment, in one statement: online or not, a payment
#: under way, the amount refunded, and the instructions for paying otherwise.
_PAY_FACTS = (
    'SELECT EXISTS (SELECT 1 FROM "stripe_account" WHERE "workspace" = {} AND ' + ONLINE + ') AS "online",'
    ' EXISTS (SELECT 1 FROM "payment" WHERE "workspace" = {} AND "invoice" = {}'
    ' AND "status" = \'processing\') AS "processing",'
    ' (SELECT COALESCE(SUM("refunded_cents"), 0) FROM "payment" WHERE "workspace" = {} AND "invoice" = {}'
    ' AND "status" IN (\'processing\', \'succeeded\')) AS "refunded_cents",'
    ' (SELECT "payment_instructions" FROM "billing_profile" WHERE "workspace" = {} LIMIT 1) AS "instructions"'
)
_LINES = (
    'SELECT "description", "quantity", "unit_amount_cents", "amount_cents", "tax_rate", "tax_cents"'
    ' FROM "invoice_line"'
    ' WHERE "invoice" = {} ORDER BY "position", "id"'
)


async def client_invoices(project_id: int, workspace_id: int) -> list[dict]:
    """The project's client-visible invoices, newest first."""
    return await fetch(_CLIENT_INVOICES, project_id, workspace_id, *CLIENT_VISIBLE)


async def sent_invoices(workspace_id: int, project_ids: list[int]) -> list[dict]:
    """The sent (so still unpaid) invoices of these projects, soonest due first."""
    return await fetch(_TO_PAY % in_list(project_ids), workspace_id, *project_ids) if project_ids else []


async def client_invoice(invoice_id: int, project_id: int, workspace_id: int) -> dict | None:
    """One client-visible invoice with its notes and the organisation billed."""
    rows = await fetch(_CLIENT_INVOICE, invoice_id, project_id, workspace_id, *CLIENT_VISIBLE)
    return rows[0] if rows else None


async def invoice_lines(invoice_id: int) -> list[dict]:
    return await fetch(_LINES, invoice_id)


async def pay_facts(workspace_id: int, invoice_id: int) -> dict:
    """``online``, ``processing``, ``refunded_cents`` and ``instructions`` (None if never set)."""
    row = (await fetch(_PAY_FACTS, workspace_id, workspace_id, invoice_id, workspace_id, invoice_id, workspace_id))[0]
    return {**row, "online": bool(row["online"]), "processing": bool(row["processing"]),
            "refunded_cents": int(row["refunded_cents"])}
