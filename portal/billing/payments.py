"""Online payment of invoices with Stripe Checkout, in the workspace's own Stripe account.

Stripe's rules hold: the page a client returns to never marks an invoice paid; only
Stripe's word does, read back from Stripe itself. A webhook event (or the
reconciliation, which walks the completed Checkout Sessions the webhooks may have
missed) names a session; ``apply_session`` fetches that session from Stripe, checks it
against the invoice (workspace, amount, currency) and applies its state in one
transaction: the payment row, the invoice Paid, the receipt and the note to the team
through the outbox, and the audit. Every event is applied once (``StripeEvent``'s
unique event id); applying the same session twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from piccolo.columns.combination import Or

from portal import clock
from portal.accounts.sessions import Principal, ensure_manager
from portal.accounts.tables import StaffMember
from portal.audit.services import record
from portal.billing import queries, stripe_api
from portal.billing.services import invoice_page
from portal.billing.stripe_api import StripeFailure
from portal.billing.stripe_keys import KeysInput, KeysUnreadable, clean, decrypt, encrypt, mask
from portal.billing.tables import Invoice, InvoiceLine, Payment, StripeAccount, StripeEvent
from portal.db import engine, for_update
from portal.errors import Conflict, Invalid, NotFound, Unavailable
from portal.formats import money
from portal.mail.outbox import PortalDisabled, enqueue_email
from portal.projects.tables import Project
from portal.settings import Settings
from portal.workspaces.tables import Workspace

log = logging.getLogger("portal.payments")

#: Checkout Sessions live 24 hours at Stripe; an open one younger than this is reused.
REUSE_SESSION = dt.timedelta(hours=23)
#: Stripe's ``ui_mode`` for our two ways to pay, in the API version the ``stripe`` library pins.
STRIPE_UI_MODES = {"embedded": "embedded_page", "hosted": "hosted_page"}
#: Events that name a Checkout Session, whose state is then read back from Stripe.
SESSION_EVENTS = frozenset({
    "checkout.session.completed", "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed", "checkout.session.expired",
})
REFUND_EVENTS = frozenset({"charge.refunded"})


# The workspace's Stripe account (Settings -> Payments, ``portal stripe set``).


@dataclass(frozen=True)
class PaymentSettings:
    """What Settings -> Payments shows: never a secret, only its last four characters."""

    connected: bool
    secret_masked: str
    publishable_key: str
    has_webhook_secret: bool
    checkout: str
    account_name: str
    livemode: bool
    unreadable: bool
    webhook_url: str


def webhook_url(settings: Settings, slug: str) -> str:
    return f"{settings.base_url}/webhooks/stripe/{slug}"


async def _account(workspace_id: int) -> dict | None:
    return await StripeAccount.select().where(StripeAccount.workspace == workspace_id).first()


def _is_complete(account: dict | None) -> bool:
    return bool(account and account["secret_key_encrypted"] and account["publishable_key"]
                and account["webhook_secret_encrypted"])


async def payment_settings(settings: Settings, staff: Principal) -> PaymentSettings:
    ensure_manager(staff, "change payment settings")
    account = await _account(staff.workspace_id) or {}
    slug = (await Workspace.select(Workspace.slug).where(Workspace.id == staff.workspace_id).first())["slug"]
    unreadable = False
    if account:
        try:
            decrypt(settings.secret_key, account["secret_key_encrypted"])
            decrypt(settings.secret_key, account["webhook_secret_encrypted"])
        except KeysUnreadable:
            unreadable = True
    return PaymentSettings(
        connected=_is_complete(account) and not unreadable,
        secret_masked=mask(account.get("secret_last4", ""), bool(account.get("livemode"))),
        publishable_key=account.get("publishable_key", ""),
        has_webhook_secret=bool(account.get("webhook_secret_encrypted")),
        checkout=account.get("checkout", "embedded"),
        account_name=account.get("account_name", ""),
        livemode=bool(account.get("livemode")),
        unreadable=unreadable,
        webhook_url=webhook_url(settings, slug),
    )


async def save_keys(settings: Settings, staff: Principal, keys: KeysInput, *, request: Any = None) -> None:
    """Store the keys (owners and admins); an empty secret field keeps the stored secret."""
    ensure_manager(staff, "change payment settings")
    await _store_keys(settings, staff.workspace_id, keys)
    await record("stripe_keys_saved", workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="workspace", target_id=staff.workspace_id)


async def set_keys(settings: Settings, slug: str, keys: KeysInput) -> None:
    """``portal stripe set``: the operator's way to the same keys."""
    row = await Workspace.select(Workspace.id).where(Workspace.slug == slug).first()
    if row is None:
        raise NotFound(f"No workspace {slug!r}.")
    await _store_keys(settings, row["id"], keys)
    await record("stripe_keys_saved", workspace_id=row["id"], actor_email="operator (portal stripe set)",
                 target_type="workspace", target_id=row["id"])


