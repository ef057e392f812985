"""The studio's invoices: numbering, drafts and their lines, the list, send / paid / void,
the client's view of taxes, and isolation. Personas: Olivia (owner of acme), Mia (a
member), alice (client of project A), Mallory (owner of another workspace)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from decimal import Decimal

import pytest

from portal import clock
from portal.accounts.sessions import Principal
from portal.audit.tables import AuditEvent
from portal.billing import services
from portal.billing.amounts import BadNumber, line_amounts, parse_price_cents, parse_quantity, parse_rate, totals
from portal.billing.services import Header
from portal.billing.tables import Invoice, InvoiceLine, InvoiceNumbering
from portal.mail.tables import OutboxMessage
from portal.projects.tables import ProjectAccess
from tests.factories import grant, insert, make_client, make_invoice, make_project, make_staff, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff

TODAY = clock.today()


def owner(world) -> Principal:
    return Principal(kind="staff", user_id=world.staff, workspace_id=world.workspace, email="olivia@acme.example",
                     name="Olivia Owner", session_id=0, role="owner")


def header(**fields) -> dict:
    return {"currency": "usd", "issue_date": TODAY.isoformat(),
            "due_date": (TODAY + dt.timedelta(days=14)).isoformat(), "notes": "", **fields}


def line(**fields) -> dict:
    return {"description": "Design (days)", "quantity": "2", "unit_price": "750.00", "tax_rate": "20", **fields}


async def create(http, world, **fields) -> int:
    response = await post_form(http, f"/studio/projects/{world.project_a}/billing", header(**fields))
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


async def add(http, invoice_id: int, **fields):
    return await post_form(http, f"/studio/invoices/{invoice_id}/lines", line(**fields))


async def row(invoice_id: int) -> dict:
    return await Invoice.select().where(Invoice.id == invoice_id).first()


async def lines_of(invoice_id: int) -> list[dict]:
    return await InvoiceLine.select().where(InvoiceLine.invoice == invoice_id).order_by(InvoiceLine.position)


async def actions(invoice_id: int) -> list[str]:
    rows = await AuditEvent.select(AuditEvent.action).where(
        (AuditEvent.target_type == "invoice") & (AuditEvent.target_id == invoice_id)
    ).order_by(AuditEvent.id)
    return [r["action"] for r in rows]


async def as_member(http, world) -> int:
    member = await make_staff(world.workspace, "mia@acme.example", role="member", name="Mia Member")
    await sign_in_staff(http, world.workspace, member)
    return member


# 1. Numbering


async def test_twenty_concurrent_creations_get_twenty_consecutive_numbers(world):
    staff = owner(world)
    ids = await asyncio.gather(*(
        services.create_invoice(staff, world.project_a, Header(**header())) for _ in range(20)
    ))
    numbers = sorted(r["number"] for r in await Invoice.select(Invoice.number).where(Invoice.id.is_in(list(ids))))
    assert numbers == [f"INV-{n:04d}" for n in range(1, 21)]
    numbering = await InvoiceNumbering.select().where(InvoiceNumbering.workspace == world.workspace).first()
    assert numbering["next_number"] == 21


async def test_each_workspace_has_its_own_sequence_and_taken_numbers_are_skipped(world):
    await make_invoice(world.workspace, world.project_a, "INV-0001", "sent")  # e.g. imported
    other = await make_workspace("other", "Other Agency")
    mallory = await make_staff(other, "mallory@other.example")
    from portal.accounts.tables import ClientOrganisation

    org = await insert(ClientOrganisation(workspace=other, name="Initech"))
    project = await make_project(other, org, "Initech site")
    theirs = Principal(kind="staff", user_id=mallory, workspace_id=other, email="m@o", name="", session_id=0, role="owner")
    first = await services.create_invoice(owner(world), world.project_a, Header(**header()))
    second = await services.create_invoice(owner(world), world.project_a, Header(**header()))
    foreign = await services.create_invoice(theirs, project, Header(**header()))
    assert [(await row(i))["number"] for i in (first, second, foreign)] == ["INV-0002", "INV-0003", "INV-0001"]


async def test_the_owner_changes_the_prefix_and_the_sequence_goes_on(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    first = await create(http, world)
    page = await http.get("/studio/settings/billing")
    assert page.status_code == 200 and re.search(r'data-testid="next-number">INV-0002<', page.text)
    response = await post_form(http, "/studio/settings/billing", {"prefix": "ACME/2026-"})
    assert response.status_code == 303
    assert "Invoice numbering saved." in (await http.get(response.headers["location"])).text
    second = await create(http, world)
    assert (await row(first))["number"] == "INV-0001" and (await row(second))["number"] == "ACME/2026-0002"
    assert await AuditEvent.count().where(AuditEvent.action == "billing_settings_changed") == 1


@pytest.mark.parametrize("prefix", ["", "THIRTEEN-CHRS", "IN V", "INV#", "<b>", "é-"])
async def test_a_bad_prefix_is_refused_and_nothing_changes(http, world, prefix):
    await sign_in_staff(http, world.workspace, world.staff)
    await http.get("/studio/settings/billing")
    response = await post_form(http, "/studio/settings/billing", {"prefix": prefix})
    assert response.status_code == 422
    assert "1 to 12 letters, digits or - _ / ." in response.text and 'aria-invalid="true"' in response.text
    assert await InvoiceNumbering.count() == 0  # nothing saved
    assert 'data-testid="next-number">INV-0001<' in response.text


async def test_opening_the_billing_settings_writes_nothing(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    page = await http.get("/studio/settings/billing")
    assert page.status_code == 200 and 'data-testid="next-number">INV-0001<' in page.text and 'value="INV-"' in page.text
    assert await InvoiceNumbering.count() == 0


async def test_members_cannot_open_or_change_the_billing_settings(http, world):
    await as_member(http, world)
    assert (await http.get("/studio/settings/billing")).status_code == 403
    response = await post_form(http, "/studio/settings/billing", {"prefix": "X-"})
    assert response.status_code == 403
    assert await InvoiceNumbering.count().where(InvoiceNumbering.prefix == "X-") == 0


# 2. Create and edit while draft


def test_the_arithmetic_rounds_half_up_per_line():
    assert line_amounts(Decimal("2.5"), 15, Decimal("0")).net_cents == 38  # 37.5 cents -> 38
    assert line_amounts(Decimal("3"), 33333, Decimal("20")) == line_amounts(Decimal("3"), 33333, Decimal("20.00"))
    taxed = line_amounts(Decimal("3"), 33333, Decimal("20"))
    assert (taxed.net_cents, taxed.tax_cents) == (99999, 20000)  # 199.998 -> 200.00
    assert line_amounts(Decimal("1"), 38, Decimal("7.5")).tax_cents == 3  # 2.85 cents -> 3
    sums = totals([taxed, line_amounts(Decimal("2.5"), 15, Decimal("7.5"))])
    assert (sums.subtotal_cents, sums.tax_cents, sums.total_cents) == (100037, 20003, 120040)
    assert parse_price_cents("1250.00") == 125000 and parse_price_cents("0") == 0 and parse_price_cents("9.5") == 950
    assert parse_quantity("2.25") == Decimal("2.25") and parse_rate("") == 0
    for parse, raw in ((parse_quantity, "0"), (parse_quantity, "-1"), (parse_quantity, "1.234"), (parse_quantity, "two"),
                       (parse_price_cents, "-5"), (parse_price_cents, "1,250.00"), (parse_price_cents, "1e3"),
                       (parse_rate, "100.01"), (parse_rate, "abc"), (parse_rate, "-2")):
        with pytest.raises(BadNumber):
            parse(raw)


async def test_staff_create_a_draft_from_the_projects_billing_tab(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    page = await http.get(f"/studio/projects/{world.project_a}/billing")
    assert page.status_code == 200
    assert f'value="{TODAY.isoformat()}"' in page.text  # issued today
    assert f'value="{(TODAY + dt.timedelta(days=14)).isoformat()}"' in page.text  # due in 14 days
    assert 'data-testid="billing-empty"' in page.text and 'aria-current="page">Billing</a>' in page.text
    response = await post_form(http, f"/studio/projects/{world.project_a}/billing", header(currency="eur", notes="Thanks!"))
    assert response.status_code == 303
    invoice_id = int(response.headers["location"].rsplit("/", 1)[1])
    saved = await row(invoice_id)
    assert (saved["status"], saved["currency"], saved["number"], saved["notes"]) == ("draft", "eur", "INV-0001", "Thanks!")
    assert saved["workspace"] == world.workspace and saved["project"] == world.project_a
    shown = await http.get(response.headers["location"])
    assert "Draft invoice created." in shown.text and "Invoice INV-0001" in shown.text
    assert await actions(invoice_id) == ["invoice_created"]
    listing = await http.get(f"/studio/projects/{world.project_a}/billing")
    assert "INV-0001" in listing.text and "Draft" in listing.text


@pytest.mark.parametrize("fields, field, message", [
    ({"currency": "jpy"}, "currency", "Choose US dollar, euro or pound sterling."),
    ({"due_date": (TODAY - dt.timedelta(days=1)).isoformat()}, "due_date", "cannot be before the issue date"),
    ({"issue_date": "next tuesday"}, "issue_date", "Enter the issue date as a date"),
    ({"due_date": ""}, "due_date", "Enter the due date."),
    ({"notes": "x" * 5001}, "notes", "Keep the notes under"),
])
async def test_a_bad_header_shows_the_form_again_and_saves_nothing(http, world, fields, field, message):
    await sign_in_staff(http, world.workspace, world.staff)
    await http.get(f"/studio/projects/{world.project_a}/billing")
    response = await post_form(http, f"/studio/projects/{world.project_a}/billing", header(**fields))
    assert response.status_code == 422
    assert message in response.text
    assert re.search(rf'id="field-{field}" name="{field}" aria-invalid="true"', response.text)
    assert await Invoice.count() == 0 and await InvoiceNumbering.count().where(InvoiceNumbering.next_number > 1) == 0


async def test_lines_with_tax_make_the_totals(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    invoice_id = await create(http, world)
    assert (await add(http, invoice_id, description="Design", quantity="3", unit_price="333.33", tax_rate="20")).status_code == 303
    assert (await add(http, invoice_id, description="Stickers", quantity="2.5", unit_price="0.15", tax_rate="7.5")).status_code == 303
    saved = await row(invoice_id)
    assert (saved["subtotal_cents"], saved["tax_cents"], saved["total_cents"]) == (100037, 20003, 120040)
    stored = await lines_of(invoice_id)
    assert [(r["description"], r["amount_cents"], r["tax_cents"], r["position"]) for r in stored] == [
        ("Design", 99999, 20000, 0), ("Stickers", 38, 3, 1)]
    assert Decimal(str(stored[1]["tax_rate"])) == Decimal("7.5")
    page = (await http.get(f"/studio/invoices/{invoice_id}")).text
    assert re.search(r'data-testid="invoice-subtotal">\$1,000.37<', page)
    assert re.search(r'data-testid="invoice-tax">\$200.03<', page)
    assert re.search(r'data-testid="invoice-total"><strong>\$1,200.40<', page)
    assert await actions(invoice_id) == ["invoice_created", "invoice_updated", "invoice_updated"]


@pytest.mark.parametrize("fields, field, message", [
    ({"description": "  "}, "description", "Describe what this line is for."),
    ({"quantity": "-1"}, "quantity", "The quantity cannot be negative."),
    ({"quantity": "0"}, "quantity", "The quantity must be more than 0."),
    ({"quantity": "1.255"}, "quantity", "at most two decimals"),
    ({"unit_price": "abc"}, "unit_price", "Enter the unit price as a number"),
    ({"unit_price": "-10.00"}, "unit_price", "The unit price cannot be negative."),
    ({"tax_rate": "101"}, "tax_rate", "from 0 to 100"),
    ({"tax_rate": "twenty"}, "tax_rate", "Enter the tax rate as a number"),
])
async def test_a_bad_line_shows_the_form_again_and_saves_nothing(http, world, fields, field, message):
    await sign_in_staff(http, world.workspace, world.staff)
    invoice_id = await create(http, world)
    await add(http, invoice_id, description="Kept", quantity="1", unit_price="100.00", tax_rate="0")
    response = await add(http, invoice_id, **fields)
    assert response.status_code == 422
    assert message in response.text
    assert re.search(rf'id="field-{field}" name="{field}" aria-invalid="true"', response.text)
    for value in fields.values():  # what was typed is shown again
        if value.strip():
            assert f'value="{value}"' in response.text
    assert [r["description"] for r in await lines_of(invoice_id)] == ["Kept"]
    assert (await row(invoice_id))["total_cents"] == 10000


async def test_a_line_is_edited_and_removed_and_the_totals_follow(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    invoice_id = await create(http, world)
    await add(http, invoice_id, description="A", quantity="1", unit_price="100.00", tax_rate="10")
    await add(http, invoice_id, description="B", quantity="1", unit_price="50.00", tax_rate="0")
    first, second = [r["id"] for r in await lines_of(invoice_id)]
    form = (await http.get(f"/studio/invoices/{invoice_id}?line={first}")).text
    assert 'Edit line “A”' in form and f'name="line_id" value="{first}"' in form and 'value="100.00"' in form
    response = await post_form(http, f"/studio/invoices/{invoice_id}/lines", line(
        line_id=str(first), description="A, revised", quantity="2", unit_price="100.00", tax_rate="10"))
    assert response.status_code == 303
    assert (await row(invoice_id))["total_cents"] == 22000 + 5000
    response = await post_form(http, f"/studio/invoices/{invoice_id}/lines/remove", {"line_id": str(second)})
    assert response.status_code == 303
    assert [r["description"] for r in await lines_of(invoice_id)] == ["A, revised"]
    saved = await row(invoice_id)
    assert (saved["subtotal_cents"], saved["tax_cents"], saved["total_cents"]) == (20000, 2000, 22000)


async def test_a_line_of_another_invoice_is_not_found(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    mine, other = await create(http, world), await create(http, world)
    await add(http, other, description="Other's line")
    foreign = (await lines_of(other))[0]["id"]
    for url, data in ((f"/studio/invoices/{mine}/lines", line(line_id=str(foreign))),
                      (f"/studio/invoices/{mine}/lines/remove", {"line_id": str(foreign)}),
                      (f"/studio/invoices/{mine}/lines/remove", {"line_id": "abc"})):
        assert (await post_form(http, url, data)).status_code == 404
    assert [r["description"] for r in await lines_of(other)] == ["Other's line"] and await lines_of(mine) == []


async def test_the_header_of_a_draft_is_edited(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    invoice_id = await create(http, world)
    due = (TODAY + dt.timedelta(days=30)).isoformat()
    response = await post_form(http, f"/studio/invoices/{invoice_id}", header(currency="gbp", due_date=due, notes="Net 30"))
    assert response.status_code == 303
    saved = await row(invoice_id)
    assert (saved["currency"], saved["due_date"].isoformat(), saved["notes"]) == ("gbp", due, "Net 30")
    response = await post_form(http, f"/studio/invoices/{invoice_id}", header(currency="btc"))
    assert response.status_code == 422 and "Choose US dollar" in response.text
    assert (await row(invoice_id))["currency"] == "gbp"


async def test_a_sent_invoice_is_read_only(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    invoice_id = await create(http, world)
    await add(http, invoice_id)
    assert (await post_form(http, f"/studio/invoices/{invoice_id}/send")).status_code == 303
    line_id = (await lines_of(invoice_id))[0]["id"]
    before = (await row(invoice_id), await lines_of(invoice_id))
    for url, data in ((f"/studio/invoices/{invoice_id}", header(currency="eur")),
                      (f"/studio/invoices/{invoice_id}/lines", line(description="More")),
                      (f"/studio/invoices/{invoice_id}/lines", line(line_id=str(line_id), quantity="9")),
                      (f"/studio/invoices/{invoice_id}/lines/remove", {"line_id": str(line_id)}),
                      (f"/studio/invoices/{invoice_id}/lines", line(quantity="-1")),  # 409 even with bad input
                      (f"/studio/invoices/{invoice_id}/send", {})):
        response = await post_form(http, url, data)
        assert response.status_code == 409, url
        assert "can no longer be edited" in response.text
    assert (await row(invoice_id), await lines_of(invoice_id)) == before
    page = (await http.get(f"/studio/invoices/{invoice_id}")).text
    assert 'data-testid="read-only-note"' in page
    assert 'data-testid="line-form"' not in page and 'data-testid="header-form"' not in page and "/lines/remove" not in page


# 3. The workspace's invoices


async def test_the_invoices_page_lists_every_invoice_with_its_effective_status(http, world):
    await make_invoice(world.workspace, world.project_a, "INV-D", "draft")
    await make_invoice(world.workspace, world.project_a, "INV-S", "sent", due_in_days=5)
    await make_invoice(world.workspace, world.project_b, "INV-O", "sent", due_in_days=-3)
    await make_invoice(world.workspace, world.project_b, "INV-P", "paid")
    await make_invoice(world.workspace, world.project_a, "INV-V", "void")
    await sign_in_staff(http, world.workspace, world.staff)
    page = (await http.get("/studio/invoices")).text
    rows = re.findall(r'data-testid="invoice-number">([^<]+)</a></td>\s*<td data-label="Client">([^<]+)</td>.*?'
                      r'data-testid="invoice-status">([^<]+)<', page, re.S)
    assert sorted(rows) == [("INV-D", "Northwind", "Draft"), ("INV-O", "Globex", "Overdue"), ("INV-P", "Globex", "Paid"),
                            ("INV-S", "Northwind", "Sent"), ("INV-V", "Northwind", "Void")]
    assert "Globex rebrand" in page and "Northwind website" in page and "table--cards" in page
    for status, expected in (("overdue", ["INV-O"]), ("sent", ["INV-S"]), ("void", ["INV-V"]), ("paid", ["INV-P"])):
        shown = re.findall(r'data-testid="invoice-number">([^<]+)<', (await http.get(f"/studio/invoices?status={status}")).text)
        assert shown == expected, status


async def test_the_invoices_page_says_what_to_do_when_empty(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    page = (await http.get("/studio/invoices")).text
    assert 'data-testid="invoices-empty"' in page and "Billing tab" in page
    await make_invoice(world.workspace, world.project_a, "INV-D", "draft")
    page = (await http.get("/studio/invoices?status=paid")).text
    assert "No paid invoices." in page and "INV-D" not in page


# 4. Send, paid by hand, void


async def test_an_invoice_without_lines_cannot_be_sent(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    invoice_id = await create(http, world)
    response = await post_form(http, f"/studio/invoices/{invoice_id}/send")
    assert response.status_code == 422 and "Add at least one line before sending" in response.text
    assert (await row(invoice_id))["status"] == "draft" and await OutboxMessage.count() == 0


async def test_sending_emails_every_client_with_a_live_grant(http, world):
    dana = await make_client(world.workspace, world.org_a, "dana@northwind.example")
    await grant(world.workspace, world.project_a, dana, expires_on=TODAY - dt.timedelta(days=1))  # expired
    erin = await make_client(world.workspace, world.org_a, "erin@northwind.example")
    await grant(world.workspace, world.project_a, erin)
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now()}).where(ProjectAccess.client_user == erin)
    await sign_in_staff(http, world.workspace, world.staff)
    invoice_id = await create(http, world)
    await add(http, invoice_id, quantity="1", unit_price="1250.00", tax_rate="0")
    response = await post_form(http, f"/studio/invoices/{invoice_id}/send")
    assert response.status_code == 303
    assert "Invoice sent. 1 client emailed." in (await http.get(response.headers["location"])).text
    saved = await row(invoice_id)
    assert saved["status"] == "sent" and saved["sent_at"] is not None
    mails = await OutboxMessage.select().where(OutboxMessage.kind == "invoice_sent")
    assert [m["to_address"] for m in mails] == ["alice@northwind.example"]
    link = f"http://127.0.0.1:8000/p/acme/projects/{world.project_a}/billing/{invoice_id}"
    assert link in mails[0]["text_body"] and link in mails[0]["html_body"]
    assert "INV-0001" in mails[0]["subject"] and "$1,250.00" in mails[0]["text_body"]
    assert await actions(invoice_id) == ["invoice_created", "invoice_updated", "invoice_sent"]


async def test_the_owner_marks_a_sent_invoice_paid_by_hand(http, world):
    invoice_id = await make_invoice(world.workspace, world.project_a, "INV-9", "sent")
    await sign_in_staff(http, world.workspace, world.staff)
    page = (await http.get(f"/studio/invoices/{invoice_id}")).text
    assert 'data-testid="paid-form"' in page and 'data-testid="void-form"' in page
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    for paid_on, message in ((tomorrow, "cannot be in the future"), ("yesterday", "as a date"), ("", "Enter the payment date.")):
        response = await post_form(http, f"/studio/invoices/{invoice_id}/paid", {"paid_on": paid_on, "paid_note": "x"})
        assert response.status_code == 422 and message in response.text
        assert (await row(invoice_id))["status"] == "sent"
    paid_on = (TODAY - dt.timedelta(days=2)).isoformat()
    response = await post_form(http, f"/studio/invoices/{invoice_id}/paid", {"paid_on": paid_on, "paid_note": "Bank ref 4711"})
    assert response.status_code == 303
    saved = await row(invoice_id)
    assert saved["status"] == "paid" and saved["paid_at"].date().isoformat() == paid_on
    assert saved["paid_note"] == "Bank ref 4711"
    assert await actions(invoice_id) == ["invoice_paid"]
    # paid: neither paid again nor voided
    assert (await post_form(http, f"/studio/invoices/{invoice_id}/paid", {"paid_on": paid_on})).status_code == 409
    response = await post_form(http, f"/studio/invoices/{invoice_id}/void")
    assert response.status_code == 409 and "paid and cannot be voided" in response.text
    assert (await row(invoice_id))["status"] == "paid"


async def test_a_draft_cannot_be_marked_paid(http, world):
    invoice_id = await make_invoice(world.workspace, world.project_a, "INV-9", "draft")
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, f"/studio/invoices/{invoice_id}/paid", {"paid_on": TODAY.isoformat()})
    assert response.status_code == 409 and "send it before" in response.text
    assert (await row(invoice_id))["status"] == "draft"


@pytest.mark.parametrize("status", ["draft", "sent"])
async def test_the_owner_voids_an_invoice_and_the_client_no_longer_sees_it(http, world, status):
    invoice_id = await make_invoice(world.workspace, world.project_a, "INV-GONE", status)
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, f"/studio/invoices/{invoice_id}/void")
    assert response.status_code == 303
    saved = await row(invoice_id)
    assert saved["status"] == "void" and saved["voided_at"] is not None
    assert await actions(invoice_id) == ["invoice_voided"]
    assert (await post_form(http, f"/studio/invoices/{invoice_id}/void")).status_code == 409
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    assert "INV-GONE" not in (await http.get(f"/p/acme/projects/{world.project_a}/billing")).text
    assert (await http.get(f"/p/acme/projects/{world.project_a}/billing/{invoice_id}")).status_code == 404


async def test_members_get_403_on_paid_and_void_and_see_no_such_buttons(http, world):
    invoice_id = await make_invoice(world.workspace, world.project_a, "INV-M", "sent")
    await as_member(http, world)
    page = await http.get(f"/studio/invoices/{invoice_id}")
    assert page.status_code == 200
    assert 'data-testid="paid-form"' not in page.text and 'data-testid="void-form"' not in page.text
    response = await post_form(http, f"/studio/invoices/{invoice_id}/paid", {"paid_on": TODAY.isoformat()})
    assert response.status_code == 403 and "Only owners and admins" in response.text
    assert (await post_form(http, f"/studio/invoices/{invoice_id}/void")).status_code == 403
    assert (await row(invoice_id))["status"] == "sent" and await actions(invoice_id) == []


async def test_members_create_and_send_invoices(http, world):
    await as_member(http, world)
    invoice_id = await create(http, world)
    await add(http, invoice_id)
    assert (await post_form(http, f"/studio/invoices/{invoice_id}/send")).status_code == 303
    assert (await row(invoice_id))["status"] == "sent"


# 5. The client's invoice page


async def test_the_client_sees_each_lines_tax_and_the_totals(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    invoice_id = await create(http, world, currency="eur")
    await add(http, invoice_id, description="Design", quantity="3", unit_price="333.33", tax_rate="20")
    await add(http, invoice_id, description="Hosting", quantity="1", unit_price="10.00", tax_rate="0")
    await post_form(http, f"/studio/invoices/{invoice_id}/send")
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    html = (await http.get(f"/p/acme/projects/{world.project_a}/billing/{invoice_id}")).text
    lines = re.findall(r'<tr data-testid="invoice-line">(.*?)</tr>', html, re.S)
    cells = [re.findall(r'data-testid="line-[a-z]+">([^<]*)<', item) for item in lines]
    assert cells == [["Design", "3 × €333.33", "20%", "€200.00", "€999.99"],
                     ["Hosting", "1 × €10.00", "0%", "€0.00", "€10.00"]]
    assert re.search(r'data-testid="invoice-subtotal">€1,009.99<', html)
    assert re.search(r'data-testid="invoice-tax">€200.00<', html)
    assert re.search(r'data-testid="invoice-total">€1,209.99<', html)


async def test_staff_only_facts_of_an_invoice_reach_no_portal_page(http, world):
    draft = await make_invoice(world.workspace, world.project_a, "INV-DRAFT", "draft")
    paid = await make_invoice(world.workspace, world.project_a, "INV-PAID", "sent")
    await sign_in_staff(http, world.workspace, world.staff)
    await post_form(http, f"/studio/invoices/{paid}/paid", {"paid_on": TODAY.isoformat(), "paid_note": "CANARY-paid-note-3c1d"})
    await post_form(http, f"/studio/invoices/{draft}/lines", line(description="Visible line"))
    assert (await row(paid))["paid_note"] == "CANARY-paid-note-3c1d"
    assert "CANARY-paid-note-3c1d" in (await http.get(f"/studio/invoices/{paid}")).text  # staff do see it
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    base = f"/p/acme/projects/{world.project_a}/billing"
    for url in (base, f"{base}/{draft}", f"{base}/{paid}", "/p/acme/"):
        for headers in ({}, {"HX-Request": "true"}):
            response = await http.get(url, headers=headers)
            assert response.status_code == 200, url
            assert "CANARY-" not in response.text and "staff only" not in response.text.lower(), url
            assert "/studio/" not in response.text, url


# 6. Isolation


async def _mallory(http) -> None:
    other = await make_workspace("other", "Other Agency")
    mallory = await make_staff(other, "mallory@other.example", role="owner")
    await sign_in_staff(http, other, mallory)


async def test_staff_of_another_workspace_get_404_with_real_input_and_change_nothing(http, world):
    draft = await make_invoice(world.workspace, world.project_a, "INV-1", "draft")
    sent = await make_invoice(world.workspace, world.project_a, "INV-2", "sent")
    line_id = (await lines_of(draft))[0]["id"]
    await _mallory(http)
    before = (await Invoice.select().order_by(Invoice.id), await InvoiceLine.select().order_by(InvoiceLine.id))
    for url in (f"/studio/invoices/{draft}", f"/studio/projects/{world.project_a}/billing"):
        assert (await http.get(url)).status_code == 404
    posts = (
        (f"/studio/projects/{world.project_a}/billing", header()),
        (f"/studio/invoices/{draft}", header(currency="eur")),
        (f"/studio/invoices/{draft}/lines", line()),
        (f"/studio/invoices/{draft}/lines", line(line_id=str(line_id))),
        (f"/studio/invoices/{draft}/lines/remove", {"line_id": str(line_id)}),
        (f"/studio/invoices/{draft}/send", {}),
        (f"/studio/invoices/{sent}/paid", {"paid_on": TODAY.isoformat()}),
        (f"/studio/invoices/{sent}/void", {}),
        (f"/studio/invoices/{draft}/void", {}),
    )
    for url, data in posts:
        response = await post_form(http, url, data)
        assert response.status_code == 404, url
        assert "INV-" not in response.text
    assert (await Invoice.select().order_by(Invoice.id), await InvoiceLine.select().order_by(InvoiceLine.id)) == before
    listing = (await http.get("/studio/invoices")).text
    assert "INV-1" not in listing and "Northwind" not in listing and 'data-testid="invoices-empty"' in listing
    assert await OutboxMessage.count() == 0 and await AuditEvent.count().where(AuditEvent.action.like("invoice_%")) == 0


async def test_a_client_never_reaches_the_studio_invoice_pages(http, world):
    draft = await make_invoice(world.workspace, world.project_a, "INV-1", "draft")
    await sign_in_client(http, world.workspace, world.alice)
    for url in ("/studio/invoices", f"/studio/invoices/{draft}", f"/studio/projects/{world.project_a}/billing",
                "/studio/settings/billing"):
        response = await http.get(url)
        assert response.status_code == 303 and response.headers["location"] == "/studio/login", url
    response = await post_form(http, f"/studio/invoices/{draft}/void")
    assert response.status_code in (303, 403)
    assert (await row(draft))["status"] == "draft"
