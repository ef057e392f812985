"""Stripe's events, as Stripe sends them: at once, twice, late, out of order, forged, for the wrong invoice.

Each test pays through the fake Stripe with the real ``stripe`` library and posts the
recorded events, signed, to the in-process app.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import stripe

from portal.accounts.tables import ClientOrganisation
from portal.audit.tables import AuditEvent
from portal.billing import payments
from portal.billing.tables import Invoice, Payment, StripeEvent
from portal.mail.tables import OutboxMessage
from tests.factories import insert, make_invoice, make_project, make_workspace
from tests.fakes.stripe_server import sign
from tests.fixtures import post_form, sign_in_client
from tests.stripe_support import SECRET, WEBHOOK, connect, deliver, events_of, fake, with_fake

__all__ = ["fake"]


@pytest.fixture
def settings(settings, fake):
    return with_fake(settings, fake)


async def _open_session(http, world, invoice: int) -> str:
    """Alice presses Pay (no JavaScript): the Checkout Session's id."""
    await sign_in_client(http, world.workspace, world.alice)
    response = await post_form(http, f"/p/acme/projects/{world.project_a}/billing/{invoice}/pay", {"mode": "hosted"})
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[1]


async def _invoice_in_checkout(http, settings, world, number: str, due_in_days: int = 14) -> tuple[int, str]:
    """Stripe set up, a sent invoice, and alice at its Checkout: (invoice id, session id)."""
    await connect(settings)
    invoice = await make_invoice(world.workspace, world.project_a, number, "sent", due_in_days=due_in_days)
    return invoice, await _open_session(http, world, invoice)


async def _invoice_status(invoice: int) -> str:
    return (await Invoice.select(Invoice.status).where(Invoice.id == invoice).first())["status"]


async def _receipts() -> int:
    return await OutboxMessage.count().where(OutboxMessage.kind == "payment_receipt")


async def _audited(action: str) -> list[dict]:
    rows = await AuditEvent.select(AuditEvent.detail, AuditEvent.target_id).where(AuditEvent.action == action)
    return [{**json.loads(row["detail"] or "{}"), "target_id": row["target_id"]} for row in rows]


async def test_the_same_event_ten_times_at_once_pays_once(http, settings, world, fake):
    invoice, session_id = await _invoice_in_checkout(http, settings, world, "INV-10")
    fake.complete(session_id)
    [event_id] = events_of(fake, "checkout.session.completed")

    answers = await asyncio.gather(*(deliver(http, fake, event_id) for _ in range(10)))

    assert [a.status_code for a in answers] == [200] * 10
    assert sorted(a.json()["result"] for a in answers) == ["duplicate"] * 9 + ["paid"]
    assert await _invoice_status(invoice) == "paid"
    assert await Payment.count() == 1 and await StripeEvent.count() == 1
    assert await _receipts() == 1
    assert len(await _audited("payment_succeeded")) == 1


async def test_a_refund_seen_before_its_payment_waits_for_it_then_applies(http, settings, world, fake):
    invoice, session_id = await _invoice_in_checkout(http, settings, world, "INV-11")
    fake.complete(session_id)
    fake.refund(session_id, amount=40000)
    [completed] = events_of(fake, "checkout.session.completed")
    [refunded] = events_of(fake, "charge.refunded")

    # The refund arrives first: its payment is not known yet, so Stripe is told to retry.
    early = await deliver(http, fake, refunded)
    assert early.status_code == 500
    assert await StripeEvent.count() == 0 and await _invoice_status(invoice) == "sent"

    assert (await deliver(http, fake, completed)).json()["result"] == "paid"
    assert (await deliver(http, fake, refunded)).json()["result"] == "partly refunded"  # Stripe's retry
    assert await _invoice_status(invoice) == "paid"
    page = await http.get(f"/p/acme/projects/{world.project_a}/billing/{invoice}")
    assert "$400.00 of it was refunded to you" in page.text

    fake.refund(session_id)  # the rest
    rest = events_of(fake, "charge.refunded")[-1]
    assert (await deliver(http, fake, rest)).json()["result"] == "refunded"
    assert (await deliver(http, fake, rest)).json()["result"] == "duplicate"
    assert await _invoice_status(invoice) == "refunded"
    page = await http.get(f"/p/acme/projects/{world.project_a}/billing/{invoice}")
    assert 'data-testid="refunded-note"' in page.text and "($1,000.00)" in page.text
    assert 'data-testid="pay-form"' not in page.text
    payment = await Payment.select(Payment.refunded_cents, Payment.status).first()
    assert payment == {"refunded_cents": 100000, "status": "succeeded"}
    assert [r["full"] for r in await _audited("payment_refunded")] == [False, True]


