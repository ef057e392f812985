"""A client pays an invoice through hosted Checkout on the fake Stripe; the webhook marks it paid once."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from portal.audit.tables import AuditEvent
from portal.billing import payments
from portal.billing.tables import Invoice, Payment, StripeEvent
from portal.mail.tables import OutboxMessage
from tests.factories import make_invoice
from tests.fixtures import post_form, sign_in_client, sign_in_staff
from tests.stripe_support import PUBLISHABLE, SECRET, WEBHOOK, connect, deliver, fake, with_fake

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
    bare = await http.get(f"/p/acme/projects/{world.project_a}/billing/{invoice}/paid")
    assert 'data-state="unknown"' in bare.text
    assert (await Invoice.select(Invoice.status).where(Invoice.id == invoice).first())["status"] == "sent"

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


def _directive(policy: str, name: str) -> str:
    return next((part.split(" ", 1)[1] for part in policy.split("; ") if part.startswith(name + " ")), "")


async def test_with_javascript_checkout_is_embedded_and_only_its_page_allows_stripe(http, settings, world, fake):
    await connect(settings, checkout="embedded")
    invoice = await make_invoice(world.workspace, world.project_a, "INV-21", "sent")
    await sign_in_client(http, world.workspace, world.alice)
    invoice_url = f"/p/acme/projects/{world.project_a}/billing/{invoice}"

    page = await http.get(invoice_url)
    for name in ("script-src", "frame-src", "connect-src"):
        assert "stripe.com" not in _directive(page.headers["content-security-policy"], name), name
    assert 'data-pay-form' in page.text

    embedded = await post_form(http, invoice_url + "/pay", {"mode": "embedded"})
    assert embedded.status_code == 200 and 'data-testid="embedded-checkout"' in embedded.text
    [session] = fake.sessions.values()
    assert session["ui_mode"] == "embedded_page" and session["url"] is None
    assert f'data-client-secret="{session["client_secret"]}"' in embedded.text
    assert f'data-publishable-key="{PUBLISHABLE}"' in embedded.text
    assert session["return_url"].endswith(f"{invoice_url}/paid?session_id={{CHECKOUT_SESSION_ID}}")
    policy = embedded.headers["content-security-policy"]
    assert _directive(policy, "script-src") == "'self' https://js.stripe.com"
    assert _directive(policy, "frame-src") == "https://js.stripe.com https://checkout.stripe.com"
    assert _directive(policy, "connect-src") == "'self' https://api.stripe.com https://checkout.stripe.com"

    # The same click again reuses the open session; without JavaScript it is hosted Checkout.
    assert (await post_form(http, invoice_url + "/pay", {"mode": "embedded"})).status_code == 200
    assert len(fake.sessions) == 1
    hosted = await post_form(http, invoice_url + "/pay", {"mode": "hosted"})
    assert hosted.status_code == 303 and hosted.headers["location"].startswith(fake.url + "/pay/")
    assert sorted(s["ui_mode"] for s in fake.sessions.values()) == ["embedded_page", "hosted_page"]


async def test_a_workspace_that_chose_hosted_checkout_never_embeds_it(http, settings, world, fake):
    await connect(settings, checkout="hosted")
    invoice = await make_invoice(world.workspace, world.project_a, "INV-22", "sent")
    await sign_in_client(http, world.workspace, world.alice)
    response = await post_form(http, f"/p/acme/projects/{world.project_a}/billing/{invoice}/pay", {"mode": "embedded"})
    assert response.status_code == 303
    assert [s["ui_mode"] for s in fake.sessions.values()] == ["hosted_page"]


async def test_paid_draft_and_void_invoices_open_no_session(http, settings, world, fake):
    await connect(settings)
    await sign_in_client(http, world.workspace, world.alice)
    for status in ("paid", "draft", "void"):
        invoice = await make_invoice(world.workspace, world.project_a, f"INV-{status}", status)
        response = await post_form(http, f"/p/acme/projects/{world.project_a}/billing/{invoice}/pay", {"mode": "hosted"})
        assert response.status_code in (404, 409), (status, response.status_code)
    assert fake.sessions == {} and await Payment.count() == 0


async def test_when_stripe_fails_the_client_is_told_and_nothing_is_recorded(http, settings, world, fake):
    await connect(settings)
    invoice = await make_invoice(world.workspace, world.project_a, "INV-23", "sent")
    await sign_in_client(http, world.workspace, world.alice)
    fake.fail_next("POST", "/v1/checkout/sessions", status=500)
    response = await post_form(http, f"/p/acme/projects/{world.project_a}/billing/{invoice}/pay", {"mode": "hosted"})
    assert response.status_code == 502 and "try again" in response.text.lower()
    assert await Payment.count() == 0


async def test_stripe_keys_appear_in_no_page_log_line_email_or_audit_entry(http, settings, world, fake, caplog):
    caplog.set_level(logging.DEBUG)
    pages = []
    await sign_in_staff(http, world.workspace, world.staff)
    pages.append(await post_form(http, "/studio/settings/payments", {
        "secret_key": SECRET, "publishable_key": PUBLISHABLE, "webhook_secret": WEBHOOK, "checkout": "hosted"}))
    pages.append(await http.get("/studio/settings/payments"))
    pages.append(await post_form(http, "/studio/settings/payments/test", {}))
    fake.fail_next("GET", "/v1/account", status=401)
    pages.append(await post_form(http, "/studio/settings/payments/test", {}))
    pages.append(await http.get("/studio/activity"))
    invoice = await make_invoice(world.workspace, world.project_a, "INV-24", "sent")
    pages.append(await http.get(f"/studio/invoices/{invoice}"))

    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    pay_url = f"/p/acme/projects/{world.project_a}/billing/{invoice}/pay"
    fake.fail_next("POST", "/v1/checkout/sessions", status=400)
    pages.append(await post_form(http, pay_url, {"mode": "hosted"}))
    pages.append(first := await post_form(http, pay_url, {"mode": "hosted"}))
    session_id = first.headers["location"].rsplit("/", 1)[1]
    fake.complete(session_id)
    pages.append(await deliver(http, fake, fake.events[-1]["id"]))
    pages.append(await http.get(f"/p/acme/projects/{world.project_a}/billing/{invoice}/paid?session_id={session_id}"))
    pages.append(await http.get(f"/p/acme/projects/{world.project_a}/billing/{invoice}"))
    await payments.reconcile(settings, world.workspace)

    assert [p.status_code for p in pages[:4]] == [303, 200, 303, 422]
    assert "Stripe said:" in pages[3].text
    assert all(p.status_code < 500 or p.status_code == 502 for p in pages)
    mails = await OutboxMessage.select(OutboxMessage.subject, OutboxMessage.text_body, OutboxMessage.html_body)
    audit = await AuditEvent.select(AuditEvent.detail)
    assert mails and audit and caplog.text
    haystacks = {"pages": "\n".join(p.text for p in pages), "log": caplog.text,
                 "email": json.dumps(mails), "audit": json.dumps(audit)}
    for where, text in haystacks.items():
        for key in (SECRET, WEBHOOK, SECRET[8:], WEBHOOK[6:]):
            assert key not in text, f"a Stripe key in the {where}"


async def test_a_double_click_at_once_makes_one_session(http, settings, world, fake):
    await connect(settings)
    invoice = await make_invoice(world.workspace, world.project_a, "INV-25", "sent")
    await sign_in_client(http, world.workspace, world.alice)
    pay_url = f"/p/acme/projects/{world.project_a}/billing/{invoice}/pay"
    answers = await asyncio.gather(*(post_form(http, pay_url, {"mode": "hosted"}) for _ in range(2)))
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["location"] == answers[1].headers["location"]
    assert len(fake.sessions) == 1 and await Payment.count() == 1
