"""Stripe keys at rest and the webhook's signature check (no Stripe needed: both refuse before any call)."""

from __future__ import annotations

import json
import time

from portal.billing.tables import Invoice, StripeAccount, StripeEvent
from tests.factories import make_invoice
from tests.fakes.stripe_server import sign
from tests.fixtures import post_form, sign_in_staff
from tests.stripe_support import SECRET, WEBHOOK
from tests.stripe_support import connect as _keys


async def test_keys_are_stored_encrypted_and_shown_masked(http, settings, world):
    await _keys(settings)
    row = await StripeAccount.select().where(StripeAccount.workspace == world.workspace).first()
    assert SECRET not in json.dumps(row, default=str) and WEBHOOK not in json.dumps(row, default=str)
    await sign_in_staff(http, world.workspace, world.staff)
    page = await http.get("/studio/settings/payments")
    assert page.status_code == 200
    assert SECRET not in page.text and WEBHOOK not in page.text
    assert "sk_test_••••1234" in page.text and "/webhooks/stripe/acme" in page.text


async def test_bad_keys_are_refused_per_field_and_nothing_is_saved(http, settings, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, "/studio/settings/payments", {
        "secret_key": "sk_nope", "publishable_key": "pk_live_51Mixed000000000000", "webhook_secret": "", "checkout": "hosted"})
    assert response.status_code == 422
    assert "A secret key starts with sk_test_" in response.text and "whsec_" in response.text
    assert "sk_nope" not in response.text  # a typed secret is never sent back
    assert await StripeAccount.count() == 0


async def test_a_missing_wrong_or_stale_signature_is_400_and_changes_nothing(http, settings, world):
    await _keys(settings)
    invoice = await make_invoice(world.workspace, world.project_a, "INV-7", "sent")
    event = {"id": "evt_forged", "object": "event", "type": "checkout.session.completed",
             "data": {"object": {"id": "cs_test_x", "metadata": {"invoice_id": str(invoice)}}}}
    body = json.dumps(event).encode()
    headers = {"content-type": "application/json"}
    attempts = [
        headers,
        {**headers, "stripe-signature": sign(body, "whsec_SomeoneElsesSecret000")},
        {**headers, "stripe-signature": sign(body, WEBHOOK, timestamp=int(time.time()) - 301)},
        {**headers, "stripe-signature": sign(body + b" ", WEBHOOK)},
    ]
    for sent in attempts:
        response = await http.post("/webhooks/stripe/acme", content=body, headers=sent)
        assert response.status_code == 400, sent
        assert response.json()["received"] is False
    assert await StripeEvent.count() == 0
    assert (await Invoice.select(Invoice.status).where(Invoice.id == invoice).first())["status"] == "sent"


async def test_a_signed_event_of_an_unhandled_type_is_recorded_once(http, settings, world):
    await _keys(settings)
    body = json.dumps({"id": "evt_other", "object": "event", "type": "customer.created", "data": {"object": {}}}).encode()
    for expected in ("ignored", "duplicate"):
        response = await http.post("/webhooks/stripe/acme", content=body,
                                   headers={"content-type": "application/json", "stripe-signature": sign(body, WEBHOOK)})
        assert response.status_code == 200 and response.json()["result"] == expected
    assert await StripeEvent.count() == 1


async def test_no_workspace_or_no_keys_is_400(http, settings, world):
    body = b"{}"
    for slug in ("acme", "no-such-agency"):
        response = await http.post(f"/webhooks/stripe/{slug}", content=body, headers={"stripe-signature": sign(body, WEBHOOK)})
        assert response.status_code == 400
