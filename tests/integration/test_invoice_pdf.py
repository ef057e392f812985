"""Invoices as PDF: the invoice page's own sheet, for its client and for the studio."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pypdfium2
from PIL import Image

from portal.billing import pdf
from portal.billing.tables import BillingProfile
from portal.files.storage import store_bytes
from portal.workspaces.tables import Workspace
from tests.factories import make_invoice, make_staff, make_workspace
from tests.fixtures import sign_in_client, sign_in_staff

BANK = "IBAN GB33 BUKB 2020 1555 5555 55"


def pdf_text(data: bytes) -> str:
    """The text of every page, runs of white space as one space (a PDF that pdfium cannot
    open fails here)."""
    document = pypdfium2.PdfDocument(data)
    try:
        return " ".join(" ".join(document[i].get_textpage().get_text_range().split()) for i in range(len(document)))
    finally:
        document.close()


def image_count(data: bytes) -> int:
    document = pypdfium2.PdfDocument(data)
    try:
        page = document[0]
        return sum(1 for obj in page.get_objects() if obj.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE)
    finally:
        document.close()


def url(world, invoice: int) -> str:
    return f"/p/acme/projects/{world.project_a}/billing/{invoice}/pdf"


async def test_the_client_downloads_their_invoice_as_a_pdf_with_its_number_lines_and_total(http, world):
    invoice = await make_invoice(world.workspace, world.project_a, "INV-0042", "sent",
                                 lines=(("Homepage design", "2", 150000), ("Copywriting", "1.5", 40000)))
    await BillingProfile.insert(BillingProfile(workspace=world.workspace, payment_instructions=f"Bank transfer\n{BANK}"))
    await sign_in_client(http, world.workspace, world.alice)

    page = (await http.get(f"/p/acme/projects/{world.project_a}/billing/{invoice}")).text
    assert f'href="{url(world, invoice)}"' in page and 'data-testid="invoice-pdf"' in page

    response = await http.get(url(world, invoice))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="INV-0042.pdf"'
    assert response.headers["cache-control"] == "private, no-store"
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    for expected in ("Invoice INV-0042", "Acme Agency", "help@acme.example", "Homepage design", "Copywriting",
                     "2 × $1,500.00", "1.5 × $400.00", "$3,600.00", "How to pay", BANK, "quote the invoice number, INV-0042"):
        assert expected in text, expected
    # The page's controls are not printed.
    for absent in ("Download PDF", "All invoices", "Sign out", "Deliverables"):
        assert absent not in text, absent


async def test_the_pdf_carries_the_agency_logo(http, settings, world):
    buffer = io.BytesIO()
    Image.new("RGB", (240, 80), "#2952cc").save(buffer, "PNG")
    stored = await store_bytes(settings, world.workspace, buffer.getvalue(), "image/png")
    await Workspace.update({Workspace.portal_logo_sha256: stored.sha256, Workspace.portal_logo_type: "image/png"}).where(
        Workspace.id == world.workspace)
    invoice = await make_invoice(world.workspace, world.project_a, "INV-1", "sent")
    await sign_in_client(http, world.workspace, world.alice)
    with_logo = (await http.get(url(world, invoice))).content
    assert image_count(with_logo) == 1

    await Workspace.update({Workspace.portal_logo_sha256: None, Workspace.portal_logo_type: None}).where(
        Workspace.id == world.workspace)
    assert image_count((await http.get(url(world, invoice))).content) == 0


async def test_a_paid_invoice_says_paid_and_no_way_to_pay(http, world):
    invoice = await make_invoice(world.workspace, world.project_a, "INV-7", "paid")
    await BillingProfile.insert(BillingProfile(workspace=world.workspace, payment_instructions=BANK))
    await sign_in_client(http, world.workspace, world.alice)
    text = pdf_text((await http.get(url(world, invoice))).content)
    assert "Paid" in text and "Invoice INV-7" in text
    assert BANK not in text and "How to pay" not in text


async def test_nobody_else_gets_the_pdf(http, world):
    invoice = await make_invoice(world.workspace, world.project_a, "INV-1", "sent")
    draft = await make_invoice(world.workspace, world.project_a, "INV-2", "draft")
    void = await make_invoice(world.workspace, world.project_a, "INV-3", "void")

    nobody = await http.get(url(world, invoice))
    assert nobody.status_code in (302, 303, 401) and not nobody.content.startswith(b"%PDF")

    await sign_in_client(http, world.workspace, world.carol)  # another organisation's client
    assert (await http.get(url(world, invoice))).status_code == 404
    assert (await http.get(f"/p/acme/projects/{world.project_b}/billing/{invoice}/pdf")).status_code == 404

    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    assert (await http.get(url(world, void))).status_code == 404
    # A draft the client sees (as on its page) says so on the PDF.
    assert "Invoice INV-2 Draft" in pdf_text((await http.get(url(world, draft))).content)
    assert (await http.get(f"/studio/invoices/{invoice}/pdf")).status_code in (302, 303, 401, 403)


async def test_the_studio_downloads_any_invoice_of_its_workspace_only(http, world):
    draft = await make_invoice(world.workspace, world.project_a, "INV-9", "draft")
    await sign_in_staff(http, world.workspace, world.staff)
    page = (await http.get(f"/studio/invoices/{draft}")).text
    assert f'href="/studio/invoices/{draft}/pdf"' in page
    response = await http.get(f"/studio/invoices/{draft}/pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Invoice INV-9" in text and "Draft" in text and "Design work" in text and "$1,000.00" in text

    other = await make_workspace("other", "Other Studio")
    stranger = await make_staff(other, "sam@other.example")
    http.cookies.clear()
    await sign_in_staff(http, other, stranger)
    assert (await http.get(f"/studio/invoices/{draft}/pdf")).status_code == 404


async def test_a_member_of_the_team_downloads_it_too(http, world):
    invoice = await make_invoice(world.workspace, world.project_a, "INV-5", "sent")
    member = await make_staff(world.workspace, "mia@acme.example", role="member")
    await sign_in_staff(http, world.workspace, member)
    response = await http.get(f"/studio/invoices/{invoice}/pdf")
    assert response.status_code == 200 and "Invoice INV-5" in pdf_text(response.content)


async def test_what_an_invoice_says_is_printed_as_text_and_fetches_nothing(http, world):
    requests: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    trap = f"http://127.0.0.1:{server.server_port}/leak"
    try:
        invoice = await make_invoice(world.workspace, world.project_a, "INV-1", "sent",
                                     lines=((f'<img src="{trap}"> Design', "1", 1000),))
        await sign_in_client(http, world.workspace, world.alice)
        text = pdf_text((await http.get(url(world, invoice))).content)
        assert f'<img src="{trap}"> Design' in text
        # Even markup that reached the renderer fetches nothing.
        await pdf.render(f'<img src="{trap}"><link rel="stylesheet" href="{trap}.css"><p>x</p>',
                         f"body {{ background: url({trap}.png) }}")
        assert requests == []
    finally:
        server.shutdown()


def test_the_file_name_is_the_invoice_number_made_safe():
    assert pdf.filename("INV-0042") == "INV-0042.pdf"
    assert pdf.filename("2026/07") == "2026-07.pdf"
    assert pdf.filename('a"b\r\nc') == "a-b-c.pdf"
    assert pdf.filename("../") == "invoice.pdf"
