"""Withdrawals to the user's own same-name card: check order, step-up, the bank's payout, the ledger."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.adapters import clock, outbox
from chalicelib.services.identity import reauth
from chalicelib.services.wallet import step_up
from chalicelib.store.wallet import LedgerEntry, TransactionRecord
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.users import PASSWORD, make_user, signed_in
from tests.helpers.wallet import DECLINED_CARD, NO_FUNDS_CARD, add_card, balances, top_up
from tests.wallet.test_payments import assert_balanced, counter, funded, pay, verified, wallet_limit


def withdraw(client, headers, card, amount, currency="CNY", key=None, **extra):
    payload = {"funding_source_id": card, "amount": amount, "currency": currency, **extra}
    return post_json(client, "/me/withdrawals", payload, {**headers, "Idempotency-Key": key or uuid.uuid4().hex})


def card_of(client, headers, holder="张三", number="6217000000000000004"):
    return add_card(client, headers, number=number, holder=holder)


def test_a_withdrawal_debits_the_wallet_to_bank_clearing(client, seeded):
    _, headers = funded(client, 100_000)
    card = card_of(client, headers)
    response = withdraw(client, headers, card, 30_000)
    assert response.status_code == 201
    item = body_of(response)
    assert (item["type"], item["direction"], item["amount"], item["currency"]) == ("withdrawal", "debit", 30_000, "CNY")
    assert item["balance_after"] == 70_000 and item["status"] == "completed"
    assert item["counterparty"]["kind"] == "funding_source" and item["counterparty"]["id"] == card
    assert item["counterparty"]["last4"] == "0004" and item["description"].endswith("ending 0004")
    assert balances(client, headers)["CNY"] == 70_000
    entries = assert_balanced(item["transaction_id"])
    system = [e for e in entries if e.account_type == "system"]
    assert len(system) == 1 and system[0].account_id.rsplit("#", 1)[0] == "system#bank_clearing"
    assert system[0].direction == "credit"
    assert TransactionRecord.get(item["transaction_id"]).details == {"funding_source_id": card}


def test_a_withdrawal_counts_in_the_step_up_budget_but_not_towards_the_kyc_limit(client, seeded):
    user, headers = funded(client, 500_000, level=1)
    card = card_of(client, headers)
    assert withdraw(client, headers, card, 90_000).status_code == 201
    assert wallet_limit(client, headers)["used"] == 0  # own same-name card: not in the KYC limit
    assert counter(step_up.budget_counter_id(user.user_id, clock.now())) == 90_000
    # the budget is shared with payments: 900 + 200 > 1,000 CNY
    assert_error(pay(client, headers, 20_000), 403, "step_up_required")
    assert pay(client, headers, 10_000).status_code == 201


def test_the_same_key_replays_the_withdrawal_and_moves_money_once(client, seeded):
    _, headers = funded(client, 10_000)
    card = card_of(client, headers)
    first = withdraw(client, headers, card, 1_000, key="w1")
    again = withdraw(client, headers, card, 1_000, key="w1")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert body_of(again) == body_of(first)
    assert balances(client, headers)["CNY"] == 9_000
    assert_error(withdraw(client, headers, card, 1_000, "HKD", key="w1"), 422, "idempotency_key_reused")
    assert_error(
        post_json(client, "/me/withdrawals", {"funding_source_id": card, "amount": 1, "currency": "CNY"}, headers),
        400,
        "idempotency_key_required",
    )


# --- the check order ---------------------------------------------------------------------------


def test_level_0_is_kyc_required_before_the_card_is_looked_at(client, seeded):
    headers = signed_in(make_user())
    card = add_card(client, headers)
    top_up(client, headers, card, 10_000)
    assert_error(withdraw(client, headers, card, 100), 403, "kyc_required")
    assert_error(withdraw(client, headers, "fs_nope", 100), 403, "kyc_required")
    assert balances(client, headers)["CNY"] == 10_000


def test_an_unknown_or_another_users_card_is_404(client, seeded):
    _, headers = funded(client, 10_000)
    _, other = verified()
    others_card = card_of(client, other)
    assert_error(withdraw(client, headers, others_card, 100), 404, "not_found")
    assert_error(withdraw(client, headers, "fs_nope", 10**9), 404, "not_found")  # before the balance


@pytest.mark.parametrize("holder", ["李四", "张 三 丰", "Zhang San"])
def test_a_card_in_another_name_is_card_holder_mismatch_before_the_balance(client, seeded, holder):
    _, headers = funded(client, 10_000)
    card = card_of(client, headers, holder=holder)
    assert_error(withdraw(client, headers, card, 100), 422, "card_holder_mismatch")
    assert_error(withdraw(client, headers, card, 10**9), 422, "card_holder_mismatch")
    assert balances(client, headers)["CNY"] == 10_000


def test_the_holder_name_matches_after_nfkc_case_folding_and_spaces(client, seeded):
    _, headers = funded(client, 10_000, name="Zhang San")
    card = card_of(client, headers, holder="ＺＨＡＮＧ　ｓａｎ")  # full-width, other case, ideographic space
    assert withdraw(client, headers, card, 100).status_code == 201


def test_more_than_the_balance_is_insufficient_funds_before_the_step_up(client, seeded):
    _, headers = funded(client, 10_000)
    card = card_of(client, headers)
    assert_error(withdraw(client, headers, card, 10_001), 422, "insufficient_funds")
    assert_error(withdraw(client, headers, card, 500_000), 422, "insufficient_funds")  # also past the budget
    assert_error(withdraw(client, headers, card, 100, "USD"), 422, "insufficient_funds")  # none held


# --- step-up -----------------------------------------------------------------------------------


def test_past_the_budget_a_withdrawal_needs_the_password_and_the_403_is_not_stored(client, seeded):
    user, headers = funded(client, 500_000)
    card = card_of(client, headers)
    error = assert_error(withdraw(client, headers, card, 120_000, key="big"), 403, "step_up_required")
    assert error["details"] == {"methods": ["password"]}
    wrong = withdraw(client, headers, card, 120_000, key="wrong", authorization={"password": "nope"})
    assert_error(wrong, 422, "invalid_password")
    assert counter(f"login_fail#{user.phone}") == 0  # v1.2: a re-auth failure, not a login failure
    assert counter(reauth.step_up_failure_counter_id(user.user_id, clock.now())) == 1
    ok = withdraw(client, headers, card, 120_000, key="big", authorization={"password": PASSWORD})
    assert ok.status_code == 201 and "Idempotent-Replayed" not in ok.headers
    assert balances(client, headers)["CNY"] == 380_000


def test_a_wrong_totp_code_is_invalid_code(client, seeded):
    _, headers = funded(client, 500_000)
    card = card_of(client, headers)
    response = withdraw(client, headers, card, 120_000, authorization={"totp": "000000"})
    assert assert_error(response, 422, "invalid_code")["details"] == {"attempts_left": 4}


# --- the bank's payout -------------------------------------------------------------------------


def test_a_declined_payout_is_402_the_money_comes_back_and_the_402_is_replayed(client, seeded):
    user, headers = funded(client, 100_000)
    card = card_of(client, headers, number=DECLINED_CARD)
    assert_error(withdraw(client, headers, card, 30_000, key="d"), 402, "card_declined")
    assert balances(client, headers)["CNY"] == 100_000
    replay = withdraw(client, headers, card, 30_000, key="d")
    assert replay.status_code == 402 and replay.headers.get("Idempotent-Replayed") == "true"
    assert body_of(replay)["error"]["code"] == "card_declined"
    # the withdrawal and its return: two balanced transactions, nothing edited
    mine = [e for e in LedgerEntry.query(f"user#{user.user_id}") if e.type == "withdrawal"]
    assert sorted((e.direction, int(e.amount), int(e.balance_after)) for e in mine) == [
        ("credit", 30_000, 100_000),
        ("debit", 30_000, 70_000),
    ]
    for entry in mine:
        assert_balanced(entry.transaction_id)
    returned = next(e for e in mine if e.direction == "credit")
    debit = next(e for e in mine if e.direction == "debit")
    assert TransactionRecord.get(returned.transaction_id).details["reverses"] == debit.transaction_id
    # the day's budget was given back
    assert counter(step_up.budget_counter_id(user.user_id, clock.now())) == 0
    assert pay(client, headers, 100_000).status_code == 201


def test_a_card_without_funds_still_receives_a_payout(client, seeded):
    _, headers = funded(client, 10_000)
    card = card_of(client, headers, number=NO_FUNDS_CARD)
    assert withdraw(client, headers, card, 5_000).status_code == 201
    assert balances(client, headers)["CNY"] == 5_000


def test_a_withdrawal_above_5000_cny_tells_the_user(client, seeded):
    user, headers = funded(client, 1_000_000, name="张三")
    card = card_of(client, {**headers})
    outbox.clear()
    response = withdraw(client, headers, card, 600_000, authorization={"password": PASSWORD})
    assert response.status_code == 201
    sms = [m.body for m in outbox.messages(user.phone)]
    assert len(sms) == 1 and "6,000.00 CNY" in sms[0]
    assert any("card ending 0004" in m.body for m in outbox.messages(user.email))
