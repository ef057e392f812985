"""Formatting shared by views, services and templates (no web, no database)."""

from __future__ import annotations


def size_label(size: int) -> str:
    """A byte count as people read it: 845 bytes, 12 KB, 3.4 MB."""
    if size < 1024:
        return f"{size} byte" if size == 1 else f"{size} bytes"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if size >= 10 else f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


#: The currencies whose amounts are written with a symbol.
CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


def money(cents: int, currency: str = "usd") -> str:
    """An amount as people read it: $1,250.00, or 1,250.00 CHF for other currencies."""
    symbol = CURRENCY_SYMBOLS.get(currency.lower())
    amount = f"{cents / 100:,.2f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency.upper()}"
