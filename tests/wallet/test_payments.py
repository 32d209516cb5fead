"""Merchant payments: the contract's check order, order references, limits, step-up, idempotency, the ledger."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

import pyotp
import pytest

from chalicelib.adapters import clock, outbox
from chalicelib.services.identity import reauth, totp
from chalicelib.services.wallet import ledger, step_up
from chalicelib.store.counters import Counter
from chalicelib.store.kyc import KycRecord
from chalicelib.store.users import Claim
from chalicelib.store.wallet import LedgerEntry, TransactionRecord
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.users import PASSWORD, make_user, signed_in
from tests.helpers.wallet import add_card, balances, top_up

CAFE = "mer_morning_cafe"  # CNY only
TRAVEL = "mer_global_travel"  # CNY, USD, EUR, JPY, HKD


# --- helpers shared by the payments, withdrawals and conversions tests ---------------------------


def verified(level: int = 2, name: str = "张三", locale: str = "en"):
    """A signed-in user with approved KYC at `level` (level 0: never verified)."""
    user = make_user(locale=locale)
    headers = signed_in(user)
    if level:
        KycRecord(user.user_id, "current", status="approved", level=level, approved_real_name=name).save()
    return user, headers


def funded(client, amount: int = 1_000_000, currency: str = "CNY", level: int = 2, name: str = "张三"):
    user, headers = verified(level=level, name=name)
    card = add_card(client, headers, holder=name)
    assert top_up(client, headers, card, amount, currency).status_code == 201
    return user, headers


def with_totp(user) -> str:
    """Turn the user's authenticator app on directly; the secret to make codes with."""
    secret = pyotp.random_base32()
    user.totp_secret = totp.seal_secret(user.user_id, secret)
    user.save()
    return secret


def assert_balanced(transaction_id: str) -> list[LedgerEntry]:
    """The transaction's entries sum to zero in each currency; header legs match the entries."""
    entries = list(LedgerEntry.by_transaction.query(transaction_id))
    sums: dict[str, int] = defaultdict(int)
    for entry in entries:
        sums[entry.currency] += int(entry.amount) * (1 if entry.direction == "credit" else -1)
    assert entries and all(total == 0 for total in sums.values()), dict(sums)
    header = TransactionRecord.get(transaction_id)
    assert sorted(leg["entry_key"] for leg in header.legs) == sorted(e.entry_key for e in entries)
    return entries


def counter(counter_id: str) -> int:
    try:
        return int(Counter.get(counter_id, consistent_read=True).count)
    except Counter.DoesNotExist:
        return 0


def wallet_limit(client, headers) -> dict:
    return body_of(client.get("/me/wallet", headers=headers))["limits"][0]


def pay(client, headers, amount, currency="CNY", merchant=CAFE, ref=None, key=None, **extra):
    payload = {
        "merchant_id": merchant,
        "amount": amount,
        "currency": currency,
        "order_reference": ref or uuid.uuid4().hex,
        **extra,
    }
    return post_json(client, "/payments", payload, {**headers, "Idempotency-Key": key or uuid.uuid4().hex})


# --- the happy path and the ledger ------------------------------------------------------------


