"""Webhook delivery (contract v1.2, section 14) to a real HTTP receiver on 127.0.0.1: the signed body,
one `v1=` per active key, the first attempt in the request, the retry schedule on the test clock,
`failed` after the last, redelivery, the events list, DNS rebinding, and overlapping job runs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters import clock, webhook_http
from chalicelib.services.wallet import webhooks
from tests.helpers.clock import move_clock
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.merchants import (
    close_order,
    create_merchant,
    issue_key,
    key_headers,
    new_shop,
    open_order,
    patch_merchant,
    pay_order,
)
from tests.helpers.parallel import run_together
from tests.helpers.support import customer
from tests.helpers.webhooks import start_receiver, stop_receiver, verified_signatures

SCHEDULE_MINUTES = (1, 5, 15, 60, 180, 360, 720, 1440)


@pytest.fixture
def receiver():
    running = start_receiver()
    yield running
    stop_receiver(running)


@pytest.fixture
def shop(client, agent, receiver):
    """A merchant whose webhook_url is the receiver, with two active keys: (id, headers, secrets)."""
    response = create_merchant(client, agent, webhook_url=receiver.url)
    assert response.status_code == 201, response.body
    merchant_id = body_of(response)["merchant_id"]
    keys = [issue_key(client, agent, merchant_id) for _ in range(2)]
    return merchant_id, key_headers(keys[0]["secret_key"]), keys


def events(client, headers, query: str = "") -> dict:
    response = client.get(f"/merchant/events{query}", headers=headers)
    assert response.status_code == 200, response.body
    return body_of(response)


def run_dispatch(client) -> dict:
    response = post_json(client, "/_local/jobs/webhook_dispatch", {})
    assert response.status_code == 200, response.body
    return body_of(response)["result"]


def closed_order_event(client, headers) -> str:
    order = open_order(client, headers)
    assert close_order(client, headers, order["order_id"]).status_code == 200
    # (On a frozen clock several events share one time: find this order's.)
    return next(
        e["event_id"] for e in events(client, headers)["data"] if e["data"]["order"]["order_id"] == order["order_id"]
    )


def test_a_payment_is_posted_signed_with_every_active_key_before_the_response(client, shop, receiver):
    merchant_id, headers, keys = shop
    _, payer = customer(client, amount=100_000)
    order = open_order(client, headers, amount=2_800)
    assert pay_order(client, payer, order["order_id"]).status_code == 201

    assert len(receiver.received) == 1  # the first attempt ran in the paying request
    got = receiver.received[0]
    assert got.path == "/okpay/hooks" and got.headers["Content-Type"].startswith("application/json")
    sent = json.loads(got.body)
    assert set(sent) == {"event_id", "type", "created_at", "object_version", "data"}
    assert (sent["type"], sent["object_version"]) == ("order.paid", 2)
    assert sent["data"]["order"]["order_id"] == order["order_id"] and sent["data"]["order"]["status"] == "paid"
    secrets = [key["webhook_secret"] for key in keys]
    signed_by = verified_signatures(got.headers["Okpay-Signature"], got.body, secrets, clock.now().timestamp())
    assert sorted(signed_by) == sorted(secrets)
    assert got.headers["Okpay-Signature"].count("v1=") == 2
    # A signature of another body, or by a secret that is not the merchant's, does not verify.
    assert verified_signatures(got.headers["Okpay-Signature"], got.body + b" ", secrets, clock.now().timestamp()) == []
    assert verified_signatures(got.headers["Okpay-Signature"], got.body, ["whsec_other"], clock.now().timestamp()) == []

    listed = events(client, headers)["data"]
    assert [(e["event_id"], e["delivery"], e["attempts"]) for e in listed] == [(sent["event_id"], "delivered", 1)]
    assert listed[0]["next_attempt_at"] is None

    # A revoked key's secret signs nothing more.
    merchant_path = f"/admin/merchants/{merchant_id}/keys/{keys[1]['key_id']}"
    from tests.helpers.freezes import an_agent

    assert client.delete(merchant_path, headers=an_agent()[1]).status_code == 204
    close_order(client, headers, open_order(client, headers)["order_id"])
    last = receiver.received[-1]
    assert last.headers["Okpay-Signature"].count("v1=") == 1
    assert verified_signatures(last.headers["Okpay-Signature"], last.body, secrets, clock.now().timestamp()) == [
        keys[0]["webhook_secret"]
    ]


def test_retries_follow_the_schedule_then_the_event_is_failed(client, shop, receiver, frozen_clock):
    _, headers, _ = shop
    receiver.status = 500
    event_id = closed_order_event(client, headers)
    assert len(receiver.received) == 1
    pending = events(client, headers, "?delivery=pending")["data"]
    assert [(e["event_id"], e["attempts"]) for e in pending] == [(event_id, 1)]

    for attempt, minutes in enumerate(SCHEDULE_MINUTES, start=1):
        move_clock(timedelta(minutes=minutes) - timedelta(seconds=1))
        assert run_dispatch(client)["retrying"] == 0
        assert len(receiver.received) == attempt  # not yet due
        move_clock(1)
        result = run_dispatch(client)
        assert len(receiver.received) == attempt + 1, (attempt, result)
        run_dispatch(client)  # a second run at the same moment sends nothing more
        assert len(receiver.received) == attempt + 1

    listed = events(client, headers, "?delivery=failed")["data"]
    assert [(e["event_id"], e["attempts"], e["next_attempt_at"]) for e in listed] == [(event_id, 9, None)]
    assert events(client, headers, "?delivery=pending")["data"] == []
    move_clock(timedelta(days=3))
    run_dispatch(client)
    assert len(receiver.received) == 9  # the first attempt and eight retries, no more
    # Every attempt carried the same event, signed afresh.
    assert len({json.loads(body)["event_id"] for body in receiver.bodies()}) == 1


def test_a_receiver_that_answers_too_late_is_retried_and_then_delivered(
    client, shop, receiver, frozen_clock, monkeypatch
):
    _, headers, _ = shop
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.3)
    receiver.plan = [("sleep", 1.0)]
    event_id = closed_order_event(client, headers)
    [listed] = events(client, headers)["data"]
    assert (listed["delivery"], listed["attempts"]) == ("pending", 1)
    assert listed["next_attempt_at"] == clock.isoformat(clock.now() + timedelta(minutes=1))
    move_clock(timedelta(minutes=1))
    assert run_dispatch(client)["delivered"] == 1
    [listed] = events(client, headers)["data"]
    assert (listed["event_id"], listed["delivery"], listed["attempts"]) == (event_id, "delivered", 2)


def test_a_receiver_that_is_down_never_fails_the_change(client, agent):
    _, headers = new_shop(client, agent, webhook_url="http://127.0.0.1:9/unreachable")
    order = open_order(client, headers)
    closed = close_order(client, headers, order["order_id"])
    assert closed.status_code == 200 and body_of(closed)["status"] == "closed"
    [listed] = events(client, headers)["data"]
    assert (listed["delivery"], listed["attempts"]) == ("pending", 1)


def test_redelivery_sends_it_again_now(client, shop, receiver, agent):
    _, headers, _ = shop
    event_id = closed_order_event(client, headers)
    response = post_json(client, f"/merchant/events/{event_id}/redeliver", {}, headers)
    assert response.status_code == 202, response.body
    assert body_of(response) == {"event_id": event_id, "delivery": "delivered", "attempts": 2}
    assert [json.loads(body)["event_id"] for body in receiver.bodies()] == [event_id, event_id]

    _, other = new_shop(client, agent)
    assert_error(post_json(client, f"/merchant/events/{event_id}/redeliver", {}, other), 404, "not_found")
    assert_error(post_json(client, "/merchant/events/evt_nope/redeliver", {}, headers), 404, "not_found")
    assert len(receiver.received) == 2


def test_a_failed_event_redelivered_to_a_working_receiver_is_delivered(client, shop, receiver, frozen_clock):
    _, headers, _ = shop
    receiver.status = 503
    event_id = closed_order_event(client, headers)
    for minutes in SCHEDULE_MINUTES:
        move_clock(timedelta(minutes=minutes))
        run_dispatch(client)
    assert events(client, headers)["data"][0]["delivery"] == "failed"
    receiver.status = 204
    response = post_json(client, f"/merchant/events/{event_id}/redeliver", {}, headers)
    assert body_of(response) == {"event_id": event_id, "delivery": "delivered", "attempts": 10}


def test_the_events_list_pages_newest_first_and_filters_by_delivery(client, shop, receiver, agent):
    _, headers, _ = shop
    delivered = [closed_order_event(client, headers) for _ in range(3)]
    receiver.status = 500
    pending = closed_order_event(client, headers)

    every = [e["event_id"] for e in events(client, headers)["data"]]
    assert every == [pending, *reversed(delivered)]
    assert [e["event_id"] for e in events(client, headers, "?delivery=pending")["data"]] == [pending]
    assert [e["event_id"] for e in events(client, headers, "?delivery=failed")["data"]] == []

    seen, query = [], "?delivery=delivered&limit=1"
    while True:
        page = events(client, headers, query)
        seen += [e["event_id"] for e in page["data"]]
        assert all(e["delivery"] == "delivered" for e in page["data"])
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
        query = f"?delivery=delivered&limit=1&cursor={cursor}"
    assert seen == list(reversed(delivered))

    first = events(client, headers, "?limit=1")
    other = client.get(f"/merchant/events?delivery=pending&cursor={first['next_cursor']}", headers=headers)
    assert_error(other, 400, "invalid_cursor", field="cursor")
    assert_error(
        client.get("/merchant/events?delivery=sent", headers=headers), 400, "validation_error", field="delivery"
    )
    _, stranger = new_shop(client, agent)
    assert events(client, stranger)["data"] == []


def test_a_host_that_resolves_to_a_private_address_at_delivery_is_not_contacted(client, agent, fake_dns, monkeypatch):
    contacted: list[dict] = []

    def fake_post(**request):
        contacted.append(request)
        return 200

    monkeypatch.setattr(webhook_http, "post", fake_post)
    fake_dns.names["hooks.shop.example"] = ["93.184.216.34"]
    _, headers = new_shop(client, agent, webhook_url="https://hooks.shop.example/okpay")
    closed_order_event(client, headers)
    # Connected to the address checked just now, for the host name (TLS verifies the name).
    assert [(c["address"], c["host"], c["port"], c["scheme"], c["target"]) for c in contacted] == [
        ("93.184.216.34", "hooks.shop.example", 443, "https", "/okpay")
    ]

    fake_dns.names["hooks.shop.example"] = ["10.0.0.1"]  # re-pointed after the URL was accepted
    event_id = closed_order_event(client, headers)
    assert len(contacted) == 1
    fake_dns.names["hooks.shop.example"] = ["93.184.216.34", "127.0.0.1"]  # one private address is enough
    post_json(client, f"/merchant/events/{event_id}/redeliver", {}, headers)
    assert len(contacted) == 1
    [listed] = events(client, headers, "?delivery=pending")["data"]
    assert (listed["event_id"], listed["attempts"]) == (event_id, 2)


def test_without_a_webhook_url_events_are_listed_but_not_attempted(client, agent, receiver, frozen_clock):
    merchant_id, headers = new_shop(client, agent)
    event_id = closed_order_event(client, headers)
    move_clock(timedelta(minutes=5))
    assert run_dispatch(client) == {**run_dispatch(client), "delivered": 0, "retrying": 0}
    [listed] = events(client, headers)["data"]
    assert (listed["event_id"], listed["delivery"], listed["attempts"]) == (event_id, "pending", 0)
    assert patch_merchant(client, agent, merchant_id, webhook_url=receiver.url).status_code == 200
    response = post_json(client, f"/merchant/events/{event_id}/redeliver", {}, headers)
    assert body_of(response) == {"event_id": event_id, "delivery": "delivered", "attempts": 1}
    assert len(receiver.received) == 1


def test_overlapping_job_runs_deliver_each_event_once(client, shop, receiver, frozen_clock):
    _, headers, _ = shop
    receiver.status = 500
    ids = {closed_order_event(client, headers) for _ in range(4)}
    assert len(receiver.received) == 4
    receiver.status = 200
    receiver.plan = [("sleep", 0.2)] * 4  # slow answers, so the runs overlap
    move_clock(timedelta(minutes=1))
    results = run_together(*(lambda: run_dispatch(client) for _ in range(3)))
    assert sum(result["delivered"] for result in results) == 4
    retried = [json.loads(body)["event_id"] for body in receiver.bodies()[4:]]
    assert sorted(retried) == sorted(ids)
    assert {e["delivery"] for e in events(client, headers)["data"]} == {"delivered"}


def test_the_integration_guides_verify_function_accepts_a_real_delivery(client, shop, receiver):
    """docs/merchant-integration.md's Python snippet, run as written, against what was received."""
    from tests.helpers.paths import PROJECT_DIR

    guide = (PROJECT_DIR / "docs" / "merchant-integration.md").read_text(encoding="utf-8")
    snippet = guide.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 (our own documentation)
    _, headers, keys = shop
    closed_order_event(client, headers)
    got = receiver.received[0]
    verify = namespace["verify"]
    assert all(verify(got.body, got.headers["Okpay-Signature"], key["webhook_secret"]) for key in keys)
    assert not verify(got.body + b"x", got.headers["Okpay-Signature"], keys[0]["webhook_secret"])
    assert not verify(got.body, got.headers["Okpay-Signature"], "whsec_not_yours")


