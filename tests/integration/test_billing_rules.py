"""Billing, rule by rule: every field of the invoices' audit events, the exact refusals
(edits after sending, payments, voids) with their messages, the form limits at their
boundaries, the numbering settings, the payment instructions, and what the studio's list
and the client's views hold."""

from __future__ import annotations

import datetime as dt

import pytest

from portal import clock
from portal.accounts.sessions import Principal
from portal.billing import services
from portal.billing.services import Header, LineInput
from portal.billing.tables import BillingProfile, Invoice, InvoiceLine, InvoiceNumbering
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.mail.tables import OutboxMessage
from tests.audit import events, only_event, who
from tests.factories import make_invoice, make_staff
from tests.fixtures import post_form, sign_in_staff

TODAY = clock.today()


def owner(world) -> Principal:
    return Principal(kind="staff", user_id=world.staff, workspace_id=world.workspace, email="olivia@acme.example",
                     name="Olivia Owner", session_id=0, role="owner")


def member(world, member_id: int) -> Principal:
    return Principal(kind="staff", user_id=member_id, workspace_id=world.workspace, email="mia@acme.example",
                     name="Mia Member", session_id=0, role="member")


def alice(world) -> Principal:
    return Principal(kind="client", user_id=world.alice, workspace_id=world.workspace,
                     email="alice@northwind.example", name="Alice Andrews", session_id=0)


def header(**fields) -> dict:
    return {"currency": "usd", "issue_date": TODAY.isoformat(),
            "due_date": (TODAY + dt.timedelta(days=14)).isoformat(), "notes": "", **fields}


def line(**fields) -> dict:
    return {"description": "Design (days)", "quantity": "2", "unit_price": "750.00", "tax_rate": "20", **fields}


async def row(invoice_id: int) -> dict:
    return await Invoice.select().where(Invoice.id == invoice_id).first()


async def line_ids(invoice_id: int) -> list[int]:
    rows = await InvoiceLine.select(InvoiceLine.id).where(InvoiceLine.invoice == invoice_id).order_by(InvoiceLine.position)
    return [r["id"] for r in rows]


def event_of(found: list[dict], invoice_id: int) -> list[dict]:
    return [e for e in found if e["target_id"] == invoice_id]


# Audit events, over HTTP (the request's address and agent are kept)


async def test_every_step_of_an_invoice_is_audited_with_its_details(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    created = await post_form(http, f"/studio/projects/{world.project_a}/billing", header())
    invoice_id = int(created.headers["location"].rsplit("/", 1)[1])
    event = await only_event("invoice_created")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["project"]) == ("invoice", invoice_id, world.project_a)
    assert event["detail"] == {"number": "INV-0001", "project_id": world.project_a}

    assert (await post_form(http, f"/studio/invoices/{invoice_id}", header(notes="Net 14"))).status_code == 303
    assert (await post_form(http, f"/studio/invoices/{invoice_id}/lines", line(description="Design"))).status_code == 303
    assert (await post_form(http, f"/studio/invoices/{invoice_id}/lines", line(description="Copy"))).status_code == 303
    first, second = await line_ids(invoice_id)
    changed = await post_form(http, f"/studio/invoices/{invoice_id}/lines", line(line_id=str(first), description="Design+"))
    assert changed.status_code == 303
    removed = await post_form(http, f"/studio/invoices/{invoice_id}/lines/remove", {"line_id": str(second)})
    assert removed.status_code == 303
    updates = await events("invoice_updated")
    assert [who(e) for e in updates] == [(world.workspace, "staff", world.staff, True)] * 5
    assert [(e["target_type"], e["target_id"]) for e in updates] == [("invoice", invoice_id)] * 5
    assert [e["detail"] for e in updates] == [
        {"change": "header"},
        {"change": "line_added", "description": "Design"},
        {"change": "line_added", "description": "Copy"},
        {"change": "line_changed", "line_id": first},
        {"change": "line_removed", "description": "Copy"},
    ]

    assert (await post_form(http, f"/studio/invoices/{invoice_id}/send")).status_code == 303
    event = await only_event("invoice_sent")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"]) == ("invoice", invoice_id)
    assert event["detail"] == {"number": "INV-0001", "emails": 1}

    paid_on = (TODAY - dt.timedelta(days=1)).isoformat()
    assert (await post_form(http, f"/studio/invoices/{invoice_id}/paid", {"paid_on": paid_on})).status_code == 303
    event = await only_event("invoice_paid")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"]) == ("invoice", invoice_id)
    assert event["detail"] == {"number": "INV-0001", "paid_on": paid_on, "by_hand": True}


