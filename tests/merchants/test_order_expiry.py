"""`order_expiry` job (contract v1.2, section 14): open orders past `expires_at` become `expired`,
each with one `order.expired` event, read by an index and safe to overlap."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters import clock
from chalicelib.store.orders import Order
from tests.helpers.http import body_of, post_json
from tests.helpers.merchants import DEMO_KEY, DEMO_MERCHANT, close_order, events_of, get_order, open_order, pay_order
from tests.helpers.parallel import run_together
from tests.helpers.support import customer


def run_expiry(client, now):
    response = post_json(client, "/_local/jobs/order_expiry", {"now": clock.isoformat(now)})
    assert response.status_code == 200, response.body
    body = body_of(response)
    assert body["job"] == "order_expiry"
    return body["result"]


def status_of(client, order):
    return body_of(get_order(client, DEMO_KEY, order["order_id"]))


def test_only_open_orders_past_their_expiry_expire_each_once_with_its_event(client, seeded, frozen_clock, monkeypatch):
    _, headers = customer(client)
    due = open_order(client, DEMO_KEY, expires_in=60)
    later = open_order(client, DEMO_KEY, expires_in=600)
    paid = open_order(client, DEMO_KEY, expires_in=60)
    closed = open_order(client, DEMO_KEY, expires_in=60)
    assert pay_order(client, headers, paid["order_id"]).status_code == 201
    assert close_order(client, DEMO_KEY, closed["order_id"]).status_code == 200
    monkeypatch.setattr(Order, "scan", lambda *a, **k: (_ for _ in ()).throw(AssertionError("a Scan")))

    assert run_expiry(client, frozen_clock + timedelta(seconds=59))["expired"] == 0
    assert status_of(client, due)["status"] == "open"
    result = run_expiry(client, frozen_clock + timedelta(seconds=61))
    assert result["expired"] == 1
    expired = status_of(client, due)
    assert expired["status"] == "expired" and expired["object_version"] == 2
    assert status_of(client, later)["status"] == "open"
    assert status_of(client, paid)["status"] == "paid"
    assert status_of(client, closed)["status"] == "closed"
    assert run_expiry(client, frozen_clock + timedelta(seconds=62))["expired"] == 0  # a second run: nothing again

    events = [(e.type, e.object_id, int(e.object_version)) for e in events_of(DEMO_MERCHANT)]
    assert sorted(events) == sorted(
        [
            ("order.paid", paid["order_id"], 2),
            ("order.closed", closed["order_id"], 2),
            ("order.expired", due["order_id"], 2),
        ]
    )
    (expiry,) = [e for e in events_of(DEMO_MERCHANT) if e.type == "order.expired"]
    assert expiry.data == {"order": expired}

    assert run_expiry(client, frozen_clock + timedelta(seconds=601))["expired"] == 1
    assert status_of(client, later)["status"] == "expired"


def test_overlapping_runs_expire_each_order_once(client, seeded, frozen_clock):
    orders = [open_order(client, DEMO_KEY, expires_in=60) for _ in range(8)]
    at = frozen_clock + timedelta(seconds=120)
    results = run_together(*(lambda: run_expiry(client, at) for _ in range(3)))
    assert sum(result["expired"] for result in results) == 8
    assert all(status_of(client, order)["status"] == "expired" for order in orders)
    expired_events = [e.object_id for e in events_of(DEMO_MERCHANT) if e.type == "order.expired"]
    assert sorted(expired_events) == sorted(order["order_id"] for order in orders)