def test_an_expiry_is_posted_by_the_job_that_makes_it(client, shop, receiver, frozen_clock):
    _, headers, _ = shop
    order = open_order(client, headers, expires_in=60)
    move_clock(61)
    response = post_json(client, "/_local/jobs/order_expiry", {})
    assert body_of(response)["result"]["expired"] == 1
    [got] = receiver.received
    sent = json.loads(got.body)
    assert (sent["type"], sent["object_version"], sent["data"]["order"]["order_id"]) == (
        "order.expired",
        2,
        order["order_id"],
    )
    assert events(client, headers)["data"][0]["delivery"] == "delivered"


SLOW = 1.0  # seconds a slow receiver takes to answer (well within the timeout)


@pytest.fixture
def slow_shops(client, agent):
    """Two merchants, each with its own receiver, each with 3 events whose first attempt failed:
    [(receiver, event ids)]."""
    shops = []
    for _ in range(2):
        receiver = start_receiver()
        receiver.status = 500
        _, headers = new_shop(client, agent, webhook_url=receiver.url)
        shops.append((receiver, {closed_order_event(client, headers) for _ in range(3)}))
    yield shops
    for receiver, _ in shops:
        stop_receiver(receiver)


def retried_ids(receiver) -> list[str]:
    return sorted(json.loads(body)["event_id"] for body in receiver.bodies()[3:])