@pytest.mark.parametrize("status", ["draft", "sent"])
async def test_a_void_is_audited_with_the_number_and_the_status_it_had(http, world, status):
    invoice_id = await make_invoice(world.workspace, world.project_a, "INV-0042", status)
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, f"/studio/invoices/{invoice_id}/void")).status_code == 303
    event = await only_event("invoice_voided")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"]) == ("invoice", invoice_id)
    assert event["detail"] == {"number": "INV-0042", "was": status}


async def test_a_new_prefix_is_audited_from_and_to_and_shown_with_the_next_number(http, world):
    await services.create_invoice(owner(world), world.project_a, Header(**header()))
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, "/studio/settings/billing", {"prefix": "  ACME-  "})).status_code == 303
    event = await only_event("billing_settings_changed")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"]) == ("workspace", world.workspace)
    assert event["detail"] == {"prefix_from": "INV-", "prefix_to": "ACME-"}
    assert await services.numbering_settings(owner(world)) == {"prefix": "ACME-", "next": "ACME-0002"}
    numbering = await InvoiceNumbering.select().where(InvoiceNumbering.workspace == world.workspace)
    assert [(n["prefix"], n["next_number"]) for n in numbering] == [("ACME-", 2)]


async def test_numbering_settings_read_the_workspaces_own_row_or_the_default(world):
    from tests.factories import make_workspace

    other = await make_workspace("other", "Other Agency")
    await InvoiceNumbering.insert(InvoiceNumbering(workspace=other, prefix="OTH-", next_number=9))
    assert await services.numbering_settings(owner(world)) == {"prefix": "INV-", "next": "INV-0001"}
    await InvoiceNumbering.insert(InvoiceNumbering(workspace=world.workspace, prefix="Q/", next_number=37))
    assert await services.numbering_settings(owner(world)) == {"prefix": "Q/", "next": "Q/0037"}


async def test_members_are_told_what_only_owners_and_admins_may_do(world):
    mia = member(world, await make_staff(world.workspace, "mia@acme.example", role="member"))
    invoice_id = await make_invoice(world.workspace, world.project_a, "INV-0001", "sent")
    refusals = (
        (services.numbering_settings(mia), "change how invoices are numbered"),
        (services.save_numbering(mia, "X-"), "change how invoices are numbered"),
        (services.instructions_settings(mia), "change the payment instructions"),
        (services.save_instructions(mia, "Cash"), "change the payment instructions"),
        (services.mark_paid(mia, invoice_id, paid_on=TODAY.isoformat(), note=""), "record a payment"),
        (services.void_invoice(mia, invoice_id), "void invoices"),
    )
    for attempt, action in refusals:
        with pytest.raises(Forbidden) as refused:
            await attempt
        assert refused.value.message == f"Only owners and admins can {action}."
    assert (await row(invoice_id))["status"] == "sent"
    assert await InvoiceNumbering.count() == 0 and await BillingProfile.count() == 0


async def test_prefixes_are_one_to_twelve_of_the_allowed_characters():
    for good in ("A", "ABCDEFGHIJKL", "a-b_c/d.9"):
        assert services.clean_prefix(f" {good} ") == good
    for bad in ("", "   ", "ABCDEFGHIJKLM", "A B", "A#"):
        with pytest.raises(Invalid) as refused:
            services.clean_prefix(bad)
        assert refused.value.errors == {"prefix": "Use 1 to 12 letters, digits or - _ / . (for example INV- or 2026/)."}
    assert services.format_number("INV-", 7) == "INV-0007" and services.format_number("", 12345) == "12345"


