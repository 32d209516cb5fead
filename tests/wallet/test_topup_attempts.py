"""Top-up attempts: recorded before the charge, one bank reference each, lost answers settled once.

The bank simulator's timeout card (4000000000000119) takes the charge and loses the answer; a
retry with the same Idempotency-Key, or the `topup_settle` job, asks the bank and credits once.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.adapters import clock
from chalicelib.adapters.bank_gateway import TIMEOUT_CARD, SimulatedBank, SimulatedCharge
from chalicelib.errors import OkpayError
from chalicelib.jobs.registry import run_job
from chalicelib.services.common import idempotency
from chalicelib.services.wallet import topups as wallet
from chalicelib.store.wallet import LedgerEntry, TopUpAttempt, TransactionRecord
from tests.helpers.http import assert_error, body_of
from tests.helpers.users import make_user, signed_in
from tests.helpers.wallet import DECLINED_CARD, add_card, balances, top_up
from tests.wallet.test_invariants import check_invariants


class BankSpy:
    """Counts the charges the app sends to the simulated bank (by reference); can fail around them."""

    def __init__(self, monkeypatch, *, before=None, after=None):
        self.sent: list[str] = []
        original = SimulatedBank.charge

        def charge(bank, token, amount, currency, reference):
            self.sent.append(reference)
            if before is not None:
                before(reference)
            answer = original(bank, token, amount, currency, reference)
            if after is not None:
                after(reference)
            return answer

        monkeypatch.setattr(SimulatedBank, "charge", charge)


def attempt_of(user, key) -> TopUpAttempt:
    attempt_id = wallet.attempt_id_for_key(idempotency.record_id(user.user_id, "POST", "/me/topups", key))
    assert attempt_id is not None
    return TopUpAttempt.get(attempt_id, consistent_read=True)


def user_entries(user) -> list[LedgerEntry]:
    return list(LedgerEntry.query(f"user#{user.user_id}"))


def bank_charges() -> list[SimulatedCharge]:
    return list(SimulatedCharge.scan())


def entries_of(transaction_id) -> list[LedgerEntry]:
    return list(LedgerEntry.by_transaction.query(transaction_id))


# --- recorded first ---------------------------------------------------------------------------


def test_the_attempt_is_recorded_pending_before_the_card_is_charged(client, stage, monkeypatch):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers)
    seen_at_charge = []

    def before(reference):  # what is on record when the charge goes out
        attempt = attempt_of(user, "k1")
        seen_at_charge.append((attempt.status, attempt.bank_reference, len(user_entries(user))))

    def after(reference):
        raise RuntimeError("the process died right after the bank took the money")

    spy = BankSpy(monkeypatch, before=before, after=after)
    assert_error(top_up(client, headers, card, 4_200, key="k1"), 500, "internal_error")
    assert seen_at_charge == [("pending", spy.sent[0], 0)]
    attempt = attempt_of(user, "k1")
    assert (attempt.status, attempt.bank_reference, int(attempt.amount)) == ("pending", spy.sent[0], 4_200)
    assert (attempt.user_id, attempt.funding_source_id, attempt.currency) == (user.user_id, card, "CNY")
    assert attempt.bank_reference.startswith("top_") and "k1" not in attempt.bank_reference
    assert user_entries(user) == [] and balances(client, headers)["CNY"] == 0
    assert [c.reference for c in bank_charges()] == [spy.sent[0]]  # the charge has a trace: the attempt

    monkeypatch.undo()
    spy = BankSpy(monkeypatch)
    retried = top_up(client, headers, card, 4_200, key="k1")  # asks the bank, does not charge again
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert spy.sent == [] and len(bank_charges()) == 1
    assert balances(client, headers)["CNY"] == 4_200
    attempt = attempt_of(user, "k1")
    assert (attempt.status, attempt.settled_by, attempt.transaction_id) == (
        "completed",
        "request",
        body_of(retried)["transaction_id"],
    )
    header = TransactionRecord.get(attempt.transaction_id)
    assert header.details["bank_reference"] == attempt.bank_reference
    check_invariants([(user, headers)])


def test_the_same_key_after_24_hours_is_a_new_attempt_with_a_new_bank_reference(client, stage, monkeypatch):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers)
    spy = BankSpy(monkeypatch)
    start = clock.now()
    clock.set_test_clock(start)
    first = top_up(client, headers, card, 300, key="monthly")
    assert first.status_code == 201
    clock.set_test_clock(start + timedelta(hours=12))
    headers = signed_in(user)  # access tokens are short-lived
    assert top_up(client, headers, card, 300, key="monthly").headers.get("Idempotent-Replayed") == "true"
    clock.set_test_clock(start + timedelta(hours=24, minutes=5))
    headers = signed_in(user)
    second = top_up(client, headers, card, 300, key="monthly")
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert body_of(second)["transaction_id"] != body_of(first)["transaction_id"]
    assert len(spy.sent) == 2 and spy.sent[0] != spy.sent[1]
    assert sorted(c.reference for c in bank_charges()) == sorted(spy.sent)
    assert balances(client, headers)["CNY"] == 600


def test_a_declined_charge_closes_its_attempt_and_the_job_leaves_it_alone(client, stage):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers, number=DECLINED_CARD)
    assert_error(top_up(client, headers, card, 100, key="d"), 402, "card_declined")
    attempt = attempt_of(user, "d")
    assert (attempt.status, attempt.outcome, attempt.settle_due) == ("declined", "card_declined", None)
    result = run_job("topup_settle", clock.now() + timedelta(minutes=10))
    assert result["checked"] == 0 and balances(client, headers)["CNY"] == 0


# --- the timeout card -------------------------------------------------------------------------


def test_the_timeout_card_answers_503_and_the_retry_credits_once_without_charging_again(client, stage, monkeypatch):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers, number=TIMEOUT_CARD)
    spy = BankSpy(monkeypatch)
    lost = top_up(client, headers, card, 8_800, key="t")
    assert_error(lost, 503, "try_again")
    assert int(lost.headers["Retry-After"]) >= 1
    assert balances(client, headers)["CNY"] == 0
    attempt = attempt_of(user, "t")
    assert attempt.status == "pending" and [c.reference for c in bank_charges()] == [attempt.bank_reference]

    retried = top_up(client, headers, card, 8_800, key="t")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    item = body_of(retried)
    assert (item["type"], item["amount"], item["balance_after"]) == ("topup", 8_800, 8_800)
    replay = top_up(client, headers, card, 8_800, key="t")
    assert replay.headers.get("Idempotent-Replayed") == "true" and body_of(replay) == item
    assert balances(client, headers)["CNY"] == 8_800
    assert spy.sent == [attempt.bank_reference]  # one charge sent, ever
    assert len(bank_charges()) == 1 and len(entries_of(item["transaction_id"])) == 2
    assert_error(top_up(client, headers, card, 8_801, key="t"), 422, "idempotency_key_reused")
    check_invariants([(user, headers)])


def test_a_retry_with_another_body_after_a_503_is_key_reused(client, stage):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers, number=TIMEOUT_CARD)
    assert_error(top_up(client, headers, card, 500, key="t"), 503, "try_again")
    assert_error(top_up(client, headers, card, 501, key="t"), 422, "idempotency_key_reused")
    assert attempt_of(user, "t").status == "pending" and balances(client, headers)["CNY"] == 0


def test_a_lost_top_up_is_settled_by_its_retry_even_after_the_card_was_removed(client, stage):
    headers = signed_in(make_user())
    card = add_card(client, headers, number=TIMEOUT_CARD)
    assert_error(top_up(client, headers, card, 1_200, key="t"), 503, "try_again")
    assert client.delete(f"/me/funding-sources/{card}", headers=headers).status_code == 204
    retried = top_up(client, headers, card, 1_200, key="t")  # the money was taken: it is credited
    assert retried.status_code == 201 and body_of(retried)["counterparty"]["last4"] == "0119"
    assert balances(client, headers)["CNY"] == 1_200 and len(bank_charges()) == 1
    assert_error(top_up(client, headers, card, 1_200, key="new"), 404, "not_found")


# --- the settle job ---------------------------------------------------------------------------


def test_the_job_credits_a_lost_top_up_once_even_when_runs_overlap(client, stage, monkeypatch):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers, number=TIMEOUT_CARD)
    start = clock.now()
    clock.set_test_clock(start)
    assert_error(top_up(client, headers, card, 2_500, key="t"), 503, "try_again")
    early = run_job("topup_settle", start + timedelta(seconds=30))  # a send may still be on its way
    assert early["checked"] == 0 and balances(client, headers)["CNY"] == 0

    later = start + timedelta(minutes=3)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def run_once():
        try:
            barrier.wait()
            results.append(run_job("topup_settle", later))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(result["credited"] for result in results) == 1
    assert all(result["failed"] == 0 and result["declined"] == 0 for result in results)
    assert balances(client, headers)["CNY"] == 2_500
    attempt = attempt_of(user, "t")
    assert (attempt.status, attempt.settled_by, attempt.settle_due) == ("completed", "job", None)
    assert len(entries_of(attempt.transaction_id)) == 2 and len(bank_charges()) == 1
    assert run_job("topup_settle", later + timedelta(minutes=5))["checked"] == 0  # gone from the index

    # The client's late retry gets the top-up the job posted, and nothing moves again.
    spy = BankSpy(monkeypatch)
    retried = top_up(client, headers, card, 2_500, key="t")
    assert retried.status_code == 201 and body_of(retried)["transaction_id"] == attempt.transaction_id
    assert spy.sent == [] and balances(client, headers)["CNY"] == 2_500
    check_invariants([(user, headers)])


def _dies_before_the_charge_leaves(client, monkeypatch, headers, card, amount):
    """A top-up under key "c" whose process dies after the attempt is recorded, before the bank
    call; the test clock is set and returned."""

    def before(reference):
        raise RuntimeError("the process died before the charge left")

    BankSpy(monkeypatch, before=before)
    start = clock.now()
    clock.set_test_clock(start)
    assert_error(top_up(client, headers, card, amount, key="c"), 500, "internal_error")
    monkeypatch.undo()
    return start


def test_an_attempt_the_bank_never_charged_is_failed_by_the_job_and_the_key_starts_afresh(client, stage, monkeypatch):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers)
    start = _dies_before_the_charge_leaves(client, monkeypatch, headers, card, 700)
    first = attempt_of(user, "c")
    assert first.status == "pending" and bank_charges() == []

    spy = BankSpy(monkeypatch)
    too_soon = top_up(client, headers, card, 700, key="c")  # the first send might still land
    assert_error(too_soon, 503, "try_again")
    assert int(too_soon.headers["Retry-After"]) >= 1 and spy.sent == []

    result = run_job("topup_settle", start + timedelta(minutes=3))
    assert (result["checked"], result["failed"], result["credited"]) == (1, 1, 0)
    failed = TopUpAttempt.get(first.object_id, consistent_read=True)
    assert (failed.status, failed.outcome) == ("failed", "no_charge")

    clock.set_test_clock(start + timedelta(minutes=4))
    retried = top_up(client, headers, card, 700, key="c")
    assert retried.status_code == 201
    second = attempt_of(user, "c")
    assert second.object_id != first.object_id and second.bank_reference != first.bank_reference
    assert spy.sent == [second.bank_reference] and [c.reference for c in bank_charges()] == spy.sent
    assert balances(client, headers)["CNY"] == 700
    check_invariants([(user, headers)])


def test_a_retry_after_a_minute_sends_the_charge_again_under_the_same_reference(client, stage, monkeypatch):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers)
    start = _dies_before_the_charge_leaves(client, monkeypatch, headers, card, 900)
    reference = attempt_of(user, "c").bank_reference

    spy = BankSpy(monkeypatch)
    clock.set_test_clock(start + timedelta(seconds=61))
    assert top_up(client, headers, card, 900, key="c").status_code == 201
    attempt = attempt_of(user, "c")
    assert spy.sent == [reference] and int(attempt.charges_sent) == 2 and attempt.status == "completed"
    assert [c.reference for c in bank_charges()] == [reference] and balances(client, headers)["CNY"] == 900


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.parametrize("card_number", ["6222021234567890128", TIMEOUT_CARD])
def test_a_burst_of_the_same_key_sends_at_most_one_charge(client, stage, monkeypatch, card_number):
    """Even requests that all hold the key (a marker taken over as abandoned, at the same moment):
    the key's attempt is recorded once, and only its recorder sends the charge."""
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers, number=card_number)
    spy = BankSpy(monkeypatch)
    body = {"funding_source_id": card, "amount": 1_000, "currency": "CNY"}
    now = clock.now()
    slot = idempotency.begin(user.user_id, "POST", "/me/topups", "burst", body, now)
    assert isinstance(slot, idempotency.Hold)
    barrier = threading.Barrier(6)
    outcomes, crashes = [], []

    def request():
        try:
            barrier.wait()
            with idempotency.holding(replace(slot)):
                outcomes.append(wallet.top_up(user.user_id, "en", card, 1_000, "CNY", now))
        except OkpayError as error:
            outcomes.append(error.code)
        except Exception as error:  # pragma: no cover - reported below
            crashes.append(error)

    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not crashes
    assert len(spy.sent) == 1 and len(bank_charges()) == 1
    credited = {item["transaction_id"] for item in outcomes if isinstance(item, dict)}
    assert len(credited) <= 1
    assert set(item for item in outcomes if not isinstance(item, dict)) <= {"try_again"}
    if card_number == TIMEOUT_CARD:  # nobody learnt the outcome yet: the job settles it
        run_job("topup_settle", now + timedelta(minutes=3))
    assert balances(client, headers)["CNY"] == 1_000
    attempt = attempt_of(user, "burst")
    assert attempt.status == "completed" and len(entries_of(attempt.transaction_id)) == 2
    check_invariants([(user, headers)])
