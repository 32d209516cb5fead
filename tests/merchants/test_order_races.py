"""Paying, closing and expiring one order at once: exactly one wins, the money moves at most once, and
exactly one event reports the outcome (contract v1.2, section 14)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters import clock
from chalicelib.jobs.registry import run_job
from chalicelib.services.wallet import orders
from chalicelib.store.orders import get_order as stored_order
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.merchants import DEMO_KEY, DEMO_MERCHANT, close_order, events_of, get_order, open_order, pay_order
from tests.helpers.parallel import run_together
from tests.helpers.support import customer
from tests.helpers.wallet import balances

AMOUNT = 2_500


def cny(client, headers) -> int:
    return balances(client, headers).get("CNY", 0)


def refused(response, code: str = "order_not_open") -> dict:
    """The details of a 409 answered in a burst (its envelope is checked by the serial tests)."""
    assert response.status_code == 409, (response.status_code, response.body)
    error = body_of(response)["error"]
    assert error["code"] == code, error
    return error["details"]


def events_by_order() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for event in events_of(DEMO_MERCHANT):
        found.setdefault(event.object_id, []).append(event.type)
    return found


def test_pay_and_close_at_once_one_wins(client, seeded):
    _, headers = customer(client, amount=100_000)
    paid = 0
    for _ in range(6):
        order = open_order(client, DEMO_KEY, amount=AMOUNT)
        pay, close = run_together(
            lambda order=order: pay_order(client, headers, order["order_id"]),
            lambda order=order: close_order(client, DEMO_KEY, order["order_id"]),
        )
        status = body_of(get_order(client, DEMO_KEY, order["order_id"]))["status"]
        if pay.status_code == 201:
            paid += 1
            assert status == "paid"
            assert refused(close) == {"status": "paid"}
            assert events_by_order()[order["order_id"]] == ["order.paid"]
        else:
            assert close.status_code == 200 and status == "closed"
            assert refused(pay) == {"status": "closed"}
            assert events_by_order()[order["order_id"]] == ["order.closed"]
    assert cny(client, headers) == 100_000 - paid * AMOUNT


def test_a_close_landing_between_the_payments_read_and_its_write_wins(client, seeded, monkeypatch):
    _, headers = customer(client, amount=100_000)
    order = open_order(client, DEMO_KEY, amount=AMOUNT)
    write = orders.OrderPayment.write
    closed = []

    def close_first(self, work, payer, posted):
        if not closed:  # the merchant closes it after the payment read it open (its own request, thread)
            (response,) = run_together(lambda: close_order(client, DEMO_KEY, order["order_id"]))
            closed.append(response.status_code)
        return write(self, work, payer, posted)

    monkeypatch.setattr(orders.OrderPayment, "write", close_first)
    error = assert_error(pay_order(client, headers, order["order_id"]), 409, "order_not_open")
    assert closed == [200] and error["details"] == {"status": "closed"}
    assert cny(client, headers) == 100_000
    assert events_by_order() == {order["order_id"]: ["order.closed"]}


def test_two_payers_at_once_only_one_pays(client, seeded):
    payers = [customer(client, amount=100_000)[1] for _ in range(3)]
    order = open_order(client, DEMO_KEY, amount=AMOUNT)
    results = run_together(
        *(lambda headers=headers: pay_order(client, headers, order["order_id"]) for headers in payers)
    )
    assert sorted(r.status_code for r in results) == [201, 409, 409]
    for response in results:
        if response.status_code == 409:
            assert refused(response) == {"status": "paid"}
    winner = next(i for i, r in enumerate(results) if r.status_code == 201)
    for i, headers in enumerate(payers):
        assert cny(client, headers) == (100_000 - AMOUNT if i == winner else 100_000)
    final = body_of(get_order(client, DEMO_KEY, order["order_id"]))
    assert final["transaction_id"] == body_of(results[winner])["transaction_id"]
    assert events_by_order() == {order["order_id"]: ["order.paid"]}


def test_one_payer_paying_twice_at_once_with_two_keys_pays_once(client, seeded):
    _, headers = customer(client, amount=100_000)
    order = open_order(client, DEMO_KEY, amount=AMOUNT)
    results = run_together(*(lambda: pay_order(client, headers, order["order_id"]) for _ in range(4)))
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409]
    assert cny(client, headers) == 100_000 - AMOUNT


def test_an_expiry_landing_between_the_payments_read_and_its_write_wins(client, seeded, frozen_clock, monkeypatch):
    _, headers = customer(client, amount=100_000)
    order = open_order(client, DEMO_KEY, amount=AMOUNT, expires_in=60)
    write = orders.OrderPayment.write
    ran = []

    def expire_first(self, work, payer, posted):
        if not ran:  # the job, a second later by its clock, runs after the payment read the order open
            ran.append(run_job("order_expiry", frozen_clock + timedelta(seconds=61))["expired"])
        return write(self, work, payer, posted)

    monkeypatch.setattr(orders.OrderPayment, "write", expire_first)
    error = assert_error(pay_order(client, headers, order["order_id"]), 409, "order_not_open")
    assert ran == [1] and error["details"] == {"status": "expired"}
    assert cny(client, headers) == 100_000
    assert events_by_order() == {order["order_id"]: ["order.expired"]}


def test_a_payment_landing_between_the_jobs_read_and_its_write_wins(client, seeded, frozen_clock, monkeypatch):
    _, headers = customer(client, amount=100_000)
    order = open_order(client, DEMO_KEY, amount=AMOUNT, expires_in=60)
    stale = stored_order(order["order_id"])  # as the job read it: open, and due by the job's clock
    read_by_job = orders.get_order

    def pay_after_the_jobs_read(order_id):
        monkeypatch.setattr(orders, "get_order", read_by_job)  # the payment reads the order itself
        (response,) = run_together(lambda: pay_order(client, headers, order_id))
        assert response.status_code == 201
        return stale

    monkeypatch.setattr(orders, "get_order", pay_after_the_jobs_read)
    result = run_job("order_expiry", frozen_clock + timedelta(seconds=61))
    assert (result["expired"], result["skipped"]) == (0, 1)
    assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["status"] == "paid"
    assert cny(client, headers) == 100_000 - AMOUNT
    assert events_by_order() == {order["order_id"]: ["order.paid"]}


@pytest.mark.parametrize("rounds", [2])
def test_payments_and_the_expiry_job_in_a_burst_each_order_ends_once(client, seeded, frozen_clock, rounds):
    payers = [customer(client, amount=100_000)[1] for _ in range(4)]
    for _ in range(rounds):
        batch = [open_order(client, DEMO_KEY, amount=AMOUNT, expires_in=60) for _ in payers]
        at = clock.isoformat(frozen_clock + timedelta(seconds=60))
        before = [cny(client, headers) for headers in payers]
        results = run_together(
            *(lambda h=h, o=o: pay_order(client, h, o["order_id"]) for h, o in zip(payers, batch, strict=True)),
            lambda at=at: post_json(client, "/_local/jobs/order_expiry", {"now": at}),
        )
        *pays, job = results
        expired = body_of(job)["result"]["expired"]
        assert expired == sum(1 for r in pays if r.status_code == 409)
        events = events_by_order()
        for headers, order, pay, had in zip(payers, batch, pays, before, strict=True):
            status = body_of(get_order(client, DEMO_KEY, order["order_id"]))["status"]
            if pay.status_code == 201:
                assert status == "paid" and events[order["order_id"]] == ["order.paid"]
                assert cny(client, headers) == had - AMOUNT
            else:
                assert refused(pay) == {"status": "expired"}
                assert status == "expired" and events[order["order_id"]] == ["order.expired"]
                assert cny(client, headers) == had