async def test_payment_instructions_are_trimmed_per_line_saved_once_and_audited_with_their_length(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    typed = "  Bank: Northern Trust   \r\n   IBAN GB33  \r\n\r\nRef: the number  "
    saved = "Bank: Northern Trust\n   IBAN GB33\n\nRef: the number"
    response = await post_form(http, "/studio/settings/billing/instructions", {"payment_instructions": typed})
    assert response.status_code == 303
    assert await services.payment_instructions(world.workspace) == saved
    assert await services.instructions_settings(owner(world)) == saved
    event = await only_event("payment_instructions_changed")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["detail"]) == ("workspace", world.workspace,
                                                                           {"length": len(saved)})
    assert await services.save_instructions(owner(world), "Cash only") == "Cash only"
    profiles = await BillingProfile.select(BillingProfile.workspace, BillingProfile.payment_instructions)
    assert profiles == [{"workspace": world.workspace, "payment_instructions": "Cash only"}]


async def test_payment_instructions_up_to_the_limit_are_kept_and_longer_ones_refused(world):
    limit = services.MAX_INSTRUCTIONS
    assert await services.save_instructions(owner(world), "x" * limit) == "x" * limit
    with pytest.raises(Invalid) as refused:
        await services.save_instructions(owner(world), "y" * (limit + 1))
    assert refused.value.errors == {"payment_instructions": f"Keep the instructions under {limit} characters "
                                                            f"(now {limit + 1})."}
    assert await services.payment_instructions(world.workspace) == "x" * limit
    assert await services.payment_instructions(world.workspace + 1000) == ""
    assert await services.save_instructions(owner(world), "") == ""  # clearing them
    assert await services.payment_instructions(world.workspace) == ""


# Header and line rules


def test_a_new_invoice_is_in_dollars_issued_today_and_due_in_fourteen_days():
    day = dt.date(2026, 12, 20)
    assert services.default_header(day) == Header("usd", "2026-12-20", "2027-01-03", "")


def test_a_header_is_cleaned_and_its_limits_are_exact():
    cleaned = services.clean_header(Header(" EUR ", " 2026-12-01 ", "2026-12-01", "  Thanks  "))
    assert cleaned == {"currency": "eur", "notes": "Thanks", "issue_date": dt.date(2026, 12, 1),
                       "due_date": dt.date(2026, 12, 1)}
    assert services.clean_header(Header(notes=None, issue_date="2026-12-01", due_date="2026-12-01"))["notes"] == ""
    assert services.clean_header(Header(notes="n" * services.MAX_NOTES, issue_date="2026-12-01",
                                        due_date="2026-12-02"))["notes"] == "n" * services.MAX_NOTES
    with pytest.raises(Invalid) as refused:
        services.clean_header(Header("btc", "", "soon", "n" * (services.MAX_NOTES + 1)))
    assert refused.value.errors == {
        "currency": "Choose US dollar, euro or pound sterling.",
        "issue_date": "Enter the issue date.",
        "due_date": f"Enter the due date as a date, like {clock.today().isoformat()}.",
        "notes": f"Keep the notes under {services.MAX_NOTES} characters.",
    }
    with pytest.raises(Invalid) as refused:
        services.clean_header(Header("gbp", "2026-12-02", "2026-12-01", ""))
    assert refused.value.errors == {"due_date": "The due date cannot be before the issue date."}


def test_a_line_is_cleaned_with_its_amounts_and_its_limits_are_exact():
    cleaned = services.clean_line(LineInput("  Design  ", "2", "100.00", "10"))
    assert {k: v for k, v in cleaned.items() if k not in ("quantity", "tax_rate")} == {
        "description": "Design", "unit_amount_cents": 10000, "amount_cents": 20000, "tax_cents": 2000}
    assert (str(cleaned["quantity"]), str(cleaned["tax_rate"])) == ("2", "10")
    longest = "d" * services.MAX_DESCRIPTION
    assert services.clean_line(LineInput(longest, "1", "1", "0"))["description"] == longest
    with pytest.raises(Invalid) as refused:
        services.clean_line(LineInput(longest + "d", "x", "", "200"))
    assert set(refused.value.errors) == {"description", "quantity", "unit_price", "tax_rate"}
    assert refused.value.errors["description"] == f"Keep the description under {services.MAX_DESCRIPTION} characters."
    for missing in ("   ", None):
        with pytest.raises(Invalid) as refused:
            services.clean_line(LineInput(missing, "1", "1", "0"))
        assert refused.value.errors == {"description": "Describe what this line is for."}