async def _store_keys(settings: Settings, workspace_id: int, keys: KeysInput) -> None:
    async with engine().write_transaction():
        account = await _account(workspace_id)
        readable = account is not None and _readable(settings, account)
        keys = clean(keys, has_secret=readable and bool(account["secret_key_encrypted"]),
                     has_webhook_secret=readable and bool(account["webhook_secret_encrypted"]))
        values = {
            StripeAccount.publishable_key: keys.publishable_key,
            StripeAccount.checkout: keys.checkout,
            StripeAccount.updated_at: clock.now(),
        }
        if keys.secret_key:
            values |= {
                StripeAccount.secret_key_encrypted: encrypt(settings.secret_key, keys.secret_key),
                StripeAccount.secret_last4: keys.secret_key[-4:],
                StripeAccount.livemode: "_live_" in keys.secret_key,
                StripeAccount.account_name: "",
            }
        if keys.webhook_secret:
            values[StripeAccount.webhook_secret_encrypted] = encrypt(settings.secret_key, keys.webhook_secret)
        if account is None:
            await StripeAccount.insert(StripeAccount(workspace=workspace_id))
        await StripeAccount.update(values).where(StripeAccount.workspace == workspace_id)


def _readable(settings: Settings, account: dict) -> bool:
    try:
        decrypt(settings.secret_key, account["secret_key_encrypted"])
        decrypt(settings.secret_key, account["webhook_secret_encrypted"])
    except KeysUnreadable:
        return False
    return True


async def remove_keys(staff: Principal, *, request: Any = None) -> None:
    ensure_manager(staff, "change payment settings")
    await StripeAccount.delete().where(StripeAccount.workspace == staff.workspace_id)
    await record("stripe_keys_removed", workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="workspace", target_id=staff.workspace_id)


async def check_connection(settings: Settings, staff: Principal) -> str:
    """Ask Stripe who the stored secret key belongs to; the account's name, or ``Invalid`` with Stripe's words."""
    ensure_manager(staff, "change payment settings")
    secret = await _secret_key(settings, staff.workspace_id)
    try:
        name, live = await stripe_api.account_name(settings, secret)
    except StripeFailure as exc:
        raise Invalid({"": f"Stripe said: {exc.message}"}) from None
    await StripeAccount.update({StripeAccount.account_name: name[:255], StripeAccount.livemode: live}).where(
        StripeAccount.workspace == staff.workspace_id
    )
    return name


async def _secret_key(settings: Settings, workspace_id: int) -> str:
    account = await _account(workspace_id)
    if not account or not account["secret_key_encrypted"]:
        raise Conflict("Stripe is not set up for this workspace yet.")
    try:
        return decrypt(settings.secret_key, account["secret_key_encrypted"])
    except KeysUnreadable:
        raise Conflict("The stored Stripe keys can no longer be read: enter them again in Settings -> Payments.") from None


async def online_payment(workspace_id: int) -> bool:
    """Whether clients of the workspace can pay online (reads no key, only whether one is set)."""
    return (await queries.pay_facts(workspace_id, 0))["online"]


@dataclass(frozen=True)
class PayState:
    """What an invoice page needs to know of online payment (no key, no Stripe id)."""

    online: bool
    processing: bool
    refunded_cents: int
    #: How to pay otherwise (Settings -> Billing), read only when online payment is off.
    instructions: str = ""


async def pay_state(workspace_id: int, invoice_id: int) -> PayState:
    facts = await queries.pay_facts(workspace_id, invoice_id)
    return PayState(
        online=facts["online"],
        processing=facts["processing"],
        refunded_cents=facts["refunded_cents"],
        instructions="" if facts["online"] else facts["instructions"] or "",
    )


# Paying: a Checkout Session for the invoice, embedded in the page or on Stripe's.


