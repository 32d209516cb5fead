"""Bank cards and top-ups: Luhn, password, duplicates, the bank simulator, idempotency, the ledger."""

from __future__ import annotations

import re

import boto3
import pytest

from chalicelib.adapters import outbox
from chalicelib.store.wallet import LedgerEntry, TransactionRecord
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.users import PASSWORD, make_user, signed_in
from tests.helpers.wallet import DECLINED_CARD, GOOD_CARD, NO_FUNDS_CARD, add_card, balances, top_up


def card_payload(**fields):
    return {"type": "bank_card", "card_number": GOOD_CARD, "holder_name": "张三", "password": PASSWORD, **fields}


def test_a_card_is_stored_as_a_token_and_its_last_four_digits(client, stage):
    user = make_user()
    headers = signed_in(user)
    response = post_json(client, "/me/funding-sources", card_payload(bank_name="工商银行"), headers)
    assert response.status_code == 201
    card = body_of(response)
    assert card["last4"] == "0128" and card["bank_name"] == "工商银行" and card["holder_name"] == "张三"
    assert GOOD_CARD not in response.body.decode()
    listed = body_of(client.get("/me/funding-sources", headers=headers))["data"]
    assert [c["funding_source_id"] for c in listed] == [card["funding_source_id"]]
    for table in ("funding-sources", "claims", "idempotency"):
        items = boto3.client("dynamodb").scan(TableName=f"okpay-local-{table}")["Items"]
        assert GOOD_CARD not in str(items), table
    assert any("bank cards" in message.body for message in outbox.messages(user.phone))  # both contacts told
    assert any("0128" in message.body for message in outbox.messages(user.email))


@pytest.mark.parametrize("number", ["6222021234567890127", "1234", "62220212345678901280000", "abcd1234abcd1234"])
def test_a_number_failing_luhn_or_length_is_400(client, stage, number):
    headers = signed_in(make_user())
    assert_error(
        post_json(client, "/me/funding-sources", card_payload(card_number=number), headers), 400, "validation_error"
    )


def test_adding_a_card_needs_the_password(client, stage):
    headers = signed_in(make_user())
    assert_error(
        post_json(client, "/me/funding-sources", card_payload(password="wrong"), headers), 422, "invalid_password"
    )
    assert body_of(client.get("/me/funding-sources", headers=headers))["data"] == []


def test_the_same_card_twice_is_409(client, stage):
    headers = signed_in(make_user())
    add_card(client, headers)
    response = post_json(client, "/me/funding-sources", card_payload(card_number="6222 0212 3456 7890 128"), headers)
    assert_error(response, 409, "funding_source_exists")


def test_removing_a_card_and_another_users_card_is_404(client, stage):
    headers = signed_in(make_user())
    other_headers = signed_in(make_user())
    card = add_card(client, headers)
    assert_error(client.delete(f"/me/funding-sources/{card}", headers=other_headers), 404, "not_found")
    assert client.delete(f"/me/funding-sources/{card}", headers=headers).status_code == 204
    assert_error(client.delete(f"/me/funding-sources/{card}", headers=headers), 404, "not_found")
    add_card(client, headers)  # it can be added again


def test_a_top_up_credits_the_wallet_through_a_balanced_ledger_transaction(client, stage):
    headers = signed_in(make_user())
    card = add_card(client, headers)
    response = top_up(client, headers, card, 12_345)
    assert response.status_code == 201
    item = body_of(response)
    assert (item["type"], item["direction"], item["amount"], item["currency"]) == ("topup", "credit", 12_345, "CNY")
    assert item["balance_after"] == 12_345 and item["counterparty"]["last4"] == "0128"
    assert balances(client, headers)["CNY"] == 12_345
    second = body_of(top_up(client, headers, card, 55, "JPY"))
    assert second["balance_after"] == 55 and balances(client, headers)["JPY"] == 55
    header = TransactionRecord.get(item["transaction_id"])
    assert sum(leg["amount"] * (1 if leg["direction"] == "credit" else -1) for leg in header.legs) == 0
    entries = list(LedgerEntry.by_transaction.query(item["transaction_id"]))
    assert {e.account_type for e in entries} == {"user_wallet", "system"}
    assert [e.account_id.rsplit("#", 1)[0] for e in entries if e.account_type == "system"] == ["system#bank_clearing"]


def test_a_top_up_needs_an_idempotency_key(client, stage):
    headers = signed_in(make_user())
    card = add_card(client, headers)
    payload = {"funding_source_id": card, "amount": 100, "currency": "CNY"}
    assert_error(post_json(client, "/me/topups", payload, headers), 400, "idempotency_key_required")
    assert_error(
        post_json(client, "/me/topups", payload, {**headers, "Idempotency-Key": ""}), 400, "idempotency_key_required"
    )
    assert_error(
        post_json(client, "/me/topups", payload, {**headers, "Idempotency-Key": "x" * 256}),
        400,
        "idempotency_key_required",
    )