async def test_a_line_id_that_is_no_number_or_too_long_is_not_found(world):
    invoice_id = await services.create_invoice(owner(world), world.project_a, Header(**header()))
    await services.add_line(owner(world), invoice_id, LineInput("Design", "1", "10.00", "0"))
    [line_id] = await line_ids(invoice_id)
    for raw in ("", "abc", "-1", "1" * 13, f"{line_id}x"):
        with pytest.raises(NotFound):
            await services.remove_line(owner(world), invoice_id, raw)
    await services.remove_line(owner(world), invoice_id, f" {line_id} ")
    assert await line_ids(invoice_id) == []
    assert services._line_id("0" * 11 + "7") == 7


async def test_lines_are_numbered_in_order_and_the_totals_follow_each_change(world):
    staff = owner(world)
    invoice_id = await services.create_invoice(staff, world.project_a, Header(**header()))
    await services.add_line(staff, invoice_id, LineInput("A", "1", "100.00", "10"))
    await services.add_line(staff, invoice_id, LineInput("B", "1", "50.00", "0"))
    await services.add_line(staff, invoice_id, LineInput("C", "3", "1.00", "0"))
    rows = await InvoiceLine.select(InvoiceLine.description, InvoiceLine.position).where(
        InvoiceLine.invoice == invoice_id).order_by(InvoiceLine.id)
    assert [(r["description"], r["position"]) for r in rows] == [("A", 0), ("B", 1), ("C", 2)]
    saved = await row(invoice_id)
    assert (saved["subtotal_cents"], saved["tax_cents"], saved["total_cents"]) == (15300, 1000, 16300)
    first, second, third = await line_ids(invoice_id)
    await services.save_line(staff, invoice_id, str(second), LineInput("B", "2", "50.00", "20"))
    saved = await row(invoice_id)
    assert (saved["subtotal_cents"], saved["tax_cents"], saved["total_cents"]) == (20300, 3000, 23300)
    await services.remove_line(staff, invoice_id, str(first))
    saved = await row(invoice_id)
    assert (saved["subtotal_cents"], saved["tax_cents"], saved["total_cents"]) == (10300, 2000, 12300)
    other = await services.create_invoice(staff, world.project_a, Header(**header()))
    await services.add_line(staff, other, LineInput("Only", "1", "1.00", "0"))
    assert [r["position"] for r in await InvoiceLine.select(InvoiceLine.position).where(
        InvoiceLine.invoice == other)] == [0]
    with pytest.raises(NotFound):
        await services.save_line(staff, other, str(third), LineInput("X", "1", "1.00", "0"))
    assert (await row(other))["total_cents"] == 100


# Refusals and their messages


async def test_a_sent_paid_or_void_invoice_says_when_it_stopped_being_editable(world):
    moment = dt.datetime(2026, 3, 5, 10, 0, tzinfo=dt.UTC)
    rows = {
        "sent": {"status": "sent", "number": "INV-1", "sent_at": moment, "paid_at": None, "voided_at": None},
        "paid": {"status": "paid", "number": "INV-2", "sent_at": None, "paid_at": moment, "voided_at": None},
        "void": {"status": "void", "number": "INV-3", "sent_at": None, "paid_at": None, "voided_at": moment},
        "refunded": {"status": "refunded", "number": "INV-4", "sent_at": moment, "paid_at": moment, "voided_at": None},
    }
    expected = {"sent": "INV-1 was sent on 5 Mar 2026", "paid": "INV-2 is paid on 5 Mar 2026",
                "void": "INV-3 was voided on 5 Mar 2026", "refunded": "INV-4 was refunded"}
    for status, found in rows.items():
        with pytest.raises(Conflict) as refused:
            services.ensure_draft(found)
        assert refused.value.message == (f"Invoice {expected[status]} and can no longer be edited. "
                                         "To correct it, void it and create a new invoice.")
    services.ensure_draft({"status": "draft", "number": "INV-5"})