@dataclass(frozen=True)
class Checkout:
    """Where the client pays: ``url`` for hosted Checkout, or the embedded page's secret and key."""

    session_id: str
    ui_mode: str
    url: str | None = None
    client_secret: str | None = None
    publishable_key: str = ""


async def start_checkout(settings: Settings, client: Principal, project_id: int, invoice_id: int, *,
                         want_embedded: bool, invoice_url: str, return_url: str, request: Any = None) -> Checkout:
    """A Checkout Session for a Sent or Overdue invoice: the open one if there is one, else a new one.

    ``Conflict`` when the invoice is paid, refunded or a draft, or when the workspace has
    no Stripe account; ``Unavailable`` when Stripe fails. A double click makes one
    session: both requests send the same idempotency key.
    """
    found = await invoice_page(client, project_id, invoice_id, invoice_url)
    summary = found.invoice.summary
    if not summary.payable:
        raise Conflict(f"Invoice {summary.number} is {summary.status_label.lower()}: there is nothing to pay.")
    account = await _account(client.workspace_id)
    if not _is_complete(account):
        raise Conflict("Online payment is not set up for this workspace.")
    secret = await _secret_key(settings, client.workspace_id)
    ui_mode = "embedded" if want_embedded and account["checkout"] == "embedded" else "hosted"

    reused = await _open_session(settings, secret, invoice_id, ui_mode)
    if reused is not None:
        return _checkout(reused, account)
    attempts = await Payment.count().where((Payment.invoice == invoice_id) & Payment.status.is_in(["expired", "failed"]))
    lines = await InvoiceLine.select(InvoiceLine.description, InvoiceLine.amount_cents, InvoiceLine.tax_cents).where(
        InvoiceLine.invoice == invoice_id).order_by(InvoiceLine.position).order_by(InvoiceLine.id)
    params = _session_params(client, summary, lines, ui_mode, invoice_url=invoice_url, return_url=return_url)
    key = f"invoice-{client.workspace_id}-{invoice_id}-{summary.total_cents}-{ui_mode}-{attempts}"
    try:
        session = await stripe_api.create_session(settings, secret, params, key)
    except StripeFailure as exc:
        log.warning("Checkout Session for invoice %s refused: %s", invoice_id, exc.message)
        raise Unavailable() from None
    await _remember_session(client, invoice_id, session, ui_mode)
    await record("checkout_started", workspace_id=client.workspace_id, actor=client, request=request,
                 target_type="invoice", target_id=invoice_id, project_id=project_id, number=summary.number,
                 ui_mode=ui_mode)
    return _checkout(session, account)


def _session_params(client: Principal, summary, lines: list[dict], ui_mode: str, *, invoice_url: str,
                    return_url: str) -> dict:
    currency = summary.currency.lower()
    items = [{"price_data": {"currency": currency, "unit_amount": line["amount_cents"] + line["tax_cents"],
                             "product_data": {"name": line["description"][:250] or summary.number}},
              "quantity": 1} for line in lines]
    if not items or sum(item["price_data"]["unit_amount"] for item in items) != summary.total_cents or any(
            item["price_data"]["unit_amount"] < 0 for item in items):
        items = [{"price_data": {"currency": currency, "unit_amount": summary.total_cents,
                                 "product_data": {"name": f"Invoice {summary.number}"}}, "quantity": 1}]
    params: dict[str, Any] = {
        "mode": "payment",
        "ui_mode": STRIPE_UI_MODES[ui_mode],
        "line_items": items,
        "customer_email": client.email,
        "client_reference_id": str(summary.id),
        "metadata": {"invoice_id": str(summary.id), "workspace_id": str(client.workspace_id),
                     "invoice_number": summary.number},
        "payment_intent_data": {"metadata": {"invoice_id": str(summary.id), "workspace_id": str(client.workspace_id)}},
    }
    landing = f"{return_url}?session_id={{CHECKOUT_SESSION_ID}}"
    if ui_mode == "embedded":
        params["return_url"] = landing
    else:
        params["success_url"] = landing
        params["cancel_url"] = invoice_url
    return params