def test_a_payment_debits_the_payer_and_credits_the_merchant_in_one_balanced_transaction(client, seeded):
    user, headers = funded(client, 100_000)
    response = pay(client, headers, 2_550, ref="A-1", description="Latte x2")
    assert response.status_code == 201
    item = body_of(response)
    assert (item["type"], item["direction"], item["amount"], item["currency"]) == ("payment", "debit", 2_550, "CNY")
    assert item["status"] == "completed" and item["balance_after"] == 97_450
    assert item["counterparty"] == {"kind": "merchant", "id": CAFE, "name": "Morning Light Cafe"}
    assert item["description"] == "Latte x2" and item["created_at"].endswith("+08:00")
    assert balances(client, headers)["CNY"] == 97_450
    entries = assert_balanced(item["transaction_id"])
    merchant = [e for e in entries if e.account_type == "merchant"]
    assert len(merchant) == 1 and merchant[0].direction == "credit" and int(merchant[0].amount) == 2_550
    prefix, shard = merchant[0].account_id.rsplit("#", 1)
    assert prefix == f"merchant#{CAFE}" and shard.isdigit() and len(shard) == 2  # sharded: no hot item
    mine = [e for e in entries if e.account_type == "user_wallet"]
    assert [(e.account_id, e.entry_id, int(e.balance_after)) for e in mine] == [
        (f"user#{user.user_id}", item["entry_id"], 97_450)
    ]
    header = TransactionRecord.get(item["transaction_id"])
    assert header.type == "payment" and header.parties == [user.user_id]
    assert header.details["merchant_id"] == CAFE and header.details["order_reference"] == "A-1"
    assert Claim.get(f"order#{user.user_id}#{CAFE}#A-1").user_id == user.user_id


def test_the_description_defaults_to_the_merchant_in_the_callers_language(client, seeded):
    _, headers = funded(client)
    english = body_of(pay(client, headers, 100))
    chinese = body_of(pay(client, {**headers, "Accept-Language": "zh-CN"}, 100))
    assert english["description"] == "Payment to Morning Light Cafe"
    assert chinese["description"] == "向晨光咖啡付款" and chinese["counterparty"]["name"] == "晨光咖啡"


def test_a_payment_counts_towards_the_kyc_limit_in_cny_equivalent_rounded_up(client, seeded):
    _, headers = funded(client, 10_000, "USD")
    before = wallet_limit(client, headers)
    assert pay(client, headers, 1_000, "USD", merchant=TRAVEL).status_code == 201
    after = wallet_limit(client, headers)
    # 10.00 USD at 0.1380 per CNY = 72.4637… CNY → 7,247 fen, rounded up
    assert after["used"] - before["used"] == 7_247
    assert balances(client, headers)["USD"] == 9_000


# --- idempotency -------------------------------------------------------------------------------


def test_the_same_key_replays_the_payment_and_moves_money_once(client, seeded):
    user, headers = funded(client, 10_000)
    first = pay(client, headers, 1_000, ref="R-1", key="pay-1")
    again = pay(client, headers, 1_000, ref="R-1", key="pay-1")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert body_of(again) == body_of(first)
    assert balances(client, headers)["CNY"] == 9_000
    assert [e.type for e in LedgerEntry.query(f"user#{user.user_id}")].count("payment") == 1
    assert_error(pay(client, headers, 1_001, ref="R-1", key="pay-1"), 422, "idempotency_key_reused")
    # `authorization` is not part of the fingerprint
    replay = pay(client, headers, 1_000, ref="R-1", key="pay-1", authorization={"password": PASSWORD})
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert balances(client, headers)["CNY"] == 9_000


def test_a_payment_needs_an_idempotency_key(client, seeded):
    _, headers = funded(client, 10_000)
    payload = {"merchant_id": CAFE, "amount": 100, "currency": "CNY", "order_reference": "x"}
    assert_error(post_json(client, "/payments", payload, headers), 400, "idempotency_key_required")
    assert balances(client, headers)["CNY"] == 10_000


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 1.5},
        {"amount": 0},
        {"currency": "GBP"},
        {"order_reference": ""},
        {"order_reference": "a\nb"},
        {"merchant": None},
        {"authorization": {}},
        {"authorization": {"password": PASSWORD, "totp": "123456"}},
        {"authorization": {"passwd": PASSWORD}},
        {"ammount": 1},
    ],
)
def test_a_malformed_payment_is_400_and_not_stored(client, seeded, change):
    _, headers = funded(client, 10_000)
    payload = {"merchant_id": CAFE, "amount": 100, "currency": "CNY", "order_reference": "o-1", **change}
    if payload.pop("merchant", "") is None:
        del payload["merchant_id"]
    bad = post_json(client, "/payments", payload, {**headers, "Idempotency-Key": "k"})
    assert_error(bad, 400, "validation_error")
    good = pay(client, headers, 100, ref="o-1", key="k")  # the key was not used up
    assert good.status_code == 201 and "Idempotent-Replayed" not in good.headers


