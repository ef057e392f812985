"""Time and memory of the documents the portal makes from files: invoice PDFs and previews.

    .venv/bin/python bench/documents_bench.py [--lines 200] [--runs 5]

Prints, for an invoice of N lines rendered to PDF (WeasyPrint, in this process) the time
per PDF and the growth of this process's peak memory; and for the previews of the demo's
video and PDF (made by child processes) the time each takes and the children's peak
memory..
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import statistics
import time
from pathlib import Path

import jinja2

from portal.billing import pdf
from portal.billing.payments import PayState
from portal.billing.views import InvoiceDetail, InvoiceSummary, LineView
from portal.files import previews
from portal.web import filters

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "portal" / "demo_assets"


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def invoice_html(lines: int) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "templates"), autoescape=True)
    env.filters.update(date=filters.date, money=filters.money, paragraphs=filters.paragraphs)
    today = dt.date(2026, 12, 3)
    summary = InvoiceSummary(1, "INV-0001", today, today + dt.timedelta(days=14), "usd", lines * 12_500, "sent",
                             "Sent", True, "/")
    detail = InvoiceDetail(summary, [LineView(f"Design work, part {n}", "1", 12_500, 12_500) for n in range(lines)],
                           "Thank you.", None, "Northwind Traders", lines * 12_500, 0)
    return env.get_template("_partials/invoice_document.html").render(
        invoice=detail, project_name="Website redesign", sender_name="Brightline Studio",
        sender_email="billing@brightline.example", logo_src="", pay=PayState(False, False, 0, "IBAN GB33 0000"),
        pay_online_url="",
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    html = invoice_html(args.lines)
    before = peak_mb()
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        data = await pdf.render(html)
        times.append(time.perf_counter() - start)
    print(f"invoice PDF, {args.lines} lines: {len(data) / 1024:.0f} KB, median {statistics.median(times) * 1000:.0f} ms"
          f" (min {min(times) * 1000:.0f}), peak memory +{peak_mb() - before:.0f} MB over {before:.0f} MB")

    class Settings:
        max_image_pixels = 40_000_000

    for name, content_type in (("intro-video.mp4", "video/mp4"), ("brand-guidelines.pdf", "application/pdf")):
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            preview = await previews.preview_of(Settings, ASSETS / name, content_type)
            times.append(time.perf_counter() - start)
        assert preview, name
        print(f"preview of {name}: {len(preview) / 1024:.0f} KB WebP, median {statistics.median(times) * 1000:.0f} ms;"
              f" children's peak memory {peak_mb(resource.RUSAGE_CHILDREN):.0f} MB"
              f" (limit {previews.MEMORY_LIMIT // 2**20} MB)")


if __name__ == "__main__":
    asyncio.run(main())
