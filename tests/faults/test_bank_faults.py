"""The bank down or hanging during a top-up (contract v1.2, section 1, Faults; section 5, top-ups):
`503 try_again` with Retry-After, nothing credited that was not charged, and a charge whose answer
was lost is credited exactly once, by the retry or by `topup_settle`, never charged twice."""

from __future__ import annotations

import time
from datetime import timedelta

from chalicelib.adapters import bank_gateway, clock, notify, outbox
from chalicelib.jobs.registry import run_job
from chalicelib.services.wallet import step_up
from chalicelib.store.wallet import LedgerEntry
from tests.faults.test_dynamodb_faults import _ledger_size
from tests.helpers.faults import clear_faults, set_faults
from tests.helpers.http import assert_error, body_of
from tests.helpers.users import PASSWORD, make_user, signed_in
from tests.helpers.wallet import add_card, balances, top_up
from tests.wallet.test_invariants import check_invariants
from tests.wallet.test_payments import counter, funded
from tests.wallet.test_topup_attempts import BankSpy, attempt_of, bank_charges
from tests.wallet.test_withdrawals import card_of, withdraw


def _busy(response):
    assert_error(response, 503, "try_again")
    assert int(response.headers["Retry-After"]) >= 1


def test_a_top_up_while_the_bank_is_down_is_503_takes_nothing_and_its_key_then_charges_once(client, stage, monkeypatch):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers)
    entries = _ledger_size()
    spy = BankSpy(monkeypatch)
    set_faults(client, bank="down")
    _busy(top_up(client, headers, card, 6_600, key="d"))
    _busy(top_up(client, headers, card, 6_600, key="d"))  # still down: refused again, nothing waits
    assert bank_charges() == [] and _ledger_size() == entries and balances(client, headers).get("CNY", 0) == 0
    assert attempt_of(user, "d").status == "failed"  # nothing was taken under it
    clear_faults(client)

    done = top_up(client, headers, card, 6_600, key="d")  # at once: no send can be on its way
    assert done.status_code == 201, done.body
    assert balances(client, headers)["CNY"] == 6_600 and len(bank_charges()) == 1
    assert len(spy.sent) == 3 and len(set(spy.sent)) == 3  # a new reference per attempt, one charge
    replay = top_up(client, headers, card, 6_600, key="d")
    assert replay.headers.get("Idempotent-Replayed") == "true" and body_of(replay) == body_of(done)
    check_invariants([])


def test_a_top_up_while_the_bank_hangs_is_503_past_the_gateway_timeout_and_the_retry_credits_it_once(
    client, stage, monkeypatch
):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers)
    spy = BankSpy(monkeypatch)
    monkeypatch.setattr(bank_gateway, "TIMEOUT_SECONDS", 0.3)
    set_faults(client, bank="timeout")
    started = time.monotonic()
    _busy(top_up(client, headers, card, 7_700, key="t"))
    assert time.monotonic() - started >= 0.3  # it waited out the gateway timeout
    assert balances(client, headers).get("CNY", 0) == 0
    assert attempt_of(user, "t").status == "pending" and len(bank_charges()) == 1  # taken, answer lost
    clear_faults(client)

    retried = top_up(client, headers, card, 7_700, key="t")
    assert retried.status_code == 201, retried.body
    assert balances(client, headers)["CNY"] == 7_700
    assert len(spy.sent) == 1 and len(bank_charges()) == 1  # asked, never charged again
    check_invariants([])


def test_a_charge_lost_in_a_bank_timeout_is_settled_once_by_the_job_and_the_retry_then_replays_it(
    client, stage, monkeypatch
):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers)
    spy = BankSpy(monkeypatch)
    start = clock.now()
    clock.set_test_clock(start)
    set_faults(client, bank="timeout")
    _busy(top_up(client, headers, card, 3_300, key="j"))
    assert run_job("topup_settle", start + timedelta(minutes=3))["unknown"] == 1  # the bank still hangs
    clear_faults(client)

    assert run_job("topup_settle", start + timedelta(minutes=3))["credited"] == 1
    assert run_job("topup_settle", start + timedelta(minutes=4))["credited"] == 0  # once
    assert attempt_of(user, "j").status == "completed"
    retried = top_up(client, headers, card, 3_300, key="j")
    assert retried.status_code == 201 and body_of(retried)["amount"] == 3_300
    assert balances(client, headers)["CNY"] == 3_300
    assert len(spy.sent) == 1 and len(bank_charges()) == 1
    check_invariants([])


