"""Internal movements (transfer, payment, conversion) claim their Idempotency-Key inside their one
transaction, with no in-flight marker first: duplicates, at once or later, get the one stored answer
and nothing moves twice; a refusal looks the key up before it answers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters import clock
from chalicelib.store.kyc import KycRecord
from chalicelib.store.users import Claim, phone_claim
from chalicelib.store.wallet import LedgerEntry
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.parallel import run_together
from tests.helpers.users import PASSWORD, make_user, signed_in
from tests.helpers.wallet import CAFE, add_card, balances, top_up


def _verified(name: str = "张三"):
    user = make_user()
    KycRecord(user.user_id, "current", status="approved", level=2, approved_real_name=name).save()
    Claim(phone_claim(user.phone), user_id=user.user_id, created_at=user.created_at).save()
    return user, signed_in(user)


def _funded(client, amount: int = 100_000):
    user, headers = _verified()
    assert top_up(client, headers, add_card(client, headers), amount).status_code == 201
    return user, headers


def _entries(user) -> list:
    return list(LedgerEntry.query(f"user#{user.user_id}"))


def _movement(route: str, payee) -> tuple[str, dict]:
    if route == "transfer":
        return "/transfers", {"recipient": {"user_id": payee.user_id}, "amount": 1_000, "currency": "CNY"}
    if route == "payment":
        return "/payments", {"merchant_id": CAFE, "amount": 1_000, "currency": "CNY", "order_reference": "o-1"}
    return "/me/conversions", {"from_currency": "CNY", "to_currency": "USD", "amount": 1_000}


ROUTES = ["transfer", "payment", "conversion"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_parallel_burst_of_one_key_moves_money_once_and_answers_alike(client, seeded, route):
    payer, headers = _funded(client)
    payee, _ = _verified("李四")
    path, body = _movement(route, payee)
    keyed = {**headers, "Idempotency-Key": f"burst-{route}"}
    responses = run_together(*[lambda: post_json(client, path, body, keyed) for _ in range(8)])
    assert [r.status_code for r in responses] == [201] * 8, [r.body for r in responses]
    assert len({r.body for r in responses}) == 1  # one answer, replayed to the others
    replayed = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == 7
    assert balances(client, headers)["CNY"] == 99_000
    debits = [entry for entry in _entries(payer) if entry.direction == "debit"]
    assert len(debits) == 1


@pytest.mark.parametrize("route", ROUTES)
def test_a_parallel_burst_of_one_key_with_other_bodies_is_422_for_all_but_one(client, seeded, route):
    _, headers = _funded(client)
    payee, _ = _verified("李四")
    path, body = _movement(route, payee)
    keyed = {**headers, "Idempotency-Key": f"mixed-{route}"}
    bodies = [{**body, "amount": 1_000 + n} for n in range(6)]
    responses = run_together(*[lambda b=b: post_json(client, path, b, keyed) for b in bodies])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [422] * 5, [r.body for r in responses]
    for response in responses:
        if response.status_code == 422:
            assert body_of(response)["error"]["code"] == "idempotency_key_reused"
    moved = body_of(next(r for r in responses if r.status_code == 201))["amount"]
    assert balances(client, headers)["CNY"] == 100_000 - moved


def test_a_retry_that_would_now_be_refused_replays_the_first_answer(client, seeded):
    """The first payment spent the money; its retry would be insufficient_funds, but the key wins."""
    _, headers = _funded(client, 1_000)
    path, body = _movement("payment", None)
    keyed = {**headers, "Idempotency-Key": "spent"}
    first = post_json(client, path, body, keyed)
    assert first.status_code == 201
    again = post_json(client, path, body, keyed)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert body_of(again) == body_of(first)
    assert balances(client, headers)["CNY"] == 0


def test_a_stored_refusal_is_replayed_even_when_the_movement_would_now_go_through(client, seeded):
    """422 insufficient_funds is stored; topping up does not turn the same key into a payment."""
    _, headers = _verified()
    card = add_card(client, headers)
    assert top_up(client, headers, card, 500).status_code == 201
    path, body = _movement("payment", None)
    keyed = {**headers, "Idempotency-Key": "short"}
    assert_error(post_json(client, path, body, keyed), 422, "insufficient_funds")
    assert top_up(client, headers, card, 5_000).status_code == 201
    again = post_json(client, path, body, keyed)
    assert again.status_code == 422 and again.headers.get("Idempotent-Replayed") == "true"
    assert balances(client, headers)["CNY"] == 5_500


def test_a_step_up_retry_without_authorization_replays_the_authorized_payment(client, seeded):
    """403 step_up_required is never stored; a key that already paid with a password replays 201."""
    _, headers = _funded(client, 500_000)
    body = {"merchant_id": CAFE, "amount": 200_000, "currency": "CNY", "order_reference": "big"}
    keyed = {**headers, "Idempotency-Key": "big"}
    assert_error(post_json(client, "/payments", body, keyed), 403, "step_up_required")
    paid = post_json(client, "/payments", {**body, "authorization": {"password": PASSWORD}}, keyed)
    assert paid.status_code == 201, paid.body
    again = post_json(client, "/payments", body, keyed)  # no authorization this time
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert balances(client, headers)["CNY"] == 300_000


def test_the_key_is_looked_up_before_validation_on_an_internal_movement(client, seeded):
    _, headers = _funded(client)
    path, body = _movement("conversion", None)
    keyed = {**headers, "Idempotency-Key": "conv"}
    assert post_json(client, path, body, keyed).status_code == 201
    assert_error(post_json(client, path, {**body, "amount": "1000"}, keyed), 422, "idempotency_key_reused")
    fresh = {**headers, "Idempotency-Key": "conv-2"}
    assert_error(post_json(client, path, {**body, "amount": "1000"}, fresh), 400, "validation_error", field="amount")


def test_a_key_older_than_24_hours_is_a_new_request(client, seeded):
    user, headers = _funded(client)
    path, body = _movement("conversion", None)
    keyed = {**headers, "Idempotency-Key": "daily"}
    clock.set_test_clock(clock.now())
    assert post_json(client, path, body, keyed).status_code == 201
    clock.set_test_clock(clock.now() + timedelta(hours=24, seconds=1))
    headers = signed_in(user)  # the first session's access token has expired
    later = post_json(client, path, body, {**headers, "Idempotency-Key": "daily"})
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert balances(client, headers)["CNY"] == 98_000
