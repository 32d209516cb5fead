"""Currencies, their ISO 4217 exponents and the contract's FX rule.

Money is an `int` in minor units from the edge to the table and back; only messages format it.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, localcontext

from chalicelib.errors import OkpayError

# ISO 4217 minor-unit exponents of the currencies Okpay holds.
EXPONENTS: dict[str, int] = {"CNY": 2, "HKD": 2, "USD": 2, "EUR": 2, "JPY": 0}
CURRENCIES: tuple[str, ...] = tuple(EXPONENTS)
MAX_AMOUNT = 10**12
BASE_CURRENCY = "CNY"


def convert_amount(amount: int, from_currency: str, to_currency: str, rates: dict[str, str]) -> int:
    """to_amount = floor(amount × rates[to] / rates[from] × 10^(exp[to] − exp[from])), one rounding.

    `rates` are decimal strings: units of each currency per 1 CNY.
    """
    with localcontext() as context:
        context.prec = 50  # exact for every amount ≤ 10^12 and four-decimal rates
        factor = Decimal(10) ** (EXPONENTS[to_currency] - EXPONENTS[from_currency])
        exact = Decimal(amount) * Decimal(rates[to_currency]) / Decimal(rates[from_currency]) * factor
        to_amount = int(exact.to_integral_value(rounding=ROUND_FLOOR))
    if to_amount < 1:
        raise OkpayError("amount_too_small")
    return to_amount


def format_amount(amount: int, currency: str) -> str:
    """For people: 12345 CNY -> '123.45 CNY'."""
    exponent = EXPONENTS[currency]
    value = Decimal(amount).scaleb(-exponent)
    return f"{value:,.{exponent}f} {currency}"
