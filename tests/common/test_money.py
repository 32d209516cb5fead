"""Exponents and the contract's FX rule: one floor rounding in decimal arithmetic."""

from __future__ import annotations

import pytest

from chalicelib.errors import OkpayError
from chalicelib.services.common.money import EXPONENTS, convert_amount, format_amount

RATES = {"CNY": "1", "HKD": "1.0850", "USD": "0.1380", "EUR": "0.1290", "JPY": "21.0500"}


def test_iso_4217_exponents():
    assert EXPONENTS == {"CNY": 2, "HKD": 2, "USD": 2, "EUR": 2, "JPY": 0}


@pytest.mark.parametrize(
    ("amount", "source", "target", "expected"),
    [
        (10000, "CNY", "USD", 1380),  # 100.00 CNY -> 13.80 USD
        (10000, "CNY", "JPY", 2105),  # 100.00 CNY -> 2105 JPY (exponent 2 -> 0)
        (2105, "JPY", "CNY", 10000),  # and back
        (1000, "USD", "CNY", 7246),  # 10.00 USD -> 72.463... CNY, floored
        (1, "CNY", "JPY", None),  # 0.2105 JPY floors to nothing
    ],
)
def test_conversion_floors_once(amount, source, target, expected):
    if expected is None:
        with pytest.raises(OkpayError) as caught:
            convert_amount(amount, source, target, RATES)
        assert caught.value.code == "amount_too_small"
    else:
        assert convert_amount(amount, source, target, RATES) == expected


def test_largest_amount_converts_exactly():
    assert convert_amount(10**12, "CNY", "JPY", RATES) == 210_500_000_000


def test_amounts_are_formatted_only_for_people():
    assert format_amount(123456, "CNY") == "1,234.56 CNY"
    assert format_amount(2105, "JPY") == "2,105 JPY"