async def _open_session(settings: Settings, secret: str, invoice_id: int, ui_mode: str) -> dict | None:
    row = await Payment.select(Payment.id, Payment.checkout_session_id).where(
        (Payment.invoice == invoice_id) & (Payment.status == "pending") & (Payment.ui_mode == ui_mode)
        & (Payment.created_at > clock.now() - REUSE_SESSION)
    ).order_by(Payment.id, ascending=False).first()
    if row is None:
        return None
    try:
        session = await stripe_api.retrieve_session(settings, secret, row["checkout_session_id"])
    except StripeFailure:
        return None
    if session.get("status") == "open":
        return session
    if session.get("status") == "expired":
        await Payment.update({Payment.status: "expired"}).where((Payment.id == row["id"]) & (Payment.status == "pending"))
    return None


async def _remember_session(client: Principal, invoice_id: int, session: dict, ui_mode: str) -> None:
    """One payment row per session: a double click's second request, at the same moment, does
    nothing on the unique session id (it waits for the first one's row on PostgreSQL)."""
    await Payment.insert(Payment(
        workspace=client.workspace_id, invoice=invoice_id, amount_cents=session.get("amount_total") or 0,
        currency=(session.get("currency") or "").lower(), checkout_session_id=session["id"], status="pending",
        ui_mode=ui_mode, client_user_id=client.user_id,
    )).on_conflict(target=Payment.checkout_session_id, action="DO NOTHING")


def _ui_mode(session: dict) -> str:
    """Our name ("embedded" or "hosted") for a session's Stripe ``ui_mode``."""
    return "embedded" if session.get("ui_mode") == STRIPE_UI_MODES["embedded"] else "hosted"


def _checkout(session: dict, account: dict) -> Checkout:
    return Checkout(session_id=session["id"], ui_mode=_ui_mode(session), url=session.get("url"),
                    client_secret=session.get("client_secret"), publishable_key=account["publishable_key"])


async def return_state(settings: Settings, client: Principal, project_id: int, invoice_id: int, session_id: str,
                       invoice_url: str) -> str:
    """What the page a client returns to says: "paid", "processing", "open" or "unknown".

    Only asks Stripe; never marks anything paid. A session id that is not one of this
    invoice's is "unknown" (a forged or mistyped return address).
    """
    await invoice_page(client, project_id, invoice_id, invoice_url)
    known = await Payment.exists().where(
        (Payment.checkout_session_id == session_id) & (Payment.invoice == invoice_id)
        & (Payment.workspace == client.workspace_id)
    )
    if not known:
        return "unknown"
    try:
        session = await stripe_api.retrieve_session(settings, await _secret_key(settings, client.workspace_id),
                                                    session_id)
    except (StripeFailure, Conflict):
        return "processing"
    if session.get("payment_status") in ("paid", "no_payment_required"):
        return "paid"
    if session.get("status") == "complete":
        return "processing"
    return "open" if session.get("status") == "open" else "unknown"


# Stripe's word: webhooks and the reconciliation.


@dataclass(frozen=True)
class Outcome:
    """What one event (or one reconciled session) did: ``status`` is the HTTP answer to Stripe."""

    status: int
    result: str


async def handle_webhook(settings: Settings, slug: str, payload: bytes, signature: str | None) -> Outcome:
    """Verify, de-duplicate and apply one webhook event.

    400 for a bad or stale signature (nothing changes); 200 for an event applied, a
    duplicate, one refused (audited) or one of a type not handled; an exception on our
    side propagates (500, and Stripe retries).
    """
    workspace = await Workspace.select(Workspace.id).where(Workspace.slug == slug).first()
    account = await _account(workspace["id"]) if workspace else None
    if account is None or not account["webhook_secret_encrypted"]:
        return Outcome(400, "no Stripe account for this address")
    try:
        secret = decrypt(settings.secret_key, account["webhook_secret_encrypted"])
    except KeysUnreadable:
        return Outcome(400, "the webhook secret cannot be read")
    try:
        event = stripe_api.verify_event(payload, signature, secret)
    except ValueError:
        return Outcome(400, "bad signature")
    workspace_id = workspace["id"]
    if await StripeEvent.exists().where(StripeEvent.event_id == event["id"]):
        return Outcome(200, "duplicate")
    kind = event.get("type", "")
    obj = (event.get("data") or {}).get("object") or {}
    api_key = decrypt(settings.secret_key, account["secret_key_encrypted"])
    if kind in SESSION_EVENTS:
        session = await stripe_api.retrieve_session(settings, api_key, obj["id"])
        result = await apply_session(settings, workspace_id, session, event_id=event["id"], event_type=kind)
    elif kind in REFUND_EVENTS:
        charge = await stripe_api.retrieve_charge(settings, api_key, obj["id"])
        result = await apply_refund(workspace_id, charge, event_id=event["id"], event_type=kind)
    else:
        result = await _note_event(workspace_id, event["id"], kind, "ignored")
    return Outcome(200, result)


