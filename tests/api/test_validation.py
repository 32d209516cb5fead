"""Request validation: strict types, the contract's money rules, field names in errors."""

from __future__ import annotations

import pytest

from chalicelib.api.schemas.common import Amount, Currency, RequestBody
from chalicelib.api.validation import parse_json_object, validate
from chalicelib.errors import OkpayError


class Recipient(RequestBody):
    user_id: str


class TransferLike(RequestBody):
    recipient: Recipient
    amount: Amount
    currency: Currency
    note: str | None = None


GOOD = {"recipient": {"user_id": "usr_1"}, "amount": 1250, "currency": "CNY"}


def reason_for(data):
    with pytest.raises(OkpayError) as caught:
        validate(TransferLike, data)
    return caught.value


def test_a_good_body_passes():
    model = validate(TransferLike, GOOD)
    assert model.amount == 1250 and model.currency == "CNY" and model.note is None


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (0, "amount"),
        (-5, "amount"),
        (10**12 + 1, "amount"),
        (12.5, "amount"),
        (1250.0, "amount"),
        ("1250", "amount"),
        (True, "amount"),
        (None, "missing"),
    ],
)
def test_amount_must_be_a_positive_integer_up_to_ten_to_the_twelfth(amount, reason):
    error = reason_for({**GOOD, "amount": amount})
    assert (error.code, error.field, error.reason) == ("validation_error", "amount", reason)


def test_the_largest_amount_is_allowed():
    assert validate(TransferLike, {**GOOD, "amount": 10**12}).amount == 10**12


@pytest.mark.parametrize("currency", ["cny", "RMB", "GBP", "", 156])
def test_currency_must_be_a_supported_iso_code(currency):
    error = reason_for({**GOOD, "currency": currency})
    assert error.field == "currency"
    assert error.reason in ("currency", "string")


def test_typo_fields_are_refused_by_name():
    error = reason_for({**GOOD, "ammount": 5})
    assert (error.field, error.reason) == ("ammount", "unknown_field")


def test_nested_fields_are_named_with_their_path():
    error = reason_for({**GOOD, "recipient": {"user_id": 7}})
    assert (error.field, error.reason) == ("recipient.user_id", "string")
    error = reason_for({**GOOD, "recipient": "usr_1"})
    assert (error.field, error.reason) == ("recipient", "object")


def test_null_optional_field_is_absent():
    assert validate(TransferLike, {**GOOD, "note": None}).note is None


def test_the_first_problem_in_field_order_is_reported():
    error = reason_for({"amount": "x", "currency": "XXX"})
    assert error.field == "recipient"


@pytest.mark.parametrize("raw", [b"", b"  ", None])
def test_no_body_is_an_empty_object(raw):
    assert parse_json_object(raw) == {}


@pytest.mark.parametrize("raw", [b"{", b"[1]", b"Infinity", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_refused(raw):
    with pytest.raises(OkpayError) as caught:
        parse_json_object(raw)
    assert caught.value.code == "validation_error"
