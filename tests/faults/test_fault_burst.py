"""A parallel burst under DynamoDB faults (contract v1.2, section 1): 20 concurrent transfers, some
sharing an Idempotency-Key, under 30 % throttling and 10 % conflicts, each repeated with its key
until it is not 503. Every key is applied exactly once, money is conserved, no balance is negative."""

from __future__ import annotations

from collections import defaultdict

from localstage.faults import FAULTS
from tests.helpers.faults import clear_faults, set_faults, until_not_503
from tests.helpers.http import body_of
from tests.helpers.parallel import run_together
from tests.helpers.wallet import balances
from tests.wallet.test_invariants import check_invariants
from tests.wallet.test_transfers import funded, send, verified

PAYERS = 4
KEYS = 10  # each sent twice at once: 20 requests
START = 100_000  # 1,000 CNY each


def test_twenty_transfers_under_throttling_and_conflicts_apply_each_key_exactly_once(client, seeded):
    payers = [funded(client, amount=START) for _ in range(PAYERS)]
    payees = [verified(name="李四") for _ in range(2)]
    plan = [(n % PAYERS, n % 2, 1_000 + 100 * n, f"burst-{n}") for n in range(KEYS)]
    set_faults(client, dynamodb={"throttle": 0.3, "conflict": 0.1}, seed=16)

    def attempt(payer: int, payee: int, amount: int, key: str):
        return until_not_503(lambda: send(client, payers[payer][1], payees[payee][0], amount, key=key))

    results = run_together(*[lambda step=step: attempt(*step) for step in plan for _ in range(2)])
    injected = FAULTS.counts()
    clear_faults(client)

    assert injected["throttle"] > 0 and injected["conflict"] > 0  # the burst did meet the faults
    by_key: dict[str, set[str]] = defaultdict(set)
    for (response, _), (_, _, _, key) in zip(results, [step for step in plan for _ in range(2)], strict=True):
        assert response.status_code == 201, response.body  # 2xx in the end, never a 500
        body = body_of(response)
        assert body["status"] == "completed"
        by_key[key].add(body["transaction_id"])
    assert all(len(ids) == 1 for ids in by_key.values()), by_key  # one movement per key
    assert len({next(iter(ids)) for ids in by_key.values()}) == KEYS

    for index, (_, headers) in enumerate(payers):
        sent = sum(amount for payer, _, amount, _ in plan if payer == index)
        assert balances(client, headers)["CNY"] == START - sent
    for index, (_, headers) in enumerate(payees):
        assert balances(client, headers)["CNY"] == sum(amount for _, payee, amount, _ in plan if payee == index)
    check_invariants([])  # conserved per currency, nothing negative, histories sum to balances
