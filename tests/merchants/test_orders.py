"""The merchant API's orders: create, read, find by number, close (contract v1.2, section 14)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from chalicelib.adapters import clock
from tests.helpers.http import JSON, assert_error, body_of, post_json
from tests.helpers.merchants import (
    DEMO_KEY,
    DEMO_MERCHANT,
    close_order,
    create_order,
    events_of,
    get_order,
    new_shop,
    open_order,
)
from tests.helpers.parallel import run_together


def test_an_order_is_created_open_with_the_contracts_shape(client, seeded, frozen_clock):
    response = create_order(client, DEMO_KEY, out_order_no="SHOP-0001", amount=12_345, currency="HKD", description="书")
    assert response.status_code == 201, response.body
    order = body_of(response)
    order_id = order["order_id"]
    assert order_id.startswith("ord_")
    assert order == {
        "order_id": order_id,
        "out_order_no": "SHOP-0001",
        "merchant_id": DEMO_MERCHANT,
        "status": "open",
        "amount": 12_345,
        "currency": "HKD",
        "description": "书",
        "qr_payload": f"okpay://pay?order={order_id}",
        "expires_at": clock.isoformat(frozen_clock + timedelta(seconds=1_800)),
        "paid_at": None,
        "transaction_id": None,
        "refunded_amount": 0,
        "created_at": clock.isoformat(frozen_clock),
        "object_version": 1,
    }
    assert body_of(get_order(client, DEMO_KEY, order_id)) == order
    assert events_of(DEMO_MERCHANT) == []  # creating reports nothing


@pytest.mark.parametrize("seconds", [60, 86_400])
def test_expires_in_takes_60_seconds_to_a_day(client, seeded, frozen_clock, seconds):
    order = open_order(client, DEMO_KEY, expires_in=seconds)
    assert order["expires_at"] == clock.isoformat(frozen_clock + timedelta(seconds=seconds))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"expires_in": 59}, "expires_in"),
        ({"expires_in": 86_401}, "expires_in"),
        ({"expires_in": 600.0}, "expires_in"),
        ({"amount": 0}, "amount"),
        ({"amount": 10**12 + 1}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"currency": "GBP"}, "currency"),
        ({"out_order_no": ""}, "out_order_no"),
        ({"out_order_no": "x" * 65}, "out_order_no"),
        ({"out_order_no": "has space"}, "out_order_no"),
        ({"description": ""}, "description"),
        ({"ammount": 5}, "ammount"),
    ],
)
def test_an_invalid_order_is_400(client, seeded, fields, field):
    assert_error(create_order(client, DEMO_KEY, **fields), 400, "validation_error", field=field)


def test_the_idempotency_key_is_required_and_replays_the_same_order(client, seeded):
    payload = {"out_order_no": "IDEM-1", "amount": 500, "currency": "CNY", "description": "tea"}
    missing = post_json(client, "/merchant/orders", payload, DEMO_KEY)
    assert_error(missing, 400, "idempotency_key_required")
    first = create_order(client, DEMO_KEY, key="order-key-1", **payload)
    again = create_order(client, DEMO_KEY, key="order-key-1", **payload)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert body_of(again) == body_of(first)
    other_body = create_order(client, DEMO_KEY, key="order-key-1", **{**payload, "amount": 501})
    assert_error(other_body, 422, "idempotency_key_reused")


def test_a_key_is_scoped_to_its_merchant(client, agent):
    _, shop = new_shop(client, agent)
    payload = {"out_order_no": "SAME-NO", "amount": 500, "currency": "CNY", "description": "tea"}
    mine = create_order(client, DEMO_KEY, key="shared-key", **payload)
    theirs = create_order(client, shop, key="shared-key", **payload)
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert body_of(mine)["order_id"] != body_of(theirs)["order_id"]  # and out_order_no is per merchant too


def test_a_used_out_order_no_is_409_with_the_order_and_the_refusal_is_replayed(client, seeded):
    first = open_order(client, DEMO_KEY, out_order_no="DUP-1")
    refused = create_order(client, DEMO_KEY, key="dup-key", out_order_no="DUP-1", amount=999)
    error = assert_error(refused, 409, "order_exists")
    assert error["details"] == {"order_id": first["order_id"]}
    replay = create_order(client, DEMO_KEY, key="dup-key", out_order_no="DUP-1", amount=999)
    assert replay.status_code == 409 and replay.headers.get("Idempotent-Replayed") == "true"


def test_two_creations_with_one_out_order_no_at_once_make_one_order(client, seeded):
    for round_no in range(3):
        number = f"RACE-{round_no}"
        results = run_together(*(lambda n=number: create_order(client, DEMO_KEY, out_order_no=n) for _ in range(4)))
        created = [body_of(r) for r in results if r.status_code == 201]
        refused = [r for r in results if r.status_code == 409]
        assert len(created) == 1 and len(refused) == 3, [r.status_code for r in results]
        for response in refused:
            assert assert_error(response, 409, "order_exists")["details"] == {"order_id": created[0]["order_id"]}


def test_a_currency_the_merchant_does_not_accept_is_422_after_the_409(client, seeded):
    assert_error(create_order(client, DEMO_KEY, currency="JPY"), 422, "currency_not_accepted")
    open_order(client, DEMO_KEY, out_order_no="CUR-1")
    assert_error(create_order(client, DEMO_KEY, out_order_no="CUR-1", currency="JPY"), 409, "order_exists")


def test_an_order_is_found_by_id_or_number_by_its_own_merchant_only(client, agent):
    _, shop = new_shop(client, agent)
    order = open_order(client, DEMO_KEY, out_order_no="FIND-1")
    found = client.get("/merchant/orders?out_order_no=FIND-1", headers=DEMO_KEY)
    assert found.status_code == 200 and body_of(found) == order
    assert_error(client.get("/merchant/orders?out_order_no=FIND-2", headers=DEMO_KEY), 404, "not_found")
    assert_error(client.get("/merchant/orders?out_order_no=FIND-1", headers=shop), 404, "not_found")
    assert_error(get_order(client, shop, order["order_id"]), 404, "not_found")
    assert_error(close_order(client, shop, order["order_id"]), 404, "not_found")
    assert_error(get_order(client, DEMO_KEY, "ord_nope"), 404, "not_found")
    claim_key = "outno#mch_demo#FIND-1"  # the claim's item is not an order
    assert_error(get_order(client, DEMO_KEY, claim_key), 404, "not_found")
    assert_error(client.get("/merchant/orders", headers=DEMO_KEY), 400, "validation_error", field="out_order_no")
    assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["status"] == "open"


def test_closing_an_open_order_reports_it_once(client, seeded):
    order = open_order(client, DEMO_KEY)
    closed = close_order(client, DEMO_KEY, order["order_id"])
    assert closed.status_code == 200, closed.body
    assert body_of(closed) == {**order, "status": "closed", "object_version": 2}
    error = assert_error(close_order(client, DEMO_KEY, order["order_id"]), 409, "order_not_open")
    assert error["details"] == {"status": "closed"}
    (event,) = events_of(DEMO_MERCHANT)
    assert (event.type, event.object_id, event.object_version) == ("order.closed", order["order_id"], 2)
    assert event.data == {"order": body_of(closed)}
    # mch_demo has no webhook_url: the event stays pending, unattempted and out of the dispatch index.
    assert (event.delivery, event.attempts, event.delivery_due) == ("pending", 0, None)


def test_two_closes_at_once_close_once(client, seeded):
    order = open_order(client, DEMO_KEY)
    results = run_together(*(lambda: close_order(client, DEMO_KEY, order["order_id"]) for _ in range(4)))
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409]
    assert [e.type for e in events_of(DEMO_MERCHANT)] == ["order.closed"]


def test_an_order_past_its_expiry_reads_expired_and_cannot_be_closed(client, seeded, frozen_clock):
    order = open_order(client, DEMO_KEY, expires_in=60)
    clock.set_test_clock(frozen_clock + timedelta(seconds=60))
    assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["status"] == "expired"
    error = assert_error(close_order(client, DEMO_KEY, order["order_id"]), 409, "order_not_open")
    assert error["details"] == {"status": "expired"}
    assert events_of(DEMO_MERCHANT) == []  # the job reports the expiry (test_order_expiry.py)


def test_a_body_that_is_not_json_is_400_after_the_key_check(client, seeded):
    raw = client.post("/merchant/orders", body="{", headers={**JSON, **DEMO_KEY, "Idempotency-Key": uuid.uuid4().hex})
    assert_error(raw, 400, "validation_error")
    listed = json.loads(client.get("/merchants").body)["data"]
    assert any(m["merchant_id"] == DEMO_MERCHANT for m in listed)