async def _note_event(workspace_id: int, event_id: str, kind: str, outcome: str) -> str:
    """Record an event not applied (so a redelivery is a no-op too); "duplicate" if it was seen."""
    async with engine().write_transaction():
        if not await _claim_event(workspace_id, event_id, kind, outcome):
            return "duplicate"
    return outcome


async def _claim_event(workspace_id: int, event_id: str, kind: str, outcome: str = "applying") -> bool:
    """Record the event as seen, inside the caller's transaction; False if it already was.

    An insert that does nothing on conflict: a second delivery running at the same moment
    waits on the first one's row (PostgreSQL) or its write lock (SQLite), then finds it.
    """
    claimed = await StripeEvent.insert(
        StripeEvent(workspace=workspace_id, event_id=event_id, event_type=kind, outcome=outcome)
    ).on_conflict(target=StripeEvent.event_id, action="DO NOTHING").returning(StripeEvent.id)
    return bool(claimed)


async def _settle_event(event_id: str, outcome: str) -> None:
    await StripeEvent.update({StripeEvent.outcome: outcome}).where(StripeEvent.event_id == event_id)


def _session_invoice_id(session: dict) -> int | None:
    raw = (session.get("metadata") or {}).get("invoice_id", "")
    return int(raw) if str(raw).isdigit() else None


def _refusal(session: dict, invoice: dict | None, workspace_id: int) -> str:
    """Why a session cannot pay this workspace's invoice ("" when it can)."""
    if (session.get("metadata") or {}).get("workspace_id") != str(workspace_id):
        return "the session belongs to another workspace"
    if invoice is None:
        return "no such invoice in this workspace"
    if session.get("amount_total") != invoice["total_cents"]:
        return f"amount {session.get('amount_total')} differs from the invoice's {invoice['total_cents']}"
    if (session.get("currency") or "").lower() != invoice["currency"].lower():
        return f"currency {session.get('currency')} differs from the invoice's {invoice['currency']}"
    return ""


async def apply_session(settings: Settings, workspace_id: int, session: dict, *, event_id: str | None = None,
                        event_type: str = "reconcile") -> str:
    """Apply a Checkout Session's state, as Stripe gave it, to its invoice; once per event.

    Returns what happened: "paid", "processing", "failed", "expired", "unchanged",
    "refused" or "duplicate".
    """
    invoice_id = _session_invoice_id(session)
    async with engine().write_transaction():
        if event_id is not None and not await _claim_event(workspace_id, event_id, event_type):
            return "duplicate"
        invoice = None
        if invoice_id is not None:
            invoice = await for_update(Invoice.select(
                Invoice.id, Invoice.number, Invoice.status, Invoice.total_cents, Invoice.currency, Invoice.project,
            ).where((Invoice.id == invoice_id) & (Invoice.workspace == workspace_id))).first()
            if invoice is not None:  # read apart: PostgreSQL locks no row of an outer join
                project = await Project.select(Project.name).where(Project.id == invoice["project"]).first()
                invoice["project_name"] = project["name"] if project else ""
        refusal = _refusal(session, invoice, workspace_id)
        if refusal:
            result = "refused"
            await record("payment_refused", workspace_id=workspace_id, actor_email="Stripe",
                         target_type="invoice", target_id=invoice["id"] if invoice else None,
                         session=session.get("id"), reason=refusal, event=event_type)
        else:
            result = await _apply(settings, workspace_id, invoice, session, event_type)
        if event_id is not None:
            await _settle_event(event_id, result)
    if refusal:
        log.warning("Stripe session %s refused for workspace %s: %s", session.get("id"), workspace_id, refusal)
    return result


def _charge_facts(session: dict) -> dict:
    intent = session.get("payment_intent")
    if not isinstance(intent, dict):
        return {"payment_intent_id": intent, "charge_id": None, "fee_cents": None}
    charge = intent.get("latest_charge")
    fee = None
    if isinstance(charge, dict) and isinstance(charge.get("balance_transaction"), dict):
        fee = charge["balance_transaction"].get("fee")
    return {"payment_intent_id": intent.get("id"),
            "charge_id": charge.get("id") if isinstance(charge, dict) else charge, "fee_cents": fee}