def test_a_run_waits_on_slow_receivers_several_at_once(client, slow_shops, frozen_clock):
    for receiver, _ in slow_shops:
        assert receiver.most_at_once == 1  # the first attempts, one per request
        receiver.status = 200
        receiver.plan = [("sleep", SLOW)] * 3
    move_clock(timedelta(minutes=1))
    assert run_dispatch(client)["delivered"] == 6
    for receiver, ids in slow_shops:
        assert retried_ids(receiver) == sorted(ids)  # each event once
        assert receiver.most_at_once > 1  # its events overlapped, not one after another


def test_overlapping_pooled_runs_deliver_each_event_of_each_merchant_once(client, slow_shops, frozen_clock):
    for receiver, _ in slow_shops:
        receiver.status = 200
        receiver.plan = [("sleep", SLOW)] * 3
    move_clock(timedelta(minutes=1))
    results = run_together(*(lambda: run_dispatch(client) for _ in range(3)))
    assert sum(result["delivered"] for result in results) == 6
    assert sum(result["retrying"] + result["failed"] for result in results) == 0
    for receiver, ids in slow_shops:
        assert retried_ids(receiver) == sorted(ids)
    move_clock(timedelta(days=2))
    assert run_dispatch(client)["delivered"] == 0  # nothing left due


