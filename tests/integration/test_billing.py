"""Billing tab: every visible invoice, overdue computed, totals, Pay only on sent/overdue."""

from __future__ import annotations

import datetime as dt
import re

from portal.billing.services import effective_status
from portal.billing.tables import Invoice
from portal.billing.views import quantity_label
from portal.db import count_queries
from tests.factories import make_invoice
from tests.fixtures import sign_in_client

NOT_SET_UP = "Online payment is not set up yet"


def tab_url(world) -> str:
    return f"/p/acme/projects/{world.project_a}/billing"


def statuses(html: str) -> dict[str, str]:
    """Invoice number -> status label, from the list."""
    rows = re.findall(r'data-testid="invoice-link">([^<]+)</a>.*?data-testid="invoice-status">([^<]+)<', html, re.S)
    return dict(rows)


def test_overdue_is_sent_and_past_due_only():
    today = dt.date(2026, 3, 10)
    yesterday, tomorrow = today - dt.timedelta(days=1), today + dt.timedelta(days=1)
    assert effective_status("sent", yesterday, today) == "overdue"
    assert effective_status("sent", today, today) == "sent"  # due today is not late yet
    assert effective_status("sent", tomorrow, today) == "sent"
    assert effective_status("paid", yesterday, today) == "paid"
    assert effective_status("draft", yesterday, today) == "draft"


def test_quantities_read_like_numbers():
    from decimal import Decimal

    assert [quantity_label(Decimal(q)) for q in ("4.00", "2.50", "0.25", "10")] == ["4", "2.5", "0.25", "10"]


async def test_the_tab_lists_every_state_but_void_with_overdue_computed(http, world):
    await make_invoice(world.workspace, world.project_a, "INV-001", "draft")
    await make_invoice(world.workspace, world.project_a, "INV-002", "sent", due_in_days=10)
    late = await make_invoice(world.workspace, world.project_a, "INV-003", "sent", due_in_days=-3)
    await make_invoice(world.workspace, world.project_a, "INV-004", "paid", due_in_days=-20)
    await make_invoice(world.workspace, world.project_a, "INV-VOID", "void")
    await make_invoice(world.workspace, world.project_b, "GLOBEX-001", "sent")
    await sign_in_client(http, world.workspace, world.alice)

    response = await http.get(tab_url(world))

    assert response.status_code == 200
    assert statuses(response.text) == {"INV-001": "Draft", "INV-002": "Sent", "INV-003": "Overdue", "INV-004": "Paid"}
    assert "INV-VOID" not in response.text and "GLOBEX" not in response.text
    # never stored: the row still says sent
    assert (await Invoice.select(Invoice.status).where(Invoice.id == late).first())["status"] == "sent"
    # what is left to pay: the sent and the overdue one ($1,000.00 each)
    outstanding = response.text[response.text.index('data-testid="outstanding"'):]
    assert "$2,000.00" in outstanding and "2 invoices, 1 overdue" in outstanding


async def test_the_invoice_page_shows_lines_and_total(http, world):
    invoice = await make_invoice(
        world.workspace, world.project_a, "INV-010", "sent",
        lines=(("Homepage design (days)", "4", 75000), ("Project management (hours)", "2.5", 12000)),
        currency="eur",
    )
    await sign_in_client(http, world.workspace, world.alice)

    response = await http.get(f"{tab_url(world)}/{invoice}")

    assert response.status_code == 200
    html = response.text
    lines = re.findall(r'<tr data-testid="invoice-line">(.*?)</tr>', html, re.S)
    cells = [re.findall(r'data-testid="line-[a-z]+">([^<]*)<', line) for line in lines]
    assert cells == [
        ["Homepage design (days)", "4 × €750.00", "€3,000.00"],
        ["Project management (hours)", "2.5 × €120.00", "€300.00"],
    ]
    assert re.search(r'data-testid="invoice-total">€3,300.00<', html)
    assert "Invoice INV-010" in html and "Northwind" in html  # billed to the organisation
    assert 'aria-current="page"' in html and ">Billing</a>" in html


async def test_an_htmx_request_gets_the_invoice_fragment(http, world):
    invoice = await make_invoice(world.workspace, world.project_a, "INV-011")
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get(f"{tab_url(world)}/{invoice}", headers={"HX-Request": "true"})
    assert "<html" not in response.text and 'data-testid="invoice"' in response.text


async def _pay_area(http, world, invoice: int) -> str:
    html = (await http.get(f"{tab_url(world)}/{invoice}")).text
    return html[html.index('data-testid="pay-area"'):]


async def test_without_stripe_the_pay_area_says_how_to_pay(http, world):
    sent = await make_invoice(world.workspace, world.project_a, "INV-1", "sent")
    draft = await make_invoice(world.workspace, world.project_a, "INV-2", "draft")
    await sign_in_client(http, world.workspace, world.alice)
    area = await _pay_area(http, world, sent)
    assert 'data-testid="pay-button"' not in area
    assert NOT_SET_UP in area and "help@acme.example" in area  # growth plan: full branding
    area = await _pay_area(http, world, draft)
    assert NOT_SET_UP not in area and 'data-testid="pay-button"' not in area and "draft" in area


async def test_void_and_other_projects_invoices_are_404(http, world):
    void = await make_invoice(world.workspace, world.project_a, "INV-VOID", "void")
    other = await make_invoice(world.workspace, world.project_b, "GLOBEX-1", "sent")
    await sign_in_client(http, world.workspace, world.alice)
    assert (await http.get(f"{tab_url(world)}/{void}")).status_code == 404
    assert (await http.get(f"{tab_url(world)}/{other}")).status_code == 404
    assert (await http.get(f"/p/acme/projects/{world.project_b}/billing/{other}")).status_code == 404


async def test_the_tab_and_invoice_query_counts_do_not_grow(http, world):
    first = await make_invoice(world.workspace, world.project_a, "INV-0", lines=(("One", "1", 100),))
    await sign_in_client(http, world.workspace, world.alice)
    await http.get(tab_url(world))
    with count_queries() as few_tab:
        await http.get(tab_url(world))
    with count_queries() as few_page:
        await http.get(f"{tab_url(world)}/{first}")
    many_lines = tuple((f"Line {i}", "1", 100 + i) for i in range(15))
    big = await make_invoice(world.workspace, world.project_a, "INV-BIG", lines=many_lines)
    for i in range(12):
        await make_invoice(world.workspace, world.project_a, f"INV-{i + 1}", "sent", due_in_days=i - 6)
    with count_queries() as many_tab:
        response = await http.get(tab_url(world))
    assert response.text.count('data-testid="invoice-row"') == 14
    with count_queries() as many_page:
        response = await http.get(f"{tab_url(world)}/{big}")
    assert response.text.count('data-testid="invoice-line"') == 15
    assert len(many_tab) == len(few_tab) and len(many_page) == len(few_page)
