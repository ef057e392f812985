"""Invoice arithmetic and the parsing of what staff type: pure functions, no database.

The rule (also in the README):
- a line's net amount is quantity x unit price, rounded half up to the cent;
- a line's tax is its net amount x rate / 100, rounded half up to the cent;
- the invoice's subtotal is the sum of the nets, its tax the sum of the lines' taxes,
  its total the two together.
All of it in ``decimal``; amounts are kept as integer cents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

#: The currencies an invoice may be in (the ones ``money`` prints with their symbol).
CURRENCIES = {"usd": "US dollar ($)", "eur": "Euro (€)", "gbp": "Pound sterling (£)"}

#: Digits with at most two decimals after a dot: 3, 2.5, 1250.00.
_DECIMAL = re.compile(r"\d{1,12}(\.\d{1,2})?")
#: The largest quantity the column holds (Numeric(10, 2)) and a generous price ceiling.
MAX_QUANTITY = Decimal("99999999.99")
MAX_UNIT_CENTS = 100_000_000_000  # 1,000,000,000.00
_ONE = Decimal("1")


class BadNumber(ValueError):
    """What was typed is not a number of the expected shape; the message says why."""


def _decimal(raw: str, what: str, example: str) -> Decimal:
    text = (raw or "").strip()
    if not text:
        raise BadNumber(f"Enter the {what}.")
    if not _DECIMAL.fullmatch(text):
        if text.startswith("-"):
            raise BadNumber(f"The {what} cannot be negative.")
        raise BadNumber(f"Enter the {what} as a number with at most two decimals, like {example}.")
    return Decimal(text)


def parse_quantity(raw: str) -> Decimal:
    """A quantity above 0 with at most two decimals ("2.5")."""
    value = _decimal(raw, "quantity", "1 or 2.5")
    if value <= 0:
        raise BadNumber("The quantity must be more than 0.")
    if value > MAX_QUANTITY:
        raise BadNumber("That quantity is too large.")
    return value


def parse_price_cents(raw: str) -> int:
    """A unit price of 0 or more, typed like "1250.00", as cents."""
    value = _decimal(raw, "unit price", "1250.00")
    cents = int(value * 100)
    if cents > MAX_UNIT_CENTS:
        raise BadNumber("That price is too large.")
    return cents


def parse_rate(raw: str) -> Decimal:
    """A tax rate in percent, 0 to 100 with at most two decimals; empty means 0."""
    if not (raw or "").strip():
        return Decimal("0")
    value = _decimal(raw, "tax rate", "20 or 7.5")
    if value > 100:
        raise BadNumber("The tax rate is a percentage from 0 to 100.")
    return value


def round_cents(value: Decimal) -> int:
    """Half up to a whole cent (0.5 cent goes up)."""
    return int(value.quantize(_ONE, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class LineAmounts:
    net_cents: int
    tax_cents: int


def line_amounts(quantity: Decimal, unit_cents: int, rate: Decimal) -> LineAmounts:
    net = round_cents(Decimal(quantity) * Decimal(unit_cents))
    tax = round_cents(Decimal(net) * Decimal(rate) / 100)
    return LineAmounts(net, tax)


@dataclass(frozen=True)
class Totals:
    subtotal_cents: int
    tax_cents: int
    total_cents: int


def totals(lines: list[LineAmounts]) -> Totals:
    subtotal = sum(line.net_cents for line in lines)
    tax = sum(line.tax_cents for line in lines)
    return Totals(subtotal, tax, subtotal + tax)


def decimal_input(value: Decimal | float | int | None) -> str:
    """A stored decimal as the form shows it again: 2.5, 20, 7.25."""
    if value is None:
        return ""
    text = format(Decimal(str(value)).quantize(Decimal("0.01")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def cents_input(cents: int) -> str:
    """Cents as the price field shows them: 1250.00."""
    return f"{cents // 100}.{cents % 100:02d}"