def test_a_run_has_at_most_its_workers_in_flight(client, shop, receiver, frozen_clock, monkeypatch):
    _, headers, _ = shop
    receiver.status = 500
    ids = {closed_order_event(client, headers) for _ in range(5)}
    monkeypatch.setattr(webhooks, "WORKERS", 2)
    receiver.status = 200
    receiver.plan = [("sleep", 0.5)] * 5
    move_clock(timedelta(minutes=1))
    assert run_dispatch(client)["delivered"] == 5
    assert sorted(json.loads(body)["event_id"] for body in receiver.bodies()[5:]) == sorted(ids)
    assert receiver.most_at_once == 2


def test_an_event_dynamodb_refuses_is_left_for_the_next_run_and_the_run_goes_on(
    client, shop, receiver, frozen_clock, monkeypatch
):
    _, headers, _ = shop
    receiver.status = 500
    ids = [closed_order_event(client, headers) for _ in range(3)]
    receiver.status = 200
    read = webhooks._get_event

    def throttled_for_one(merchant_id, event_id):
        if event_id == ids[1]:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "GetItem"
            )
        return read(merchant_id, event_id)

    monkeypatch.setattr(webhooks, "_get_event", throttled_for_one)
    move_clock(timedelta(minutes=1))
    result = run_dispatch(client)
    assert (result["delivered"], result["skipped"]) == (2, 1)
    monkeypatch.setattr(webhooks, "_get_event", read)
    assert run_dispatch(client)["delivered"] == 1
    assert sorted(json.loads(body)["event_id"] for body in receiver.bodies()[3:]) == sorted(ids)