def test_the_same_key_replays_the_first_answer_and_moves_money_once(client, stage):
    headers = signed_in(make_user())
    card = add_card(client, headers)
    first = top_up(client, headers, card, 500, key="order-1")
    again = top_up(client, headers, card, 500, key="order-1")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert body_of(again) == body_of(first) and "Idempotent-Replayed" not in first.headers
    assert balances(client, headers)["CNY"] == 500
    assert_error(top_up(client, headers, card, 501, key="order-1"), 422, "idempotency_key_reused")
    other_headers = signed_in(make_user())  # keys are per user
    other_card = add_card(client, other_headers)
    assert top_up(client, other_headers, other_card, 500, key="order-1").status_code == 201


@pytest.mark.parametrize(
    ("number", "code"), [(DECLINED_CARD, "card_declined"), (NO_FUNDS_CARD, "bank_insufficient_funds")]
)
def test_the_bank_simulators_declines_are_402_and_replayed(client, stage, number, code):
    headers = signed_in(make_user())
    card = add_card(client, headers, number=number)
    assert_error(top_up(client, headers, card, 100, key="k"), 402, code)
    replay = top_up(client, headers, card, 100, key="k")
    assert replay.status_code == 402 and replay.headers.get("Idempotent-Replayed") == "true"
    assert balances(client, headers)["CNY"] == 0


def test_a_bad_body_is_not_stored_so_the_key_can_be_used_again(client, stage):
    headers = signed_in(make_user())
    card = add_card(client, headers)
    bad = post_json(
        client,
        "/me/topups",
        {"funding_source_id": card, "amount": 1.5, "currency": "CNY"},
        {**headers, "Idempotency-Key": "k"},
    )
    assert_error(bad, 400, "validation_error", field="amount")
    assert top_up(client, headers, card, 15, key="k").status_code == 201


def test_another_users_card_is_404(client, stage):
    headers = signed_in(make_user())
    other_headers = signed_in(make_user())
    card = add_card(client, other_headers)
    assert_error(top_up(client, headers, card, 100), 404, "not_found")
    assert_error(top_up(client, headers, "fs_nope", 100), 404, "not_found")


@pytest.mark.parametrize(
    "body", [{"amount": 0}, {"amount": 10**12 + 1}, {"amount": True}, {"currency": "GBP"}, {"ammount": 1}]
)
def test_money_rules_are_400(client, stage, body):
    headers = signed_in(make_user())
    card = add_card(client, headers)
    payload = {"funding_source_id": card, "amount": 100, "currency": "CNY", **body}
    assert_error(post_json(client, "/me/topups", payload, {**headers, "Idempotency-Key": "k"}), 400, "validation_error")


def test_the_wallet_lists_every_currency_and_no_limits_before_kyc(client, stage):
    headers = signed_in(make_user())
    body = body_of(client.get("/me/wallet", headers=headers))
    assert [b["currency"] for b in body["balances"]] == ["CNY", "HKD", "USD", "EUR", "JPY"]
    assert all(b["available"] == 0 for b in body["balances"]) and body["limits"] == []


def test_top_ups_and_payments_by_different_users_share_no_item(client, seeded):
    """No hot items: a movement touches only its user's items and uniquely keyed entries, never a
    shared system or merchant balance, so the platform is not capped by one item's write rate."""
    from chalicelib.store.base import shared_connection
    from chalicelib.store.kyc import KycRecord

    captured = []
    events = shared_connection().client.meta.events
    events.register("provide-client-params.dynamodb.TransactWriteItems", lambda params, **_: captured.append(params))
    users = []
    for _ in range(4):
        user = make_user()
        headers = signed_in(user)
        KycRecord(user.user_id, "current", status="approved", level=3, approved_real_name="张三").save()
        users.append((headers, add_card(client, headers)))

    def top_up_then_pay(entry):
        headers, card = entry
        top_up(client, headers, card, 5_000)
        payment = {"merchant_id": "mer_morning_cafe", "amount": 1_000, "currency": "CNY", "order_reference": "coffee"}
        return post_json(client, "/payments", payment, {**headers, "Idempotency-Key": "pay"}).status_code

    try:
        # In turn: chalice.test.Client shares one current request between threads. The real
        # concurrency runs over HTTP in test_bank_workload.py; here what matters is which items.
        assert [top_up_then_pay(entry) for entry in users] == [201] * 4
    finally:
        events.unregister("provide-client-params.dynamodb.TransactWriteItems")
    owners: dict[tuple[str, str], set[str]] = {}
    for params in captured:
        transaction_keys = []
        for item in params["TransactItems"]:
            operation = next(iter(item.values()))
            key = operation.get("Key") or {
                name: value
                for name, value in operation["Item"].items()
                if name in ("account_id", "currency", "entry_key", "object_id", "idempotency_id", "claim", "counter_id")
            }
            transaction_keys.append((operation["TableName"], str(sorted(key.items()))))
        # The user the movement is for: in its balance key, or (a top-up's attempt) its idempotency key.
        payer = next(re.search(r"usr_\w+", key).group() for _, key in transaction_keys if "usr_" in key)
        for key in transaction_keys:
            owners.setdefault(key, set()).add(payer)
    assert len(captured) == 12  # a top-up is two: its attempt (before the charge), then its posting
    shared = {key: users for key, users in owners.items() if len(users) > 1}
    assert not shared, f"items written by more than one user's movements: {shared}"