# --- the check order ---------------------------------------------------------------------------


def test_level_0_is_kyc_required_before_anything_else_and_the_refusal_is_replayed(client, seeded):
    headers = signed_in(make_user())
    card = add_card(client, headers)
    top_up(client, headers, card, 10_000)
    response = pay(client, headers, 100, merchant="mer_nope", ref="o", key="k0")
    assert_error(response, 403, "kyc_required")
    replay = pay(client, headers, 100, merchant="mer_nope", ref="o", key="k0")
    assert replay.status_code == 403 and replay.headers.get("Idempotent-Replayed") == "true"
    assert balances(client, headers)["CNY"] == 10_000


def test_an_unknown_merchant_is_404(client, seeded):
    _, headers = funded(client, 10_000)
    assert_error(pay(client, headers, 100, merchant="mer_nope"), 404, "not_found")
    assert_error(pay(client, headers, 100, "USD", merchant="mer_nope"), 404, "not_found")  # before currency


def test_an_order_reference_is_paid_once_per_payer_and_merchant(client, seeded):
    _, headers = funded(client, 10_000)
    assert pay(client, headers, 100, ref="ORDER-7").status_code == 201
    error = assert_error(pay(client, headers, 100, ref="ORDER-7"), 409, "already_paid")
    assert "details" not in error
    # before the currency, the balance and the limit
    assert_error(pay(client, headers, 100, "USD", ref="ORDER-7"), 409, "already_paid")
    assert_error(pay(client, headers, 10**9, ref="ORDER-7"), 409, "already_paid")
    assert pay(client, headers, 100, merchant=TRAVEL, ref="ORDER-7").status_code == 201  # other merchant
    _, other = funded(client, 10_000)
    assert pay(client, other, 100, ref="ORDER-7").status_code == 201  # other payer
    assert balances(client, headers)["CNY"] == 9_800


def test_a_currency_the_merchant_does_not_take_is_422_before_the_balance(client, seeded):
    _, headers = funded(client, 10_000)
    assert_error(pay(client, headers, 100, "HKD"), 422, "currency_not_accepted")  # no HKD held either
    assert pay(client, headers, 100, "CNY", merchant="mer_city_telecom").status_code == 201


def test_no_balance_in_that_currency_is_insufficient_funds_before_the_limit(client, seeded):
    _, headers = funded(client, 10_000, level=1)
    assert_error(pay(client, headers, 100, "EUR", merchant=TRAVEL), 422, "insufficient_funds")
    assert_error(pay(client, headers, 10_001), 422, "insufficient_funds")
    assert_error(pay(client, headers, 200_000), 422, "insufficient_funds")  # also over the limit
    assert balances(client, headers)["CNY"] == 10_000


def test_level_1_has_1000_cny_since_opening_with_details(client, seeded):
    _, headers = funded(client, 500_000, level=1)
    assert pay(client, headers, 60_000).status_code == 201
    error = assert_error(pay(client, headers, 40_001), 422, "limit_exceeded")
    assert error["details"] == {
        "remaining": {"amount": 40_000, "currency": "CNY"},
        "window": "lifetime",
        "resets_at": None,
    }
    assert pay(client, headers, 40_000).status_code == 201  # exactly the cap
    error = assert_error(pay(client, headers, 1), 422, "limit_exceeded")
    assert error["details"]["remaining"] == {"amount": 0, "currency": "CNY"}
    assert balances(client, headers)["CNY"] == 400_000
    assert wallet_limit(client, headers)["remaining"] == 0