async def _apply(settings: Settings, workspace_id: int, invoice: dict, session: dict, event_type: str) -> str:
    payment = await for_update(Payment.select().where(Payment.checkout_session_id == session["id"])).first()
    if payment is None:  # a session the portal did not record (reconciliation of an older one)
        await Payment.insert(Payment(workspace=workspace_id, invoice=invoice["id"],
                                     amount_cents=session.get("amount_total") or 0,
                                     currency=(session.get("currency") or "").lower(),
                                     checkout_session_id=session["id"], status="pending",
                                     ui_mode=_ui_mode(session)))
        payment = await Payment.select().where(Payment.checkout_session_id == session["id"]).first()
    if payment["status"] == "succeeded":
        return "unchanged"
    paid = session.get("payment_status") in ("paid", "no_payment_required")
    if paid:
        now = clock.now()
        await Payment.update({Payment.status: "succeeded", Payment.completed_at: now,
                              Payment.amount_cents: session.get("amount_total") or 0,
                              **_columns(_charge_facts(session))}).where(Payment.id == payment["id"])
        if invoice["status"] in ("sent", "draft", "void"):
            await Invoice.update({Invoice.status: "paid", Invoice.paid_at: now}).where(Invoice.id == invoice["id"])
            await record("payment_succeeded", workspace_id=workspace_id, actor_email=session.get("customer_email") or "",
                         target_type="invoice", target_id=invoice["id"], project_id=invoice["project"],
                         number=invoice["number"], amount=money(invoice["total_cents"], invoice["currency"]),
                         session=session["id"], via=event_type)
            await _email_paid(settings, workspace_id, invoice, payment, session)
            return "paid"
        await record("payment_succeeded", workspace_id=workspace_id, actor_email=session.get("customer_email") or "",
                     target_type="invoice", target_id=invoice["id"], project_id=invoice["project"],
                     number=invoice["number"], session=session["id"], via=event_type,
                     note=f"invoice was already {invoice['status']}")
        return "paid"
    if event_type == "checkout.session.async_payment_failed":
        await Payment.update({Payment.status: "failed"}).where(Payment.id == payment["id"])
        return "failed"
    if session.get("status") == "complete":
        await Payment.update({Payment.status: "processing", **_columns(_charge_facts(session))}).where(
            Payment.id == payment["id"])
        return "processing"
    if session.get("status") == "expired" and payment["status"] == "pending":
        await Payment.update({Payment.status: "expired"}).where(Payment.id == payment["id"])
        return "expired"
    return "unchanged"


def _columns(facts: dict) -> dict:
    return {Payment.payment_intent_id: facts["payment_intent_id"], Payment.charge_id: facts["charge_id"],
            Payment.fee_cents: facts["fee_cents"]}


async def apply_refund(workspace_id: int, charge: dict, *, event_id: str, event_type: str) -> str:
    """A refund made in Stripe: the payment's refunded amount, the invoice Refunded when all of it was.

    A refund of a payment not applied yet raises (500: Stripe sends the event again later).
    """
    intent = charge.get("payment_intent")
    intent_id = intent.get("id") if isinstance(intent, dict) else intent
    async with engine().write_transaction():
        if not await _claim_event(workspace_id, event_id, event_type):
            return "duplicate"
        payment = await for_update(Payment.select().where(
            (Payment.workspace == workspace_id)
            & Or(Payment.charge_id == (charge.get("id") or ""), Payment.payment_intent_id == (intent_id or ""))
        )).first()
        if payment is None:
            raise LookupError(f"refund of charge {charge.get('id')}: its payment is not known yet")
        refunded = max(int(charge.get("amount_refunded") or 0), payment["refunded_cents"])
        result = "unchanged"
        if refunded != payment["refunded_cents"]:
            await Payment.update({Payment.refunded_cents: refunded}).where(Payment.id == payment["id"])
            full = refunded >= payment["amount_cents"]
            if full:
                await Invoice.update({Invoice.status: "refunded"}).where(
                    (Invoice.id == payment["invoice"]) & (Invoice.status == "paid"))
            await record("payment_refunded", workspace_id=workspace_id, actor_email="Stripe", target_type="invoice",
                         target_id=payment["invoice"], amount=money(refunded, payment["currency"]), full=full)
            result = "refunded" if full else "partly refunded"
        await _settle_event(event_id, result)
    return result


