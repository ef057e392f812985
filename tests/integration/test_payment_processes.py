"""The same Stripe event, delivered at once to two server processes, pays the invoice once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx
import pytest

from portal import clock
from portal.billing.tables import Invoice, Payment, StripeAccount, StripeEvent
from portal.mail.tables import OutboxMessage
from tests.factories import make_invoice
from tests.fixtures import post_form, sign_in_client
from tests.servers import start_server
from tests.stripe_support import SECRET, connect, events_of, fake, with_fake

__all__ = ["fake"]
DELIVERIES = 10


@pytest.fixture
def settings(settings, fake):
    return with_fake(settings, fake)


async def test_one_event_sent_to_two_processes_ten_times_pays_once(http, db, settings, world, fake):
    await connect(settings)
    invoice = await make_invoice(world.workspace, world.project_a, "INV-30", "sent")
    await sign_in_client(http, world.workspace, world.alice)
    opened = await post_form(http, f"/p/acme/projects/{world.project_a}/billing/{invoice}/pay", {"mode": "hosted"})
    fake.complete(opened.headers["location"].rsplit("/", 1)[1])
    [event_id] = events_of(fake, "checkout.session.completed")
    body, signature = fake.signed(event_id)
    # Reconciled today: the servers' daily job leaves the payment to the webhook.
    await StripeAccount.update({StripeAccount.reconciled_at: clock.now()}).where(StripeAccount.id > 0)
    await db.close_pool()  # hand the database to the servers

    env = {"PORTAL_STRIPE_API_BASE": fake.url}
    with start_server("pay-1", env) as first, start_server("pay-2", env) as second:
        async with httpx.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(*(
                client.post(f"{(first, second)[n % 2].url}/webhooks/stripe/acme", content=body,
                            headers={"content-type": "application/json", "stripe-signature": signature})
                for n in range(DELIVERIES)
            ))

    assert [a.status_code for a in answers] == [200] * DELIVERIES, [a.text for a in answers]
    assert sorted(a.json()["result"] for a in answers) == ["duplicate"] * (DELIVERIES - 1) + ["paid"]
    assert (await Invoice.select(Invoice.status).where(Invoice.id == invoice).first())["status"] == "paid"
    assert await Payment.count() == 1 and await StripeEvent.count() == 1
    assert await OutboxMessage.count().where(OutboxMessage.kind == "payment_receipt") == 1


async def test_portal_stripe_reconcile_applies_what_the_webhooks_missed_once(http, db, settings, world, fake):
    await connect(settings)
    invoice = await make_invoice(world.workspace, world.project_a, "INV-31", "sent")
    await sign_in_client(http, world.workspace, world.alice)
    opened = await post_form(http, f"/p/acme/projects/{world.project_a}/billing/{invoice}/pay", {"mode": "hosted"})
    fake.complete(opened.headers["location"].rsplit("/", 1)[1])  # no webhook arrives
    await db.close_pool()

    env = {**os.environ, "PORTAL_STRIPE_API_BASE": fake.url}
    runs = [subprocess.run([sys.executable, "-m", "portal.cli", "stripe-reconcile", "--workspace", "acme"], env=env,
                           capture_output=True, text=True, timeout=60) for _ in range(2)]

    assert [run.returncode for run in runs] == [0, 0], [run.stderr for run in runs]
    assert [run.stdout for run in runs] == ["acme: 1 paid\n", "acme: 1 unchanged\n"]
    assert SECRET not in runs[0].stdout + runs[0].stderr
    assert (await Invoice.select(Invoice.status).where(Invoice.id == invoice).first())["status"] == "paid"
    assert await OutboxMessage.count().where(OutboxMessage.kind == "payment_receipt") == 1
