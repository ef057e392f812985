"""An invoice's PDF and the invoice page printed from the browser: the same sheet."""

from __future__ import annotations

import pypdfium2
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS, demo_links
from tests.e2e.test_payments import open_overdue_invoice

pytestmark = pytest.mark.e2e


def words(data: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(data)
    try:
        return " ".join(document[i].get_textpage().get_text_range() for i in range(len(document))).split()
    finally:
        document.close()


def first_page_png(data: bytes, name: str) -> None:
    document = pypdfium2.PdfDocument(data)
    try:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        document[0].render(scale=1.2).to_pil().save(SCREENSHOTS / name)
    finally:
        document.close()


def test_the_downloaded_pdf_and_the_printed_page_say_the_same(page: Page, fresh_db):
    open_overdue_invoice(page, demo_links(fresh_db)["alice@northwind.example"])
    with page.expect_download() as download:
        page.get_by_test_id("invoice-pdf").click()
    assert download.value.suggested_filename == "BL-2026-003.pdf"
    downloaded = download.value.path().read_bytes()
    assert downloaded.startswith(b"%PDF-")
    first_page_png(downloaded, "invoice-pdf.png")

    printed = page.pdf(format="A4", margin={"top": "0", "bottom": "0", "left": "0", "right": "0"})
    first_page_png(printed, "invoice-printed.png")

    pdf_text, print_text = " ".join(words(downloaded)), " ".join(words(printed))
    for text in (pdf_text, print_text):
        for expected in ("Brightline Studio", "Invoice BL-2026-003", "Overdue", "Northwind", "Website redesign",
                         "$4,500.00", "Total"):
            assert expected in text, expected
        for absent in ("Download PDF", "All invoices", "Sign out", "Deliverables", "Billing", "Pay $"):
            assert absent not in text, absent
    # Word for word, but for what the browser prints in its own header and footer (none: no margins).
    assert words(downloaded) == words(printed)


def test_the_studio_downloads_the_same_pdf(page: Page, fresh_db):
    page.goto(demo_links(fresh_db)["owner@brightline.example"])
    page.get_by_test_id("continue").click()
    expect(page).to_have_url(f"{fresh_db.url}/studio/")
    page.goto(f"{fresh_db.url}/studio/invoices")
    page.get_by_role("link", name="BL-2026-003").click()
    expect(page.get_by_test_id("studio-invoice")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_test_id("invoice-pdf").click()
    text = " ".join(words(download.value.path().read_bytes()))
    assert "Invoice BL-2026-003" in text and "$4,500.00" in text
