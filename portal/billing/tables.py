"""Invoices, their lines and payments. Amounts are integer minor units (cents)."""

from decimal import Decimal

from piccolo.columns import BigInt, Boolean, Date, ForeignKey, Integer, Numeric, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.projects.tables import Project
from portal.workspaces.tables import Workspace

#: Stored statuses; "overdue" is derived (sent and past due), never stored.
INVOICE_STATUSES = ("draft", "sent", "paid", "refunded", "void")
#: Stored statuses a client may see (never void).
CLIENT_VISIBLE = ("draft", "sent", "paid", "refunded")
#: pending: a Checkout Session is open; processing: paid by a method that settles later.
PAYMENT_STATUSES = ("pending", "processing", "succeeded", "failed", "expired")


class Invoice(Table, tablename="invoice"):
    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    project = ForeignKey(Project, index=True, on_delete=OnDelete.cascade, null=False)
    number = Varchar(length=40)
    status = Varchar(length=8, default="draft", index=True)
    currency = Varchar(length=3, default="usd")
    issue_date = Date()
    due_date = Date()
    #: Sum of the lines' net amounts, of their taxes, and the two together (what is due).
    subtotal_cents = BigInt(default=0)
    tax_cents = BigInt(default=0)
    total_cents = BigInt(default=0)
    notes = Text(default="")
    #: Staff only, never shown in the portal: how a payment recorded by hand arrived.
    paid_note = Text(default="")
    voided_at = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    paid_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class InvoiceNumbering(Table, tablename="invoice_numbering"):
    """Per workspace: the prefix of new invoice numbers and the next number of the sequence.

    Read and moved on inside the write transaction that inserts the invoice (the row
    locked on PostgreSQL, the database on SQLite), so numbers are unique and gap-free.
    """

    workspace = ForeignKey(Workspace, unique=True, on_delete=OnDelete.cascade, null=False)
    prefix = Varchar(length=12, default="INV-")
    next_number = Integer(default=1)


class BillingProfile(Table, tablename="billing_profile"):
    """Per workspace: how clients pay when they do not pay online (bank details, a free text)."""

    workspace = ForeignKey(Workspace, unique=True, on_delete=OnDelete.cascade, null=False)
    payment_instructions = Text(default="")


class InvoiceLine(Table, tablename="invoice_line"):
    invoice = ForeignKey(Invoice, index=True, on_delete=OnDelete.cascade, null=False)
    description = Varchar(length=300)
    quantity = Numeric(digits=(10, 2), default=Decimal("1"))
    unit_amount_cents = BigInt()
    amount_cents = BigInt()
    #: Tax rate in percent (0-100, two decimals) and the line's tax, rounded half up to the cent.
    tax_rate = Numeric(digits=(5, 2), default=Decimal("0"))
    tax_cents = BigInt(default=0)
    position = Integer(default=0)


class Payment(Table, tablename="payment"):
    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    invoice = ForeignKey(Invoice, index=True, on_delete=OnDelete.cascade, null=False)
    amount_cents = BigInt()
    currency = Varchar(length=3)
    provider = Varchar(length=16, default="stripe")
    checkout_session_id = Varchar(length=255, null=True, default=None, unique=True)
    payment_intent_id = Varchar(length=255, null=True, default=None, index=True)
    status = Varchar(length=16, default="pending")
    created_at = Timestamptz(default=TimestamptzNow())
    completed_at = Timestamptz(null=True, default=None)
    #: embedded or hosted Checkout; the Stripe fee and what was refunded, in minor units.
    ui_mode = Varchar(length=8, default="hosted")
    charge_id = Varchar(length=255, null=True, default=None)
    fee_cents = BigInt(null=True, default=None)
    refunded_cents = BigInt(default=0)
    #: The client who opened the session (the receipt goes to them).
    client_user_id = Integer(null=True, default=None)


class StripeAccount(Table, tablename="stripe_account"):
    """A workspace's own Stripe account: the keys its invoices are paid with.

    The secret key and webhook signing secret are stored encrypted
    (``portal.billing.stripe_keys``); only ``secret_last4`` is ever shown, and portal
    pages ask only whether an account is set (``connected``).
    """

    workspace = ForeignKey(Workspace, unique=True, on_delete=OnDelete.cascade, null=False)
    secret_key_encrypted = Text(default="")
    secret_last4 = Varchar(length=4, default="")
    publishable_key = Varchar(length=255, default="")
    webhook_secret_encrypted = Text(default="")
    #: "embedded" (Checkout inside the portal page, with JavaScript) or "hosted" (Stripe's page).
    checkout = Varchar(length=8, default="embedded")
    account_name = Varchar(length=255, default="")
    livemode = Boolean(default=False)
    updated_at = Timestamptz(default=TimestamptzNow())
    #: When the daily reconciliation last ran for this workspace (claimed by one process).
    reconciled_at = Timestamptz(null=True, default=None)


class StripeEvent(Table, tablename="stripe_event"):
    """Every Stripe event applied, once: the unique event id makes a redelivery a no-op."""

    workspace = ForeignKey(Workspace, index=True, on_delete=OnDelete.cascade, null=False)
    event_id = Varchar(length=255, unique=True)
    event_type = Varchar(length=80)
    outcome = Varchar(length=40, default="applied")
    received_at = Timestamptz(default=TimestamptzNow())