def test_level_2_has_100000_cny_a_calendar_year_with_its_reset(client, seeded):
    clock.set_test_clock(datetime.fromisoformat("2026-12-31T23:55:00+08:00"))
    user, headers = funded(client, 500_000, level=2)
    Counter(f"limit#{user.user_id}#year#2026", count=99_900_00).save()
    error = assert_error(pay(client, headers, 100_01), 422, "limit_exceeded")
    assert error["details"] == {
        "remaining": {"amount": 100_00, "currency": "CNY"},
        "window": "year",
        "resets_at": "2027-01-01T00:00:00+08:00",
    }
    assert pay(client, headers, 100_00).status_code == 201
    clock.set_test_clock(datetime.fromisoformat("2027-01-01T00:00:01+08:00"))  # a new Shanghai year
    assert pay(client, headers, 100_00).status_code == 201


def test_the_limit_is_checked_before_the_step_up(client, seeded):
    _, headers = funded(client, 500_000, level=1)
    assert_error(pay(client, headers, 100_001), 422, "limit_exceeded")  # not step_up_required


# --- step-up -----------------------------------------------------------------------------------


def test_past_the_days_budget_a_payment_needs_the_password_and_the_403_is_not_stored(client, seeded):
    user, headers = funded(client, 500_000)
    assert pay(client, headers, 80_000).status_code == 201  # 800 of the day's 1,000 CNY
    assert pay(client, headers, 20_000).status_code == 201  # exactly 1,000: still no step-up
    error = assert_error(pay(client, headers, 1, ref="S-1", key="s1"), 403, "step_up_required")
    assert error["details"] == {"methods": ["password"]}
    assert balances(client, headers)["CNY"] == 400_000
    # the same key again, now with the password: the 403 was not stored
    response = pay(client, headers, 1, ref="S-1", key="s1", authorization={"password": PASSWORD})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    replay = pay(client, headers, 1, ref="S-1", key="s1")
    assert replay.headers.get("Idempotent-Replayed") == "true" and body_of(replay) == body_of(response)
    assert balances(client, headers)["CNY"] == 399_999
    assert counter(step_up.budget_counter_id(user.user_id, clock.now())) == 100_001


def test_a_single_payment_over_the_budget_needs_step_up_and_totp_is_offered_once_enabled(client, seeded):
    user, headers = funded(client, 500_000)
    assert_error(pay(client, headers, 100_001), 403, "step_up_required")
    secret = with_totp(user)
    error = assert_error(pay(client, headers, 100_001, key="t"), 403, "step_up_required")
    assert error["details"] == {"methods": ["password", "totp"]}
    code = pyotp.TOTP(secret).now()
    assert pay(client, headers, 100_001, key="t", authorization={"totp": code}).status_code == 201
    # a TOTP code works once
    assert_error(pay(client, headers, 100_001, authorization={"totp": code}), 422, "invalid_code")
    assert balances(client, headers)["CNY"] == 399_999


def test_a_wrong_password_is_422_a_reauth_and_step_up_failure_not_a_login_failure(client, seeded):
    user, headers = funded(client, 500_000)
    response = pay(client, headers, 150_000, ref="W", key="w", authorization={"password": "not-it"})
    assert_error(response, 422, "invalid_password")
    assert counter(f"login_fail#{user.phone}") == 0  # v1.2: re-auth failures never lock the owner's sign-in
    assert counter(reauth.step_up_failure_counter_id(user.user_id, clock.now())) == 1
    # a stored business outcome: the same key replays it; a new attempt uses a new key
    replay = pay(client, headers, 150_000, ref="W", key="w", authorization={"password": PASSWORD})
    assert replay.status_code == 422 and replay.headers.get("Idempotent-Replayed") == "true"
    assert pay(client, headers, 150_000, ref="W", authorization={"password": PASSWORD}).status_code == 201
    assert balances(client, headers)["CNY"] == 350_000