async def test_no_edit_reaches_a_sent_invoice_even_with_bad_input(world):
    staff = owner(world)
    invoice_id = await make_invoice(world.workspace, world.project_a, "INV-0007", "sent")
    [line_id] = await line_ids(invoice_id)
    before = (await row(invoice_id), await InvoiceLine.select().where(InvoiceLine.invoice == invoice_id))
    attempts = (
        services.update_invoice(staff, invoice_id, Header(currency="btc")),
        services.add_line(staff, invoice_id, LineInput("", "x")),
        services.save_line(staff, invoice_id, "nonsense", LineInput("", "x")),
        services.remove_line(staff, invoice_id, "nonsense"),
        services.send_invoice(None, staff, invoice_id),
    )
    for attempt in attempts:
        with pytest.raises(Conflict) as refused:
            await attempt
        assert refused.value.message.startswith("Invoice INV-0007 was sent on ")
    assert (await row(invoice_id), await InvoiceLine.select().where(InvoiceLine.invoice == invoice_id)) == before
    assert line_id and await events("invoice_updated") == []


async def test_payments_are_refused_on_drafts_paid_refunded_and_void_invoices_with_their_reason(world):
    staff = owner(world)
    reasons = {
        "draft": "Invoice N-draft is still a draft: send it before recording a payment.",
        "paid": "Invoice N-paid is already paid.",
        "refunded": "Invoice N-refunded is already refunded.",
        "void": "Invoice N-void was voided: nothing is due on it.",
    }
    for status, reason in reasons.items():
        invoice_id = await make_invoice(world.workspace, world.project_a, f"N-{status}", status)
        with pytest.raises(Conflict) as refused:
            await services.mark_paid(staff, invoice_id, paid_on=TODAY.isoformat(), note="")
        assert refused.value.message == reason
        assert (await row(invoice_id))["status"] == status
    assert await events("invoice_paid") == []


async def test_voids_are_refused_on_paid_refunded_and_void_invoices_with_their_reason(world):
    staff = owner(world)
    reasons = {
        "paid": "Invoice N-paid is paid and cannot be voided.",
        "refunded": "Invoice N-refunded is refunded and cannot be voided.",
        "void": "Invoice N-void is already void.",
    }
    for status, reason in reasons.items():
        invoice_id = await make_invoice(world.workspace, world.project_a, f"N-{status}", status)
        with pytest.raises(Conflict) as refused:
            await services.void_invoice(staff, invoice_id)
        assert refused.value.message == reason
        assert (await row(invoice_id))["status"] == status
    assert await events("invoice_voided") == []


async def test_a_payment_today_is_stamped_now_an_earlier_one_at_noon_utc(world, monkeypatch):
    moment = dt.datetime(2026, 12, 7, 18, 30, 15, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    staff = owner(world)
    today = await make_invoice(world.workspace, world.project_a, "INV-A", "sent")
    earlier = await make_invoice(world.workspace, world.project_a, "INV-B", "sent")
    await services.mark_paid(staff, today, paid_on="2026-12-07", note="  Cash  ")
    await services.mark_paid(staff, earlier, paid_on="2026-12-01", note=None)  # no note at all
    paid_today, paid_earlier = await row(today), await row(earlier)
    assert (paid_today["status"], paid_today["paid_at"], paid_today["paid_note"]) == ("paid", moment, "Cash")
    assert (paid_earlier["status"], paid_earlier["paid_at"], paid_earlier["paid_note"]) == (
        "paid", dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC), "")
    assert [e["detail"]["paid_on"] for e in await events("invoice_paid")] == ["2026-12-07", "2026-12-01"]


async def test_a_payment_note_up_to_the_limit_is_kept_and_every_bad_field_is_named(world):
    staff = owner(world)
    invoice_id = await make_invoice(world.workspace, world.project_a, "INV-0001", "sent")
    with pytest.raises(Invalid) as refused:
        await services.mark_paid(staff, invoice_id, paid_on="", note="n" * (services.MAX_PAID_NOTE + 1))
    assert refused.value.errors == {"paid_on": "Enter the payment date.",
                                    "paid_note": f"Keep the note under {services.MAX_PAID_NOTE} characters."}
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    with pytest.raises(Invalid) as refused:
        await services.mark_paid(staff, invoice_id, paid_on=tomorrow, note="")
    assert refused.value.errors == {"paid_on": "The payment date cannot be in the future."}
    assert (await row(invoice_id))["status"] == "sent"
    await services.mark_paid(staff, invoice_id, paid_on=TODAY.isoformat(), note="n" * services.MAX_PAID_NOTE)
    assert (await row(invoice_id))["paid_note"] == "n" * services.MAX_PAID_NOTE


