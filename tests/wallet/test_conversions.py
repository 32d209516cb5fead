"""Currency conversion: the contract's decimal rule, the FX account, both sides under one transaction id."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.adapters import clock, outbox
from chalicelib.services.wallet import step_up
from chalicelib.store.wallet import LedgerEntry, TransactionRecord
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.users import make_user, signed_in
from tests.helpers.wallet import add_card, balances, top_up
from tests.wallet.test_payments import assert_balanced, counter, funded, pay, wallet_limit


def convert(client, headers, amount, from_currency="CNY", to_currency="USD", key=None):
    payload = {"from_currency": from_currency, "to_currency": to_currency, "amount": amount}
    return post_json(client, "/me/conversions", payload, {**headers, "Idempotency-Key": key or uuid.uuid4().hex})


def test_a_conversion_answers_the_debit_with_fx_and_credits_the_other_currency(client, seeded):
    user, headers = funded(client, 100_000)
    response = convert(client, headers, 10_000)  # 100.00 CNY at 0.1380 → 13.80 USD
    assert response.status_code == 201
    item = body_of(response)
    assert (item["type"], item["direction"], item["amount"], item["currency"]) == ("conversion", "debit", 10_000, "CNY")
    assert item["balance_after"] == 90_000
    assert item["fx"] == {
        "rate": "0.138",
        "from": {"amount": 10_000, "currency": "CNY"},
        "to": {"amount": 1_380, "currency": "USD"},
    }
    assert balances(client, headers) == {"CNY": 90_000, "HKD": 0, "USD": 1_380, "EUR": 0, "JPY": 0}
    entries = assert_balanced(item["transaction_id"])
    mine = sorted(
        (e.direction, e.currency, int(e.amount), int(e.balance_after))
        for e in entries
        if e.account_type == "user_wallet"
    )
    assert mine == [("credit", "USD", 1_380, 1_380), ("debit", "CNY", 10_000, 90_000)]
    fx_legs = sorted((e.direction, e.currency, int(e.amount)) for e in entries if e.account_type == "system")
    assert fx_legs == [("credit", "CNY", 10_000), ("debit", "USD", 1_380)]
    assert {e.account_id.rsplit("#", 1)[0] for e in entries if e.account_type == "system"} == {"system#fx"}
    assert all(e.fx == item["fx"] for e in entries if e.account_type == "user_wallet")
    assert TransactionRecord.get(item["transaction_id"]).details["fx"] == item["fx"]
    # history: a debit and a credit sharing one transaction id
    history = [e for e in LedgerEntry.query(f"user#{user.user_id}") if e.type == "conversion"]
    assert {e.transaction_id for e in history} == {item["transaction_id"]} and len(history) == 2


@pytest.mark.parametrize(
    ("amount", "from_currency", "to_currency", "to_amount", "rate"),
    [
        (10_000, "CNY", "JPY", 2_105, "21.05"),  # exponents 2 → 0: 100 CNY × 21.05
        (100, "USD", "CNY", 724, "7.246376811594203"),  # 1.00 USD → 7.2463… CNY, floored
        (1_000, "JPY", "CNY", 4_750, "0.04750593824228029"),  # 1,000 JPY → 47.5059… CNY
        (1, "USD", "JPY", 1, "152.536231884058"),  # 0.01 USD → 1.525 JPY → 1
        (12_345, "HKD", "EUR", 1_467, "0.1188940092165899"),
    ],
)
def test_to_amount_is_floored_once_in_decimal(client, seeded, amount, from_currency, to_currency, to_amount, rate):
    _, headers = funded(client, 1_000_000, from_currency)
    item = body_of(convert(client, headers, amount, from_currency, to_currency))
    assert item["fx"]["to"] == {"amount": to_amount, "currency": to_currency}
    assert item["fx"]["rate"] == rate
    assert balances(client, headers)[to_currency] == to_amount


def test_less_than_one_minor_unit_is_amount_too_small_before_the_balance(client, seeded):
    _, headers = funded(client, 100)
    assert_error(convert(client, headers, 1, "JPY", "USD"), 422, "amount_too_small")  # 0.655 cent; no JPY held
    _, rich = funded(client, 1_000, "JPY")
    assert_error(convert(client, rich, 1, "JPY", "USD"), 422, "amount_too_small")
    assert balances(client, rich)["JPY"] == 1_000


def test_the_same_currency_is_400_and_not_stored(client, seeded):
    _, headers = funded(client, 10_000)
    error = assert_error(convert(client, headers, 100, "CNY", "CNY", key="c"), 400, "validation_error")
    assert error["field"] == "to_currency"
    assert convert(client, headers, 100, "CNY", "HKD", key="c").status_code == 201


@pytest.mark.parametrize(
    "payload",
    [
        {"from_currency": "CNY", "to_currency": "GBP", "amount": 100},
        {"from_currency": "CNY", "to_currency": "USD", "amount": 0},
        {"from_currency": "CNY", "to_currency": "USD", "amount": "100"},
        {"from_currency": "CNY", "to_currency": "USD"},
        {"from_currency": "CNY", "to_currency": "USD", "amount": 1, "rate": "9"},
    ],
)
def test_a_malformed_conversion_is_400(client, seeded, payload):
    _, headers = funded(client, 10_000)
    response = post_json(client, "/me/conversions", payload, {**headers, "Idempotency-Key": "k"})
    assert_error(response, 400, "validation_error")
    assert balances(client, headers)["CNY"] == 10_000


def test_level_0_may_not_convert(client, seeded):
    headers = signed_in(make_user())
    top_up(client, headers, add_card(client, headers), 10_000)
    assert_error(convert(client, headers, 100, key="k"), 403, "kyc_required")
    replay = convert(client, headers, 100, key="k")
    assert replay.status_code == 403 and replay.headers.get("Idempotent-Replayed") == "true"
    assert balances(client, headers)["CNY"] == 10_000


def test_more_than_the_balance_is_insufficient_funds(client, seeded):
    _, headers = funded(client, 10_000)
    assert_error(convert(client, headers, 10_001), 422, "insufficient_funds")
    assert_error(convert(client, headers, 100, "EUR", "CNY"), 422, "insufficient_funds")  # none held


def test_the_same_key_replays_the_conversion_and_moves_money_once(client, seeded):
    _, headers = funded(client, 10_000)
    first = convert(client, headers, 1_000, key="fx-1")
    again = convert(client, headers, 1_000, key="fx-1")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert body_of(again) == body_of(first)
    assert balances(client, headers)["CNY"] == 9_000 and balances(client, headers)["USD"] == 138
    assert_error(convert(client, headers, 1_000, "CNY", "EUR", key="fx-1"), 422, "idempotency_key_reused")
    assert_error(
        post_json(client, "/me/conversions", {"from_currency": "CNY", "to_currency": "USD", "amount": 1}, headers),
        400,
        "idempotency_key_required",
    )


def test_conversions_count_towards_neither_the_limit_nor_the_step_up_budget(client, seeded):
    user, headers = funded(client, 500_000, level=1)
    assert convert(client, headers, 400_000, "CNY", "HKD").status_code == 201  # 4,000 CNY: no step-up
    assert wallet_limit(client, headers)["used"] == 0
    assert counter(step_up.budget_counter_id(user.user_id, clock.now())) == 0
    assert pay(client, headers, 100_000).status_code == 201  # the whole budget and limit still there


def test_converting_back_and_forth_keeps_each_currency_balanced(client, seeded):
    _, headers = funded(client, 100_000)
    there = body_of(convert(client, headers, 100_000, "CNY", "JPY"))
    back = body_of(convert(client, headers, there["fx"]["to"]["amount"], "JPY", "CNY"))
    assert back["fx"]["to"]["amount"] <= 100_000  # flooring never creates money
    assert balances(client, headers) == {"CNY": back["fx"]["to"]["amount"], "HKD": 0, "USD": 0, "EUR": 0, "JPY": 0}
    for item in (there, back):
        assert_balanced(item["transaction_id"])


def test_a_conversion_above_5000_cny_tells_the_user_in_their_language(client, seeded):
    user, headers = funded(client, 2_000_000)
    user.locale = "zh-CN"
    user.save()
    outbox.clear()
    assert convert(client, headers, 500_000, "CNY", "USD").status_code == 201
    assert outbox.messages(user.phone) == []
    assert convert(client, headers, 500_001, "CNY", "USD").status_code == 201
    sms = [m.body for m in outbox.messages(user.phone)]
    assert len(sms) == 1 and "5,000.01 CNY" in sms[0] and "支出" in sms[0]
    assert any("兑换为 USD" in m.body for m in outbox.messages(user.email))
