"""Payment instructions: how clients pay when the workspace has no online payment."""

from __future__ import annotations

from portal.billing.tables import BillingProfile
from tests.audit import events
from tests.factories import make_invoice, make_staff
from tests.fixtures import post_form, sign_in_client, sign_in_staff
from tests.stripe_support import connect

BANK = "Bank: Northern Trust\nIBAN GB33 BUKB 2020 1555 5555 55\nReference: your invoice number"


async def test_the_owner_writes_them_and_clients_see_them_on_unpaid_invoices_only(http, settings, world):
    sent = await make_invoice(world.workspace, world.project_a, "INV-1", "sent")
    paid = await make_invoice(world.workspace, world.project_a, "INV-2", "paid")
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, "/studio/settings/billing/instructions", {"payment_instructions": f"  {BANK}  "})
    assert response.status_code == 303
    assert (await BillingProfile.select(BillingProfile.payment_instructions).first())["payment_instructions"] == BANK
    assert len(await events("payment_instructions_changed")) == 1
    assert "IBAN GB33" in (await http.get("/studio/settings/billing")).text

    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    unpaid = (await http.get(f"/p/acme/projects/{world.project_a}/billing/{sent}")).text
    assert 'data-testid="pay-instructions"' in unpaid and "IBAN GB33 BUKB 2020 1555 5555 55" in unpaid
    assert "quote the invoice number, INV-1" in unpaid and 'data-testid="pay-offline"' not in unpaid
    assert "IBAN" not in (await http.get(f"/p/acme/projects/{world.project_a}/billing/{paid}")).text


async def test_with_online_payment_on_the_pay_button_shows_instead(http, settings, world):
    await BillingProfile.insert(BillingProfile(workspace=world.workspace, payment_instructions=BANK))
    await connect(settings)
    sent = await make_invoice(world.workspace, world.project_a, "INV-1", "sent")
    await sign_in_client(http, world.workspace, world.alice)
    page = (await http.get(f"/p/acme/projects/{world.project_a}/billing/{sent}")).text
    assert 'data-testid="pay-form"' in page and "IBAN" not in page


async def test_too_long_instructions_are_refused_and_the_old_ones_kept(http, world):
    await BillingProfile.insert(BillingProfile(workspace=world.workspace, payment_instructions=BANK))
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, "/studio/settings/billing/instructions", {"payment_instructions": "x" * 2001})
    assert response.status_code == 422 and "Keep the instructions under 2000 characters" in response.text
    assert "x" * 2001 in response.text  # what was typed stays in the form
    assert (await BillingProfile.select(BillingProfile.payment_instructions).first())["payment_instructions"] == BANK


async def test_a_member_can_neither_read_nor_change_them(http, world):
    member = await make_staff(world.workspace, "mia@acme.example", role="member")
    await sign_in_staff(http, world.workspace, member)
    assert (await http.get("/studio/settings/billing")).status_code == 403
    response = await post_form(http, "/studio/settings/billing/instructions", {"payment_instructions": "Pay me"})
    assert response.status_code == 403 and await BillingProfile.count() == 0