async def test_sending_without_lines_is_refused_and_with_the_portal_off_emails_nobody(world, settings):
    staff = owner(world)
    await make_invoice(world.workspace, world.project_b, "OTHER-1", "draft")  # another invoice's lines do not count
    empty = await services.create_invoice(staff, world.project_a, Header(**header()))
    with pytest.raises(Invalid) as refused:
        await services.send_invoice(settings, staff, empty)
    assert refused.value.errors == {"": "Add at least one line before sending this invoice."}
    assert (await row(empty))["status"] == "draft"
    from portal.workspaces.tables import Workspace

    await Workspace.update({Workspace.portal_enabled: False}).where(Workspace.id == world.workspace)
    invoice_id = await services.create_invoice(staff, world.project_a, Header(**header()))
    await services.add_line(staff, invoice_id, LineInput("Design", "1", "10.00", "0"))
    assert await services.send_invoice(settings, staff, invoice_id) == 0
    assert (await row(invoice_id))["status"] == "sent" and await OutboxMessage.count() == 0
    assert (await only_event("invoice_sent"))["detail"] == {"number": "INV-0002", "emails": 0}


async def test_the_invoice_email_names_the_amount_the_due_date_and_links_the_invoice(world, settings):
    staff = owner(world)
    invoice_id = await services.create_invoice(staff, world.project_a, Header(**header(
        currency="eur", due_date="2027-01-09")))
    await services.add_line(staff, invoice_id, LineInput("Design", "1", "1234.50", "0"))
    assert await services.send_invoice(settings, staff, invoice_id) == 1
    [mail] = await OutboxMessage.select().where(OutboxMessage.kind == "invoice_sent")
    assert mail["to_address"] == "alice@northwind.example"
    assert "9 Jan 2027" in mail["text_body"] and "€1,234.50" in mail["text_body"]
    assert "Northwind website" in mail["text_body"]
    assert f"/p/acme/projects/{world.project_a}/billing/{invoice_id}" in mail["text_body"]


# What the studio's list and the views hold


async def test_the_studio_list_is_newest_issued_first_then_by_id_and_filters_by_project_and_status(world):
    staff = owner(world)
    older = await make_invoice(world.workspace, world.project_a, "A-OLD", "sent", due_in_days=0)
    tied_1 = await make_invoice(world.workspace, world.project_b, "B-1", "sent", due_in_days=-1)
    tied_2 = await make_invoice(world.workspace, world.project_a, "A-2", "draft")
    await Invoice.update({Invoice.issue_date: TODAY - dt.timedelta(days=40)}).where(Invoice.id == older)
    listed = await services.studio_invoices(staff)
    assert [r.id for r in listed] == [tied_2, tied_1, older]
    assert [(r.number, r.status, r.client, r.project, r.project_id) for r in listed] == [
        ("A-2", "draft", "Northwind", "Northwind website", world.project_a),
        ("B-1", "overdue", "Globex", "Globex rebrand", world.project_b),
        ("A-OLD", "sent", "Northwind", "Northwind website", world.project_a)]
    assert [r.id for r in await services.studio_invoices(staff, project_id=world.project_a)] == [tied_2, older]
    assert [r.id for r in await services.studio_invoices(staff, status="sent")] == [older]  # due today: not overdue
    assert [r.id for r in await services.studio_invoices(staff, status="overdue")] == [tied_1]
    assert [r.id for r in await services.studio_invoices(staff, status="draft", project_id=world.project_b)] == []
    assert [r.id for r in await services.studio_invoices(staff, status="anything")] == [tied_2, tied_1, older]


async def test_the_studio_invoice_page_lists_lines_in_position_order(world):
    staff = owner(world)
    invoice_id = await make_invoice(world.workspace, world.project_a, "INV-0001", "draft",
                                    lines=(("First", "1", 100), ("Second", "2", 200), ("Third", "1", 50)))
    await make_invoice(world.workspace, world.project_a, "INV-0002", "draft", lines=(("Another invoice's", "1", 1),))
    first, second, third = await line_ids(invoice_id)
    await InvoiceLine.update({InvoiceLine.position: 5}).where(InvoiceLine.id == first)
    page = await services.studio_invoice_page(staff, invoice_id)
    assert [ln.id for ln in page.lines] == [second, third, first]
    assert (page.number, page.status) == ("INV-0001", "draft")
    await Invoice.update({Invoice.status: "sent", Invoice.due_date: TODAY - dt.timedelta(days=1)}).where(
        Invoice.id == invoice_id)
    assert (await services.studio_invoice_page(staff, invoice_id)).status == "overdue"


