"""Transfers attacked in parallel (contract v1.2, section 1): the step-up budget, the code's five
tries, the lookups' daily cap, and a payee who closed the account meanwhile."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters import clock
from chalicelib.services.identity import reauth
from chalicelib.services.wallet import step_up
from chalicelib.store.counters import Counter
from chalicelib.store.users import Claim, User
from chalicelib.store.wallet import TransactionRecord
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.parallel import run_together
from tests.helpers.users import PASSWORD, new_email, new_phone
from tests.helpers.wallet import add_card, balances, top_up
from tests.wallet.test_transfers import confirm, funded, last_code, send, verified


def _known(payer, payee):
    """The payee is known to the payer (an earlier transfer), so only the budget asks for a code."""
    from chalicelib.services.wallet.transfers import payee_claim

    Claim(payee_claim(payer.user_id, payee.user_id), user_id=payer.user_id, created_at=clock.stamp(clock.now())).save()


def _counter(counter_id: str) -> int:
    try:
        return int(Counter.get(counter_id).count)
    except Counter.DoesNotExist:
        return 0


def _budget_used(user) -> int:
    return _counter(step_up.budget_counter_id(user.user_id, clock.now()))


def test_parallel_transfers_never_complete_past_the_days_budget_without_a_code(client, seeded):
    payer, headers = funded(client)
    payee, payee_headers = verified(name="李四")
    _known(payer, payee)
    responses = run_together(*[lambda i=i: send(client, headers, payee, 90_000, key=f"b{i}") for i in range(6)])
    statuses = sorted(response.status_code for response in responses)
    completed = [body_of(r) for r in responses if r.status_code == 201]
    assert set(statuses) <= {201, 202}
    # 900 CNY each against a 1,000 CNY budget: one completes, every other one waits for a code.
    assert len(completed) == 1 and statuses.count(202) == 5
    assert _budget_used(payer) == 90_000 <= step_up.STEP_UP_BUDGET
    waiting = [body_of(r) for r in responses if r.status_code == 202]
    assert all(t["status"] == "requires_confirmation" and t["attempts_left"] == 5 for t in waiting)
    assert not any("transaction_id" in t for t in waiting)  # none of the refused postings shows
    assert balances(client, payee_headers)["CNY"] == 90_000


def test_a_transfer_refused_by_the_budget_at_commit_answers_202_and_replays_it(client, seeded):
    payer, headers = funded(client)
    payee, _ = verified()
    _known(payer, payee)
    first = run_together(*[lambda i=i: send(client, headers, payee, 60_000, key=f"r{i}") for i in range(2)])
    assert sorted(r.status_code for r in first) == [201, 202]
    waiting = next(r for r in first if r.status_code == 202)
    key = "r0" if first[0].status_code == 202 else "r1"
    replay = send(client, headers, payee, 60_000, key=key)
    assert replay.status_code == 202 and replay.headers.get("Idempotent-Replayed") == "true"
    assert body_of(replay) == body_of(waiting)


def test_a_burst_of_wrong_codes_with_the_right_one_compares_at_most_five(client, seeded, monkeypatch):
    payer, headers = funded(client)
    payee, payee_headers = verified()
    transfer = body_of(send(client, headers, payee, 150_000))
    right = last_code(payer.phone)
    wrong = "000000" if right != "000000" else "111111"
    compared = []
    original = __import__("secrets").compare_digest

    def counting(a, b):
        compared.append(1)
        return original(a, b)

    monkeypatch.setattr("chalicelib.services.wallet.transfers.secrets.compare_digest", counting)
    calls = [lambda i=i: confirm(client, headers, transfer["transfer_id"], wrong, key=f"w{i}") for i in range(19)]
    calls.append(lambda: confirm(client, headers, transfer["transfer_id"], right, key="right"))
    responses = run_together(*calls)
    assert len(compared) <= 5
    assert sum(r.status_code == 200 for r in responses) <= 1
    record = TransactionRecord.get(transfer["transfer_id"], consistent_read=True)
    moved = balances(client, payee_headers).get("CNY", 0)
    assert (record.status, moved) in (("completed", 150_000), ("canceled", 0))
    # Nothing more is compared once the five tries are spent.
    late = confirm(client, headers, transfer["transfer_id"], right, key="late")
    assert late.status_code == 409 and len(compared) <= 5


def test_a_right_code_racing_four_wrong_ones_still_completes(client, seeded):
    payer, headers = funded(client)
    payee, _ = verified()
    transfer = body_of(send(client, headers, payee, 150_000))
    right = last_code(payer.phone)
    wrong = "000000" if right != "000000" else "111111"
    calls = [lambda i=i: confirm(client, headers, transfer["transfer_id"], wrong, key=f"w{i}") for i in range(4)]
    calls.append(lambda: confirm(client, headers, transfer["transfer_id"], right, key="right"))
    responses = run_together(*calls)
    assert responses[-1].status_code == 200 and body_of(responses[-1])["status"] == "completed"
    # The wrong ones are refused; once the right one completed they find the transfer done.
    assert {r.status_code for r in responses[:-1]} <= {409, 422}


def test_closing_the_payees_account_cancels_the_transfer_waiting_for_it(client, seeded):
    payer, headers = funded(client)
    payee, payee_headers = verified(name="李四")
    transfer = body_of(send(client, headers, payee, 150_000))
    closed = post_json(client, "/me/close", {"password": PASSWORD}, payee_headers)
    assert closed.status_code == 204
    done = confirm(client, headers, transfer["transfer_id"], last_code(payer.phone))
    assert assert_error(done, 409, "transfer_not_pending")["details"] == {"status": "canceled"}
    assert body_of(client.get(f"/transfers/{transfer['transfer_id']}", headers=headers))["status"] == "canceled"
    assert balances(client, headers)["CNY"] == 1_000_000


def test_closing_the_payers_account_cancels_its_waiting_transfers(client, seeded):
    _, headers = verified()
    card = add_card(client, headers)
    top_up(client, headers, card, 150_000)
    payee, payee_headers = verified(name="李四")
    transfer = body_of(send(client, headers, payee, 150_000))
    assert transfer["status"] == "requires_confirmation"
    # Funds are not reserved: the payer empties the wallet to the card and closes the account.
    payout = {"funding_source_id": card, "amount": 150_000, "currency": "CNY", "authorization": {"password": PASSWORD}}
    assert post_json(client, "/me/withdrawals", payout, {**headers, "Idempotency-Key": "out"}).status_code == 201
    assert post_json(client, "/me/close", {"password": PASSWORD}, headers).status_code == 204
    seen = body_of(client.get(f"/transfers/{transfer['transfer_id']}", headers=payee_headers))
    assert seen["status"] == "canceled"


def test_a_payee_closed_after_the_check_gets_recipient_unavailable(client, seeded):
    payer, headers = funded(client)
    payee, _ = verified(name="李四")
    transfer = body_of(send(client, headers, payee, 150_000))
    # Closed without the cancel step (e.g. the close raced the confirmation): confirm re-checks.
    User(payee.user_id).update(actions=[User.status.set("closed")])
    done = confirm(client, headers, transfer["transfer_id"], last_code(payer.phone))
    assert_error(done, 409, "recipient_unavailable")
    assert body_of(client.get(f"/transfers/{transfer['transfer_id']}", headers=headers))["status"] == "canceled"
    assert balances(client, headers)["CNY"] == 1_000_000


def test_a_payee_closing_while_the_posting_is_written_receives_nothing(client, seeded, monkeypatch):
    payer, headers = funded(client)
    payee, _ = verified(name="李四")
    _known(payer, payee)
    from chalicelib.services.wallet import ledger

    original = ledger.post

    def close_then_post(*args, **kwargs):
        User(payee.user_id).update(actions=[User.status.set("closed")])  # lands between check and write
        monkeypatch.setattr(ledger, "post", original)
        return original(*args, **kwargs)

    monkeypatch.setattr(ledger, "post", close_then_post)
    assert_error(send(client, headers, payee, 10_000), 404, "recipient_not_found")
    assert balances(client, headers)["CNY"] == 1_000_000


def test_transfers_by_phone_or_email_count_in_the_lookups_daily_cap(client, seeded):
    _, headers = funded(client)
    payee, _ = verified()
    for _ in range(15):
        lookup = post_json(client, "/recipients/lookup", {"phone": new_phone()}, headers)
        assert_error(lookup, 404, "recipient_not_found")
    for i in range(15):
        recipient = {"phone": new_phone()} if i % 2 else {"email": new_email()}
        payload = {"recipient": recipient, "amount": 100, "currency": "CNY"}
        response = post_json(client, "/transfers", payload, {**headers, "Idempotency-Key": f"p{i}"})
        assert_error(response, 404, "recipient_not_found")
    payload = {"recipient": {"phone": payee.phone}, "amount": 100, "currency": "CNY"}
    assert_error(post_json(client, "/transfers", payload, {**headers, "Idempotency-Key": "31"}), 429, "rate_limited")
    assert_error(post_json(client, "/recipients/lookup", {"phone": payee.phone}, headers), 429, "rate_limited")
    # By user id nothing is looked up: not counted.
    assert send(client, headers, payee, 100, key="by-id").status_code == 201


def test_a_parallel_burst_of_transfers_by_phone_is_capped_at_thirty(client, seeded):
    _, headers = funded(client)

    def probe(i):
        payload = {"recipient": {"phone": new_phone()}, "amount": 100, "currency": "CNY"}
        return post_json(client, "/transfers", payload, {**headers, "Idempotency-Key": f"q{i}"})

    responses = run_together(*[lambda i=i: probe(i) for i in range(40)])
    assert sorted(r.status_code for r in responses) == [404] * 30 + [429] * 10


def test_a_transfer_code_is_one_time_codes_cap_not_the_login_lockout(client, seeded):
    payer, headers = funded(client)
    payee, _ = verified()
    transfer = body_of(send(client, headers, payee, 150_000))
    right = last_code(payer.phone)
    wrong = "000000" if right != "000000" else "111111"
    for i in range(5):
        assert_error(confirm(client, headers, transfer["transfer_id"], wrong, key=f"x{i}"), 422, "invalid_code")
    assert body_of(client.get(f"/transfers/{transfer['transfer_id']}", headers=headers))["status"] == "canceled"
    assert _counter(f"login_fail#{payer.phone}") == 0  # not a login failure (section 5)
    assert _counter(reauth.step_up_failure_counter_id(payer.user_id, clock.now())) == 5


def test_the_set_of_waiting_transfers_forgets_the_expired_ones(client, seeded):
    payer, headers = funded(client)
    payee, _ = verified()
    start = clock.now()
    clock.set_test_clock(start)
    first = body_of(send(client, headers, payee, 150_000, key="first"))
    clock.set_test_clock(start + timedelta(minutes=6))  # the first one has expired
    second = body_of(send(client, headers, payee, 150_000, key="second"))
    for user in (payer, payee):
        tracked = Counter.get(f"pending_transfers#{user.user_id}", consistent_read=True).members
        assert [entry.split("|", 1)[1] for entry in tracked] == [second["transfer_id"]]
    assert first["transfer_id"] != second["transfer_id"]


def test_many_payers_crediting_one_payee_at_once_each_land_once_with_exact_balances(client, seeded):
    """The hot payee: every credit conflicts on the payee's balance version and is retried on fresh
    balances only; each lands once, and every entry's balance_after is the wallet's running total."""
    payee, payee_headers = verified(name="李四")
    payers = []
    for _ in range(6):
        payer, headers = funded(client, 10_000)
        _known(payer, payee)
        payers.append(headers)
    amounts = [100 + n for n in range(6)]
    responses = run_together(
        *[lambda h=h, a=a: send(client, h, payee, a, key=f"hot{a}") for h, a in zip(payers, amounts, strict=True)]
    )
    assert [r.status_code for r in responses] == [201] * 6, [r.body for r in responses]
    assert balances(client, payee_headers)["CNY"] == sum(amounts)
    history = body_of(client.get("/me/transactions?limit=20", headers=payee_headers))["data"]
    credits = sorted(history, key=lambda item: item["balance_after"])
    assert sorted(item["amount"] for item in credits) == sorted(amounts)
    running = 0
    for item in credits:  # in commit order, each balance_after is the one before plus its amount
        running += item["amount"]
        assert item["balance_after"] == running
    for headers in payers:
        assert len(body_of(client.get("/me/transactions?limit=20", headers=headers))["data"]) == 2  # top-up + 1