def test_a_wrong_totp_code_is_invalid_code_with_attempts_left(client, seeded):
    user, headers = funded(client, 500_000)
    secret = with_totp(user)
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 10**6:06d}"
    error = assert_error(pay(client, headers, 150_000, authorization={"totp": wrong}), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 4}
    assert counter(reauth.step_up_failure_counter_id(user.user_id, clock.now())) == 1
    _, no_totp = funded(client, 500_000)  # no authenticator app: any code is wrong
    assert_error(pay(client, no_totp, 150_000, authorization={"totp": "123456"}), 422, "invalid_code")


def test_an_authorization_given_is_checked_even_within_the_budget(client, seeded):
    _, headers = funded(client, 10_000)
    assert_error(pay(client, headers, 100, authorization={"password": "nope"}), 422, "invalid_password")
    assert pay(client, headers, 100, authorization={"password": PASSWORD}).status_code == 201


def test_more_than_ten_wrong_step_ups_in_a_day_block_payments(client, seeded):
    user, headers = funded(client, 500_000)
    Counter(reauth.step_up_failure_counter_id(user.user_id, clock.now()), count=11).save()
    assert_error(pay(client, headers, 100), 403, "forbidden")
    reauth.clear_step_up_failures(user.user_id, clock.now())  # what a password login does
    assert pay(client, headers, 100).status_code == 201


def test_the_step_up_budget_is_per_shanghai_day(client, seeded):
    clock.set_test_clock(datetime.fromisoformat("2026-06-01T23:50:00+08:00"))
    _, headers = funded(client, 500_000)
    assert pay(client, headers, 100_000).status_code == 201
    assert_error(pay(client, headers, 100), 403, "step_up_required")
    clock.set_test_clock(datetime.fromisoformat("2026-06-02T00:00:01+08:00"))
    assert pay(client, headers, 100_000).status_code == 201


# --- races found again by the re-check inside the posting --------------------------------------


def test_a_budget_spent_by_a_concurrent_request_is_step_up_required_not_a_free_pass(client, seeded, monkeypatch):
    """Both requests read the day's budget as unspent; the counter's condition stops the second."""
    user, headers = funded(client, 500_000)
    real_check = step_up.check_authorization

    def concurrent_spend(payer, budget_used, authorization, cny, now, **session):
        result = real_check(payer, budget_used, authorization, cny, now, **session)
        Counter(step_up.budget_counter_id(user.user_id, now), count=90_000).save()  # another 900 CNY landed
        return result

    monkeypatch.setattr(step_up, "check_authorization", concurrent_spend)
    assert_error(pay(client, headers, 50_000, key="race"), 403, "step_up_required")
    assert balances(client, headers)["CNY"] == 500_000
    monkeypatch.setattr(step_up, "check_authorization", real_check)
    ok = pay(client, headers, 50_000, key="race", authorization={"password": PASSWORD})
    assert ok.status_code == 201
    assert balances(client, headers)["CNY"] == 450_000


def test_an_order_paid_by_a_concurrent_request_is_already_paid_and_stored(client, seeded, monkeypatch):
    user, headers = funded(client, 10_000)
    real_check = step_up.check_authorization

    def concurrent_payment(payer, budget_used, authorization, cny, now, **session):
        result = real_check(payer, budget_used, authorization, cny, now, **session)
        # the same order paid meanwhile, for most of the balance: the claim exists and the balance
        # moved, so a plain retry would end in insufficient_funds; the re-check answers already_paid
        Claim(f"order#{user.user_id}#{CAFE}#RACE", user_id=user.user_id, created_at=clock.stamp(now)).save()
        legs = [ledger.Leg("user_wallet", user.user_id, "CNY", -9_950), ledger.Leg("merchant", CAFE, "CNY", 9_950)]
        ledger.post(ledger.Posting("payment", legs, [user.user_id]), now)
        return result

    monkeypatch.setattr(step_up, "check_authorization", concurrent_payment)
    assert_error(pay(client, headers, 100, ref="RACE", key="rk"), 409, "already_paid")
    monkeypatch.setattr(step_up, "check_authorization", real_check)
    replay = pay(client, headers, 100, ref="RACE", key="rk")
    assert replay.status_code == 409 and replay.headers.get("Idempotent-Replayed") == "true"
    assert balances(client, headers)["CNY"] == 50