async def test_the_printed_sheet_is_billed_to_the_client_with_its_subtotal_and_the_paid_moment(world):
    staff = owner(world)
    invoice_id = await make_invoice(world.workspace, world.project_b, "INV-0009", "paid",
                                    lines=(("Rebrand", "1", 10000),))
    await Invoice.update({Invoice.tax_cents: 2000, Invoice.total_cents: 12000}).where(Invoice.id == invoice_id)
    sheet = await services.staff_invoice_sheet(staff, invoice_id)
    assert (sheet.project_id, sheet.project_name) == (world.project_b, "Globex rebrand")
    detail = sheet.invoice
    assert (detail.billed_to, detail.subtotal_cents, detail.tax_cents) == ("Globex", 10000, 2000)
    assert detail.paid_at == (await row(invoice_id))["paid_at"] and detail.paid_at is not None
    assert (detail.summary.status, detail.summary.payable, detail.summary.url) == (
        "paid", False, f"/studio/invoices/{invoice_id}")
    assert [ln.description for ln in detail.lines] == ["Rebrand"]
    sent = await make_invoice(world.workspace, world.project_b, "INV-0011", "sent")
    assert (await services.staff_invoice_sheet(staff, sent)).invoice.summary.payable is True
    void = await make_invoice(world.workspace, world.project_b, "INV-0010", "void")
    await Invoice.update({Invoice.paid_at: clock.now()}).where(Invoice.id == void)
    assert (await services.staff_invoice_sheet(staff, void)).invoice.paid_at is None
    refunded = await make_invoice(world.workspace, world.project_b, "INV-0012", "refunded")
    await Invoice.update({Invoice.paid_at: clock.now()}).where(Invoice.id == refunded)
    assert (await services.staff_invoice_sheet(staff, refunded)).invoice.paid_at == (await row(refunded))["paid_at"]


async def test_the_client_sees_payable_invoices_with_links_and_overdue_from_the_day_after_due(world):
    due_today = await make_invoice(world.workspace, world.project_a, "INV-T", "sent", due_in_days=0)
    late = await make_invoice(world.workspace, world.project_a, "INV-L", "sent", due_in_days=-1)
    base = "https://portal.example/p/acme"
    to_pay = await services.invoices_to_pay(alice(world), [world.project_a], base)
    assert {(s.id, s.status, s.payable, s.url) for s in to_pay} == {
        (due_today, "sent", True, f"{base}/projects/{world.project_a}/billing/{due_today}"),
        (late, "overdue", True, f"{base}/projects/{world.project_a}/billing/{late}")}
    await Invoice.update({Invoice.notes: "Thank you!", Invoice.tax_cents: 25000,
                          Invoice.paid_at: clock.now()}).where(Invoice.id == late)  # paid_at of a sent one: not shown
    page = await services.invoice_page(alice(world), world.project_a, late, "/billing")
    assert (page.project.id, page.project.name) == (world.project_a, "Northwind website")
    detail = page.invoice
    assert (detail.summary.id, detail.summary.status, detail.summary.payable, detail.summary.url) == (
        late, "overdue", True, f"/billing/{late}")
    assert (detail.notes, detail.billed_to, detail.paid_at) == ("Thank you!", "Northwind", None)
    assert (detail.subtotal_cents, detail.tax_cents) == (100000 - 25000, 25000)
    assert [(ln.description, ln.amount_cents) for ln in detail.lines] == [("Design work", 100000)]
    paid = await make_invoice(world.workspace, world.project_a, "INV-P", "paid")
    paid_page = await services.invoice_page(alice(world), world.project_a, paid, "/billing")
    assert paid_page.invoice.paid_at == (await row(paid))["paid_at"] is not None
    assert (paid_page.invoice.summary.status, paid_page.invoice.summary.payable) == ("paid", False)
    with pytest.raises(NotFound):
        await services.invoice_page(alice(world), world.project_a, await make_invoice(
            world.workspace, world.project_b, "INV-B", "sent"), "/billing")
    tab = await services.billing_tab(alice(world), world.project_a, "/billing")
    assert {s.id for s in tab.invoices} == {due_today, late, paid}
    assert (tab.project.id, tab.project.name) == (world.project_a, "Northwind website")
    assert {(s.id, s.status, s.url) for s in tab.invoices if s.id != paid} == {
        (due_today, "sent", f"/billing/{due_today}"), (late, "overdue", f"/billing/{late}")}
    assert [(o.currency, o.total_cents, o.count, o.overdue_count) for o in tab.outstanding] == [("usd", 200000, 2, 1)]


