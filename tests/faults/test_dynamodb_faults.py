"""DynamoDB throttling and transaction conflicts mid-request (contract v1.2, section 1, Faults):
a request completes entirely or answers `503 try_again` with Retry-After, never a 500, never
half-written; the same Idempotency-Key then completes it exactly once."""

from __future__ import annotations

import pytest

from chalicelib.store.wallet import LedgerEntry, TransactionRecord
from localstage.faults import FAULTS
from tests.helpers.faults import clear_faults, set_faults, until_not_503
from tests.helpers.http import assert_error, body_of
from tests.helpers.wallet import balances
from tests.wallet.test_invariants import check_invariants
from tests.wallet.test_transfers import funded, send, verified


def _ledger_size() -> int:
    return sum(1 for _ in LedgerEntry.scan())


def _transactions() -> int:
    return sum(1 for _ in TransactionRecord.scan())


def test_a_transfer_under_full_throttling_answers_503_writes_nothing_and_its_key_then_completes_once(client, seeded):
    _, headers = funded(client, amount=50_000)
    payee, payee_headers = verified(name="李四")
    entries, transactions = _ledger_size(), _transactions()

    set_faults(client, dynamodb={"throttle": 1.0}, seed=1)
    busy = send(client, headers, payee, 12_300, key="t1")
    assert_error(busy, 503, "try_again")
    assert int(busy.headers["Retry-After"]) >= 1
    assert FAULTS.counts()["throttle"] >= 4  # botocore's own bounded retries ran: 4 attempts in all
    clear_faults(client)

    assert (_ledger_size(), _transactions()) == (entries, transactions)  # nothing half-written
    assert balances(client, headers)["CNY"] == 50_000 and balances(client, payee_headers).get("CNY", 0) == 0
    done = send(client, headers, payee, 12_300, key="t1")
    assert done.status_code == 201 and "Idempotent-Replayed" not in done.headers, done.body
    again = send(client, headers, payee, 12_300, key="t1")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert body_of(again) == body_of(done)
    assert balances(client, headers)["CNY"] == 50_000 - 12_300
    assert balances(client, payee_headers)["CNY"] == 12_300
    check_invariants([])


def test_conflicts_on_half_of_the_writes_are_retried_by_the_conflict_loop_and_every_transfer_completes(client, seeded):
    _, headers = funded(client, amount=50_000)
    payee, payee_headers = verified(name="李四")
    set_faults(client, dynamodb={"conflict": 0.5}, seed=1)
    answers = [send(client, headers, payee, 1_000, key=f"c{n}") for n in range(5)]
    injected = FAULTS.history()
    clear_faults(client)
    # Never a 503: the ledger's own bounded, jittered loop took every conflict.
    assert [answer.status_code for answer in answers] == [201] * 5, [answer.body for answer in answers]
    conflicts = [operation for _, operation, fault in injected if fault == "conflict"]
    assert len(conflicts) >= 2 and set(conflicts) == {"TransactWriteItems"}
    assert balances(client, headers)["CNY"] == 45_000 and balances(client, payee_headers)["CNY"] == 5_000
    check_invariants([])


def test_the_same_seed_injects_the_same_faults_in_the_same_order(client, seeded):
    runs = []
    for run in range(2):
        _, headers = funded(client, amount=20_000)
        payee, _ = verified()
        set_faults(client, dynamodb={"throttle": 0.3, "conflict": 0.2}, seed=99)
        for n in range(3):
            until_not_503(
                lambda n=n, run=run, headers=headers, payee=payee: send(
                    client, headers, payee, 100 + n, key=f"s{run}-{n}"
                )
            )
        runs.append(FAULTS.history())
        clear_faults(client)
    assert runs[0] and runs[0] == runs[1]


def test_a_transfer_whose_every_write_conflicts_answers_503_after_the_bounded_loop_and_writes_nothing(client, seeded):
    _, headers = funded(client, amount=50_000)
    payee, payee_headers = verified(name="李四")
    entries, transactions = _ledger_size(), _transactions()
    set_faults(client, dynamodb={"conflict": 1.0}, seed=3)
    busy = send(client, headers, payee, 1_500, key="x")
    tries = [operation for _, operation, _ in FAULTS.history()].count("TransactWriteItems")
    clear_faults(client)
    assert_error(busy, 503, "try_again")
    assert tries == 10  # the ledger's MAX_ATTEMPTS, then it gave up
    assert (_ledger_size(), _transactions()) == (entries, transactions)
    assert balances(client, headers)["CNY"] == 50_000 and balances(client, payee_headers).get("CNY", 0) == 0
    assert send(client, headers, payee, 1_500, key="x").status_code == 201


def test_a_write_answered_with_a_fault_is_never_carried_out(client, stage):
    from pynamodb.exceptions import PutError

    from chalicelib.store.counters import Counter

    set_faults(client, dynamodb={"throttle": 1.0})
    with pytest.raises(PutError) as refused:
        Counter("faults#probe", count=1).save()
    assert refused.value.cause_response_code in ("ThrottlingException", "ProvisionedThroughputExceededException")
    clear_faults(client)
    with pytest.raises(Counter.DoesNotExist):  # not written behind the fault (moto skips it too)
        Counter.get("faults#probe")