async def _email_paid(settings: Settings, workspace_id: int, invoice: dict, payment: dict, session: dict) -> None:
    context = {
        "number": invoice["number"], "project_name": invoice["project_name"],
        "amount": money(invoice["total_cents"], invoice["currency"]), "paid_on": f"{clock.today():%-d %b %Y}",
        "path": f"/projects/{invoice['project']}/billing/{invoice['id']}",
    }
    payer = session.get("customer_email") or (session.get("customer_details") or {}).get("email")
    if payer:
        try:
            await enqueue_email(settings, workspace_id=workspace_id, to=payer, template="payment_receipt",
                                context=context, to_client=True)
        except PortalDisabled:
            pass
    studio = {**context, "path": f"/studio/invoices/{invoice['id']}", "payer": payer or "a client",
              "studio_url": settings.base_url}
    for address in await _team_to_tell(workspace_id, invoice["project"]):
        await enqueue_email(settings, workspace_id=workspace_id, to=address, template="payment_received",
                            context=studio)


async def _team_to_tell(workspace_id: int, project_id: int) -> list[str]:
    """The project's lead if active, else the workspace's active owners and admins."""
    project = await Project.select(Project.lead.email.as_alias("email"), Project.lead.active.as_alias("active")).where(
        (Project.id == project_id) & (Project.workspace == workspace_id)).first()
    if project and project["email"] and project["active"]:
        return [project["email"]]
    rows = await StaffMember.select(StaffMember.email).where(
        (StaffMember.workspace == workspace_id) & StaffMember.active.eq(True) & StaffMember.role.is_in(["owner", "admin"])
    )
    return sorted(row["email"] for row in rows)


async def reconcile(settings: Settings, workspace_id: int, since_days: int = 3) -> dict[str, int]:
    """Apply every completed Checkout Session of the last ``since_days`` the webhooks missed (same path)."""
    secret = await _secret_key(settings, workspace_id)
    since = int((clock.now() - dt.timedelta(days=since_days)).timestamp())
    counts: dict[str, int] = {}
    for listed in await stripe_api.completed_sessions(settings, secret, since):
        if (listed.get("metadata") or {}).get("workspace_id") != str(workspace_id):
            continue  # a session of the same Stripe account not made by this workspace's portal
        session = await stripe_api.retrieve_session(settings, secret, listed["id"])
        result = await apply_session(settings, workspace_id, session, event_type="reconcile")
        counts[result] = counts.get(result, 0) + 1
    await StripeAccount.update({StripeAccount.reconciled_at: clock.now()}).where(
        StripeAccount.workspace == workspace_id)
    return counts


async def reconcile_due(settings: Settings) -> None:
    """The daily reconciliation, from the background loop: each workspace claimed by one process."""
    cutoff = clock.now() - dt.timedelta(days=1)
    accounts = await StripeAccount.select(StripeAccount.workspace, StripeAccount.reconciled_at).where(
        (StripeAccount.secret_key_encrypted != "")
        & Or(StripeAccount.reconciled_at.is_null(), StripeAccount.reconciled_at < cutoff)
    )
    for account in accounts:
        claim = StripeAccount.update({StripeAccount.reconciled_at: clock.now()}).where(
            StripeAccount.workspace == account["workspace"])
        claim = claim.where(StripeAccount.reconciled_at.is_null() if account["reconciled_at"] is None
                            else StripeAccount.reconciled_at == account["reconciled_at"]).returning(StripeAccount.id)
        if not await claim:
            continue  # another process took it
        try:
            await reconcile(settings, account["workspace"])
        except (StripeFailure, Conflict) as exc:
            log.warning("reconciliation of workspace %s failed: %s", account["workspace"], exc)


async def reconcilable_workspaces(slug: str | None = None) -> list[tuple[int, str]]:
    """(id, slug) of the workspaces with a Stripe secret key (``portal stripe-reconcile``)."""
    query = StripeAccount.select(StripeAccount.workspace, StripeAccount.workspace.slug.as_alias("slug")).where(
        StripeAccount.secret_key_encrypted != "")
    if slug:
        if not await Workspace.exists().where(Workspace.slug == slug):
            raise NotFound(f"No workspace {slug!r}.")
        query = query.where(StripeAccount.workspace.slug == slug)
    return [(row["workspace"], row["slug"]) for row in await query.order_by(StripeAccount.workspace)]