def test_overdue_is_only_a_sent_invoice_past_its_due_date():
    day = dt.date(2026, 12, 7)
    assert services.effective_status("sent", day, day) == "sent"
    assert services.effective_status("sent", day - dt.timedelta(days=1), day) == "overdue"
    assert services.effective_status("draft", day - dt.timedelta(days=1), day) == "draft"
    assert [services.is_payable(s) for s in ("sent", "overdue", "draft", "paid", "void")] == [True, True, False, False,
                                                                                            False]


async def test_another_workspaces_project_or_invoice_is_not_found_before_the_input_is_read(world):
    from tests.factories import make_workspace

    other = await make_workspace("other", "Other Agency")
    mallory = Principal(kind="staff", user_id=await make_staff(other, "mallory@other.example"), workspace_id=other,
                        email="mallory@other.example", name="", session_id=0, role="owner")
    invoice_id = await make_invoice(world.workspace, world.project_a, "INV-0001", "sent")
    for attempt in (services.staff_project(mallory, world.project_a),
                    services.create_invoice(mallory, world.project_a, Header(currency="btc")),
                    services.mark_paid(mallory, invoice_id, paid_on="", note=""),
                    services.void_invoice(mallory, invoice_id),
                    services.studio_invoice_page(mallory, invoice_id),
                    services.staff_invoice_sheet(mallory, invoice_id)):
        with pytest.raises(NotFound):
            await attempt
    await make_invoice(world.workspace, world.project_a, "INV-0002", "draft")
    await make_invoice(world.workspace, world.project_a, "INV-0003", "sent", due_in_days=-2)
    for filters in ({}, {"status": "sent"}, {"status": "overdue"}, {"status": "draft"}, {"project_id": world.project_a}):
        assert await services.studio_invoices(mallory, **filters) == [], filters
    assert (await row(invoice_id))["status"] == "sent" and await Invoice.count() == 3


async def test_a_member_of_another_workspace_gets_not_found_before_being_told_what_members_may_not_do(world):
    from tests.factories import make_workspace

    other = await make_workspace("other", "Other Agency")
    outsider = Principal(kind="staff", user_id=await make_staff(other, "max@other.example", role="member"),
                         workspace_id=other, email="max@other.example", name="", session_id=0, role="member")
    invoice_id = await make_invoice(world.workspace, world.project_a, "INV-0001", "sent")
    for attempt in (services.mark_paid(outsider, invoice_id, paid_on=TODAY.isoformat(), note=""),
                    services.void_invoice(outsider, invoice_id)):
        with pytest.raises(NotFound):
            await attempt
    assert (await row(invoice_id))["status"] == "sent"


async def test_sending_emails_each_client_with_access_once_and_counts_them(world, settings):
    from tests.factories import grant, make_client

    dana = await make_client(world.workspace, world.org_a, "dana@northwind.example")
    await grant(world.workspace, world.project_a, dana)
    staff = owner(world)
    invoice_id = await services.create_invoice(staff, world.project_a, Header(**header()))
    await services.add_line(staff, invoice_id, LineInput("Design", "1", "10.00", "0"))
    assert await services.send_invoice(settings, staff, invoice_id) == 2
    mails = await OutboxMessage.select(OutboxMessage.to_address).where(OutboxMessage.kind == "invoice_sent")
    assert sorted(m["to_address"] for m in mails) == ["alice@northwind.example", "dana@northwind.example"]
    assert (await only_event("invoice_sent"))["detail"] == {"number": "INV-0001", "emails": 2}