# --- withdrawals: money first, then the payout ------------------------------------------------------


def _withdrawal_entries(user) -> list[tuple[str, int]]:
    return sorted(
        (entry.direction, int(entry.amount))
        for entry in LedgerEntry.query(f"user#{user.user_id}")
        if entry.type == "withdrawal"
    )


def test_a_withdrawal_while_the_bank_is_down_is_503_the_money_comes_back_and_its_key_then_pays_out_once(client, seeded):
    user, headers = funded(client, 100_000)
    card = card_of(client, headers)
    set_faults(client, bank="down")
    _busy(withdraw(client, headers, card, 30_000, key="w"))
    assert balances(client, headers)["CNY"] == 100_000  # debited, refused, returned: nothing lost
    assert _withdrawal_entries(user) == [("credit", 30_000), ("debit", 30_000)]
    assert counter(step_up.budget_counter_id(user.user_id, clock.now())) == 0  # the day's budget given back
    clear_faults(client)

    done = withdraw(client, headers, card, 30_000, key="w")  # the 503 was not stored: the key runs again
    assert done.status_code == 201, done.body
    assert done.headers.get("Idempotent-Replayed") is None
    replay = withdraw(client, headers, card, 30_000, key="w")
    assert replay.headers.get("Idempotent-Replayed") == "true" and body_of(replay) == body_of(done)
    assert balances(client, headers)["CNY"] == 70_000
    assert _withdrawal_entries(user) == [("credit", 30_000), ("debit", 30_000), ("debit", 30_000)]
    check_invariants([])


def test_a_withdrawal_whose_payout_goes_unanswered_stands_and_operators_are_told(client, seeded, monkeypatch):
    user, headers = funded(client, 100_000)
    card = card_of(client, headers)
    alerts = []
    monkeypatch.setattr(notify, "alert_operators", lambda title, detail: alerts.append((title, detail)))
    monkeypatch.setattr(bank_gateway, "TIMEOUT_SECONDS", 0.3)
    set_faults(client, bank="timeout")
    response = withdraw(client, headers, card, 20_000, key="t")
    clear_faults(client)
    assert response.status_code == 201, response.body  # maybe paid: never returned on a guess
    transaction_id = body_of(response)["transaction_id"]
    assert balances(client, headers)["CNY"] == 80_000
    assert _withdrawal_entries(user) == [("debit", 20_000)]
    assert [title for title, _ in alerts] == ["Withdrawal payout unanswered"]
    assert transaction_id in alerts[0][1]
    replay = withdraw(client, headers, card, 20_000, key="t")
    assert replay.headers.get("Idempotent-Replayed") == "true" and balances(client, headers)["CNY"] == 80_000
    check_invariants([])


def test_a_large_withdrawal_returned_to_the_wallet_sends_no_large_debit_notice(client, seeded):
    user, headers = funded(client, 1_000_000)
    card = card_of(client, headers)
    outbox.clear()
    set_faults(client, bank="down")
    _busy(withdraw(client, headers, card, 600_000, key="big", authorization={"password": PASSWORD}))
    clear_faults(client)
    assert balances(client, headers)["CNY"] == 1_000_000
    later = clock.now() + timedelta(hours=2)  # past every retry the notice could have been due for
    assert run_job("notify_dispatch", later)["sent"] == 0
    assert outbox.messages(user.phone) == [] and outbox.messages(user.email) == []  # "6,000 left": not true

    done = withdraw(client, headers, card, 600_000, key="big", authorization={"password": PASSWORD})
    assert done.status_code == 201, done.body
    (sms,) = [message.body for message in outbox.messages(user.phone)]  # the withdrawal that went out
    assert "6,000.00 CNY" in sms