async def test_a_bank_debit_is_processing_until_it_clears_whatever_order_the_events_come_in(http, settings, world,
                                                                                             fake):
    invoice, session_id = await _invoice_in_checkout(http, settings, world, "INV-12")
    fake.complete(session_id, asynchronous=True)
    [completed] = events_of(fake, "checkout.session.completed")
    assert (await deliver(http, fake, completed)).json()["result"] == "processing"
    page = await http.get(f"/p/acme/projects/{world.project_a}/billing/{invoice}")
    assert 'data-testid="pay-processing"' in page.text and 'data-testid="pay-form"' not in page.text
    assert await _invoice_status(invoice) == "sent" and await _receipts() == 0

    fake.settle(session_id, succeeded=True)
    [cleared] = events_of(fake, "checkout.session.async_payment_succeeded")
    assert (await deliver(http, fake, cleared)).json()["result"] == "paid"
    assert await _invoice_status(invoice) == "paid" and await _receipts() == 1


async def test_a_late_completed_event_after_the_debit_cleared_changes_nothing(http, settings, world, fake):
    invoice, session_id = await _invoice_in_checkout(http, settings, world, "INV-13")
    fake.complete(session_id, asynchronous=True)
    fake.settle(session_id, succeeded=True)
    [completed] = events_of(fake, "checkout.session.completed")
    [cleared] = events_of(fake, "checkout.session.async_payment_succeeded")

    assert (await deliver(http, fake, cleared)).json()["result"] == "paid"  # newest first
    assert (await deliver(http, fake, completed)).json()["result"] == "unchanged"
    assert await _invoice_status(invoice) == "paid"
    assert await _receipts() == 1 and await StripeEvent.count() == 2


async def test_a_failed_debit_leaves_the_invoice_payable_with_a_fresh_session(http, settings, world, fake):
    invoice, session_id = await _invoice_in_checkout(http, settings, world, "INV-14", due_in_days=-3)
    fake.complete(session_id, asynchronous=True)
    fake.settle(session_id, succeeded=False)
    for event_id in events_of(fake, "checkout.session.completed") + events_of(
            fake, "checkout.session.async_payment_failed"):
        assert (await deliver(http, fake, event_id)).status_code == 200
    assert (await Payment.select(Payment.status).first())["status"] == "failed"
    assert await _invoice_status(invoice) == "sent" and await _receipts() == 0

    page = await http.get(f"/p/acme/projects/{world.project_a}/billing/{invoice}")
    assert 'data-testid="pay-form"' in page.text and "Overdue" in page.text
    again = await _open_session(http, world, invoice)
    assert again != session_id and len(fake.sessions) == 2


async def test_an_expired_session_is_replaced_on_the_next_pay(http, settings, world, fake):
    invoice, session_id = await _invoice_in_checkout(http, settings, world, "INV-15")
    fake.expire(session_id)
    [expired] = events_of(fake, "checkout.session.expired")
    assert (await deliver(http, fake, expired)).json()["result"] == "expired"
    assert await _invoice_status(invoice) == "sent"
    assert await _open_session(http, world, invoice) != session_id


async def _session_for(fake, invoice: int, workspace_id: int, amount: int, currency: str = "usd") -> str:
    """A Checkout Session made straight in the Stripe account (not by the portal), then paid."""
    client = stripe.StripeClient(SECRET, base_addresses={"api": fake.url}, http_client=stripe.HTTPXClient())
    session = await client.v1.checkout.sessions.create_async(params={  # type: ignore[arg-type]
        "mode": "payment", "ui_mode": "hosted_page", "success_url": "https://example.com/done",
        "line_items": [{"price_data": {"currency": currency, "unit_amount": amount,
                                       "product_data": {"name": "Tampered"}}, "quantity": 1}],
        "metadata": {"invoice_id": str(invoice), "workspace_id": str(workspace_id)},
    })
    fake.complete(session.id)
    return session.id