# --- notices and hot items ---------------------------------------------------------------------


def test_a_debit_above_5000_cny_tells_the_user_by_email_and_sms(client, seeded):
    user, headers = funded(client, 2_000_000)
    assert pay(client, headers, 500_000, authorization={"password": PASSWORD}).status_code == 201
    assert not any("left your Okpay wallet" in m.body for m in outbox.messages(user.phone))
    assert pay(client, headers, 500_001, authorization={"password": PASSWORD}).status_code == 201
    sms = [m.body for m in outbox.messages(user.phone) if "left your Okpay wallet" in m.body]
    emails = [m for m in outbox.messages(user.email) if "left your Okpay wallet" in (m.subject or "")]
    assert len(sms) == 1 and "5,000.01 CNY" in sms[0]
    assert len(emails) == 1 and "Morning Light Cafe" in emails[0].body


def test_payments_by_different_users_to_one_merchant_share_no_item(client, seeded):
    from chalicelib.store.base import shared_connection

    payers = [funded(client, 10_000)[1] for _ in range(3)]
    captured = []
    events = shared_connection().client.meta.events
    events.register("provide-client-params.dynamodb.TransactWriteItems", lambda params, **_: captured.append(params))
    try:
        for headers in payers:
            assert pay(client, headers, 100, ref="same-order").status_code == 201
    finally:
        events.unregister("provide-client-params.dynamodb.TransactWriteItems")
    keys = []
    for params in captured:
        for item in params["TransactItems"]:
            operation = next(iter(item.values()))
            key = operation.get("Key") or {
                k: v
                for k, v in operation["Item"].items()
                if k in ("account_id", "currency", "entry_key", "object_id", "idempotency_id", "claim", "counter_id")
            }
            keys.append((operation["TableName"], str(sorted(key.items()))))
    assert len(captured) == 3
    assert len(keys) == len(set(keys)), "two payments wrote the same item"


def test_replies_match_the_documented_schemas(client, seeded):
    """Every reply of `client` is validated against the served document (tests/helpers/contract.py):
    these make sure a payment, its refusals, a conversion and a withdrawal are among them."""
    document = body_of(client.get("/openapi.json"))
    _, headers = funded(client, 500_000)
    assert pay(client, headers, 100).status_code == 201
    assert pay(client, headers, 200_000).status_code == 403  # step_up_required
    assert pay(client, headers, 10**9).status_code == 422  # insufficient_funds
    payload = {"from_currency": "CNY", "to_currency": "EUR", "amount": 1_000}
    conversion = post_json(client, "/me/conversions", payload, {**headers, "Idempotency-Key": "c"})
    assert conversion.status_code == 201 and body_of(conversion)["fx"]["to"]["currency"] == "EUR"
    card = add_card(client, headers, number="6217000000000000004")
    payload = {"funding_source_id": card, "amount": 100, "currency": "CNY"}
    assert post_json(client, "/me/withdrawals", payload, {**headers, "Idempotency-Key": "w"}).status_code == 201
    operation = document["paths"]["/payments"]["post"]
    assert {"201", "403", "404", "409", "422"} <= set(operation["responses"])
    example = operation["responses"]["201"]["content"]["application/json"]["example"]
    assert example["type"] == "payment" and example["counterparty"]["kind"] == "merchant"
    key = next(p for p in operation["parameters"] if p.get("name") == "Idempotency-Key")
    assert key["required"] is True
    authorization = document["components"]["schemas"]["StepUpAuthorization"]
    assert [shape["required"] for shape in authorization["oneOf"]] == [["password"], ["totp"]]
    assert authorization["additionalProperties"] is False
