"""A client pays an invoice through hosted Checkout on the fake Stripe; the webhook marks it paid once."""

from __future__ import annotations

import pytest

from portal.billing.tables import Invoice, Payment, StripeEvent
from portal.mail.tables import OutboxMessage
from tests.factories import make_invoice
from tests.fixtures import post_form, sign_in_client
from tests.stripe_support import SECRET, connect, deliver, fake, with_fake

__all__ = ["fake"]


@pytest.fixture
def settings(settings, fake):
    return with_fake(settings, fake)


async def test_pay_on_hosted_checkout_then_the_webhook_marks_it_paid_once(http, settings, world, fake):
    await connect(settings)
    invoice = await make_invoice(world.workspace, world.project_a, "INV-9", "sent")
    await sign_in_client(http, world.workspace, world.alice)
    pay_url = f"/p/acme/projects/{world.project_a}/billing/{invoice}/pay"

    first = await post_form(http, pay_url, {"mode": "hosted"})
    again = await post_form(http, pay_url, {"mode": "hosted"})
    assert first.status_code == 303 and first.headers["location"].startswith(fake.url + "/pay/cs_")
    assert again.headers["location"] == first.headers["location"]  # a double click: one session
    assert len(fake.sessions) == 1 and await Payment.count() == 1
    session_id = first.headers["location"].rsplit("/", 1)[1]
    assert fake.sessions[session_id]["amount_total"] == 100000

    # Back from Stripe before paying: nothing is marked paid by the return page.
    back = await http.get(f"/p/acme/projects/{world.project_a}/billing/{invoice}/paid?session_id={session_id}")
    assert back.status_code == 200 and 'data-state="open"' in back.text
    forged = await http.get(f"/p/acme/projects/{world.project_a}/billing/{invoice}/paid?session_id=cs_test_forged")
    assert 'data-state="unknown"' in forged.text

    fake.complete(session_id)
    event_id = fake.events[-1]["id"]
    assert (await deliver(http, fake, event_id)).json()["result"] == "paid"
    assert (await deliver(http, fake, event_id)).json()["result"] == "duplicate"

    stored = await Invoice.select(Invoice.status).where(Invoice.id == invoice).first()
    assert stored["status"] == "paid"
    payment = await Payment.select().where(Payment.checkout_session_id == session_id).first()
    assert payment["status"] == "succeeded" and payment["fee_cents"] == round(100000 * 0.029) + 30
    assert await StripeEvent.count() == 1
    receipts = await OutboxMessage.select(OutboxMessage.to_address).where(OutboxMessage.kind == "payment_receipt")
    assert [r["to_address"] for r in receipts] == ["alice@northwind.example"]
    assert await OutboxMessage.count().where(OutboxMessage.kind == "payment_received") >= 1
    bodies = await OutboxMessage.select(OutboxMessage.text_body, OutboxMessage.html_body)
    assert all(SECRET not in b["text_body"] + b["html_body"] for b in bodies)

    # Paid now: no second session can be opened.
    assert (await post_form(http, pay_url, {"mode": "hosted"})).status_code == 409