@pytest.mark.parametrize("case", ["other workspace's invoice", "other workspace", "amount", "currency"])
async def test_an_event_for_the_wrong_invoice_amount_or_currency_is_refused_and_audited(http, settings, world, fake,
                                                                                        case):
    await connect(settings)
    invoice = await make_invoice(world.workspace, world.project_a, "INV-16", "sent")
    other_workspace = await make_workspace("globex-agency", "Globex Agency")
    other_org = await insert(ClientOrganisation(workspace=other_workspace, name="Initech"))
    other_invoice = await make_invoice(other_workspace, await make_project(other_workspace, other_org, "Initech site"),
                                       "G-1", "sent")
    target, workspace_id, amount, currency = {
        "other workspace's invoice": (other_invoice, world.workspace, 100000, "usd"),
        "other workspace": (invoice, other_workspace, 100000, "usd"),
        "amount": (invoice, world.workspace, 100, "usd"),
        "currency": (invoice, world.workspace, 100000, "eur"),
    }[case]
    await _session_for(fake, target, workspace_id, amount, currency)
    [event_id] = events_of(fake, "checkout.session.completed")

    answer = await deliver(http, fake, event_id)

    assert answer.status_code == 200 and answer.json()["result"] == "refused"
    assert await _invoice_status(invoice) == "sent" and await _invoice_status(other_invoice) == "sent"
    assert await Payment.count().where(Payment.status == "succeeded") == 0 and await _receipts() == 0
    [refusal] = await _audited("payment_refused")
    expected = {"other workspace's invoice": "no such invoice in this workspace",
                "other workspace": "the session belongs to another workspace",
                "amount": "amount 100 differs from the invoice's 100000",
                "currency": "currency eur differs from the invoice's usd"}[case]
    assert refusal["reason"] == expected
    assert (await deliver(http, fake, event_id)).json()["result"] == "duplicate"  # refused once, not again


async def test_reconciliation_applies_a_missed_payment_exactly_once(http, settings, world, fake):
    invoice, session_id = await _invoice_in_checkout(http, settings, world, "INV-17")
    fake.complete(session_id)  # the webhook never arrives

    assert await payments.reconcile(settings, world.workspace) == {"paid": 1}
    assert await payments.reconcile(settings, world.workspace) == {"unchanged": 1}
    [late] = events_of(fake, "checkout.session.completed")
    assert (await deliver(http, fake, late)).json()["result"] == "unchanged"  # the webhook, days late

    assert await _invoice_status(invoice) == "paid"
    assert await Payment.count() == 1 and await _receipts() == 1
    assert [a["via"] for a in await _audited("payment_succeeded")] == ["reconcile"]


async def test_the_daily_reconciliation_runs_once_a_day(http, settings, world, fake):
    await connect(settings)
    invoice = await make_invoice(world.workspace, world.project_a, "INV-18", "sent")
    fake.complete(await _open_session(http, world, invoice))

    await payments.reconcile_due(settings)
    listed = [r for r in fake.requests if r[0] == "GET" and r[1] == "/v1/checkout/sessions"]
    await payments.reconcile_due(settings)  # the same day: nothing asked of Stripe again
    assert [r for r in fake.requests if r[0] == "GET" and r[1] == "/v1/checkout/sessions"] == listed
    assert len(listed) == 1 and await _invoice_status(invoice) == "paid" and await _receipts() == 1


async def test_a_failure_on_our_side_answers_500_and_the_retry_applies(http, settings, world, fake):
    invoice, session_id = await _invoice_in_checkout(http, settings, world, "INV-19")
    fake.complete(session_id)
    [event_id] = events_of(fake, "checkout.session.completed")
    fake.fail_next("GET", "/v1/checkout/sessions/", status=500)

    assert (await deliver(http, fake, event_id)).status_code == 500
    assert await StripeEvent.count() == 0 and await _invoice_status(invoice) == "sent"
    assert (await deliver(http, fake, event_id)).json()["result"] == "paid"


async def test_an_event_of_another_type_answers_200_once(http, settings, world):
    await connect(settings)
    body = json.dumps({"id": "evt_customer_1", "object": "event", "type": "customer.created",
                       "data": {"object": {"id": "cus_1", "object": "customer"}}}).encode()
    headers = {"content-type": "application/json", "stripe-signature": sign(body, WEBHOOK)}
    first = await http.post("/webhooks/stripe/acme", content=body, headers=headers)
    assert first.status_code == 200 and first.json() == {"received": True, "result": "ignored"}
    again = await http.post("/webhooks/stripe/acme", content=body, headers=headers)
    assert again.json()["result"] == "duplicate"
    assert await StripeEvent.count() == 1 and await Payment.count() == 0
