"""The first webhook attempt runs off the paying request (contract v1.2, section 14; issue 15): a
payer never waits on a shop's receiver.

- the local stage's server (`make run`): the pay answers 201 while the receiver is still sleeping,
  and the event is then delivered;
- deployed (the relay topic set): the request publishes one message naming the event and posts
  nothing; the relay function delivers it, once however often SNS delivers the message;
- a publish that fails never fails the payment: the `webhook_dispatch` job delivers the event.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import boto3
import pytest
from chalice.test import Client

import app as app_module
from chalicelib.adapters import clock, webhook_relay
from tests.helpers.http import body_of, post_json
from tests.helpers.merchants import DEMO_KEY, DEMO_MERCHANT, issue_key, new_shop, open_order, pay_order
from tests.helpers.parallel import run_together
from tests.helpers.paths import PROJECT_DIR
from tests.helpers.support import customer
from tests.helpers.webhooks import start_receiver, stop_receiver, verified_signatures
from tests.live_server import local_server
from tests.wallet.test_bank_workload import seed_users

DEMO_WEBHOOK_SECRET = "whsec_okpay_local_demo"  # localstage/seed.py
RECEIVER_SLEEP = 3.0  # seconds the receiver takes to answer: well within the 10 s timeout


@pytest.fixture
def receiver():
    running = start_receiver()
    yield running
    stop_receiver(running)


def events(client, headers) -> list[dict]:
    response = client.get("/merchant/events", headers=headers)
    assert response.status_code == 200, response.body
    return body_of(response)["data"]


# --- the local stage's server: a thread ------------------------------------------------------------


def test_the_local_server_answers_the_payment_before_the_receiver_answers(tmp_path, receiver):
    receiver.plan = [("sleep", RECEIVER_SLEEP)]
    with local_server(tmp_path / "server.log") as live:
        catalog = boto3.client(
            "dynamodb",
            endpoint_url=live.moto_endpoint,
            region_name="ap-southeast-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        catalog.update_item(  # the seeded demo shop's webhooks go to the receiver
            TableName="okpay-local-catalog",
            Key={"kind": {"S": "merchant"}, "item_id": {"S": DEMO_MERCHANT}},
            UpdateExpression="SET webhook_url = :url",
            ExpressionAttributeValues={":url": {"S": receiver.url}},
        )
        [payer] = seed_users(live, "hook", 1, 100_000)
        body = {"out_order_no": uuid.uuid4().hex[:20], "amount": 2_800, "currency": "CNY", "description": "拿铁"}
        status, _, order = live.call(
            "/merchant/orders", "POST", body, {**DEMO_KEY, "Idempotency-Key": uuid.uuid4().hex}
        )
        assert status == 201, order

        started = time.monotonic()
        status, _, paid = live.call(
            f"/orders/{order['order_id']}/pay", "POST", {}, {**payer["auth"], "Idempotency-Key": uuid.uuid4().hex}
        )
        answered_in = time.monotonic() - started
        assert status == 201, paid
        assert answered_in < RECEIVER_SLEEP - 1, answered_in  # the receiver was still sleeping

        deadline = time.monotonic() + RECEIVER_SLEEP + 10
        while True:
            status, _, listed = live.call("/merchant/events", headers=DEMO_KEY)
            assert status == 200, listed
            mine = [e for e in listed["data"] if e["data"]["order"]["order_id"] == order["order_id"]]
            if (mine and mine[0]["delivery"] == "delivered") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert [(e["type"], e["delivery"], e["attempts"]) for e in mine] == [("order.paid", "delivered", 1)]
    [got] = receiver.received
    assert json.loads(got.body)["event_id"] == mine[0]["event_id"]
    signed_by = verified_signatures(got.headers["Okpay-Signature"], got.body, [DEMO_WEBHOOK_SECRET], time.time())
    assert signed_by == [DEMO_WEBHOOK_SECRET]


# --- deployed: the relay topic -------------------------------------------------------------------


@pytest.fixture
def relay_topic(stage, monkeypatch):
    """The relay topic created on moto and named in the environment, as a deployed stage has it."""
    arn = boto3.client("sns", region_name=stage.region).create_topic(Name="okpay-local-webhook-relay")["TopicArn"]
    monkeypatch.setenv("OKPAY_WEBHOOK_RELAY_TOPIC", arn)
    return arn


def published(arn: str) -> list[str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    region = arn.split(":")[3]
    return [message for _, message, *_ in sns_backends[DEFAULT_ACCOUNT_ID][region].topics[arn].sent_notifications]


def invoke_relay(message: str) -> dict:
    """app.py's `webhook_relay` function, called with the event SNS invokes it with. (Not through
    chalice.test.Client's lambda_.invoke: that swaps os.environ per call, which threads racing here
    would leave swapped for later tests.)"""
    with Client(app_module.app, stage_name="local", project_dir=str(PROJECT_DIR)) as lambda_client:
        event = lambda_client.events.generate_sns_event(message=message, subject="")
    return app_module.webhook_relay(event, None)


def paid_shop_order(client, agent, receiver) -> tuple[dict[str, str], str, str]:
    """A shop whose webhooks go to the receiver, and an order of it paid: (headers, secret, event_id)."""
    merchant_id, headers = new_shop(client, agent, webhook_url=receiver.url)
    secret = issue_key(client, agent, merchant_id)["webhook_secret"]
    _, payer = customer(client, amount=100_000)
    order = open_order(client, headers)
    assert pay_order(client, payer, order["order_id"]).status_code == 201
    [event] = events(client, headers)
    assert event["data"]["order"]["order_id"] == order["order_id"]
    return headers, secret, event["event_id"]


def test_deployed_the_payment_publishes_the_event_and_the_relay_delivers_it_once(client, agent, receiver, relay_topic):
    headers, secret, event_id = paid_shop_order(client, agent, receiver)
    merchant_id = events(client, headers)[0]["data"]["order"]["merchant_id"]
    assert receiver.received == []  # nothing posted in the paying request
    [message] = published(relay_topic)
    assert json.loads(message) == {"events": [[merchant_id, event_id]]}
    [listed] = events(client, headers)
    assert (listed["delivery"], listed["attempts"]) == ("pending", 0)

    assert invoke_relay(message) == {"delivered": 1, "retrying": 0, "failed": 0, "skipped": 0}
    [got] = receiver.received
    assert json.loads(got.body)["event_id"] == event_id
    assert len(verified_signatures(got.headers["Okpay-Signature"], got.body, [secret], clock.now().timestamp())) == 1
    [listed] = events(client, headers)
    assert (listed["delivery"], listed["attempts"]) == ("delivered", 1)

    # SNS delivers at least once and Lambda retries: the same message again sends nothing more.
    assert invoke_relay(message)["skipped"] == 1
    assert len(receiver.received) == 1


def test_duplicate_relay_messages_racing_the_job_post_the_event_once(client, agent, receiver, relay_topic):
    headers, _, event_id = paid_shop_order(client, agent, receiver)
    [message] = published(relay_topic)
    receiver.plan = [("sleep", 0.3)] * 3  # slow answers: the three workers overlap
    run_together(
        lambda: invoke_relay(message),
        lambda: invoke_relay(message),
        lambda: post_json(client, "/_local/jobs/webhook_dispatch", {}),
    )
    assert [json.loads(body)["event_id"] for body in receiver.bodies()] == [event_id]
    [listed] = events(client, headers)
    assert (listed["delivery"], listed["attempts"]) == ("delivered", 1)


def test_a_relayed_event_the_job_already_attempted_is_left_to_its_retry_schedule(client, agent, receiver, relay_topic):
    receiver.status = 500
    headers, _, _ = paid_shop_order(client, agent, receiver)
    [message] = published(relay_topic)
    response = post_json(client, "/_local/jobs/webhook_dispatch", {})
    assert body_of(response)["result"]["retrying"] == 1  # the job got there first (it runs every minute)
    assert len(receiver.received) == 1
    receiver.status = 200
    assert invoke_relay(message)["skipped"] == 1  # a late message is no early retry
    assert len(receiver.received) == 1
    [listed] = events(client, headers)
    assert (listed["delivery"], listed["attempts"]) == ("pending", 1)


def test_a_relay_message_naming_no_events_is_dropped(stage, log_lines):
    for message in ("not json", json.dumps({"events": []}), json.dumps({"events": [["mch_x"]]})):
        assert invoke_relay(message) == {"dropped": 1}
    assert [json.loads(line).get("event") for line in log_lines()].count("webhook_relay_dropped") == 3


def test_a_failed_publish_still_pays_and_the_job_delivers_the_event(client, agent, receiver, monkeypatch, log_lines):
    missing = "arn:aws:sns:ap-southeast-1:123456789012:okpay-local-webhook-relay-gone"
    monkeypatch.setenv("OKPAY_WEBHOOK_RELAY_TOPIC", missing)
    headers, secret, event_id = paid_shop_order(client, agent, receiver)  # asserts the 201
    assert receiver.received == []
    [listed] = events(client, headers)
    assert (listed["delivery"], listed["attempts"]) == ("pending", 0)
    [logged] = [json.loads(line) for line in log_lines() if "webhook_relay_unpublished" in line]
    assert logged["events"] == 1 and event_id not in json.dumps(logged)  # no payload, no keys

    response = post_json(client, "/_local/jobs/webhook_dispatch", {})
    assert body_of(response)["result"]["delivered"] == 1
    [got] = receiver.received
    assert json.loads(got.body)["event_id"] == event_id
    assert len(verified_signatures(got.headers["Okpay-Signature"], got.body, [secret], clock.now().timestamp())) == 1
    [listed] = events(client, headers)
    assert (listed["delivery"], listed["attempts"]) == ("delivered", 1)


def test_without_a_topic_or_threads_the_first_attempt_runs_in_the_caller(client, agent, receiver, monkeypatch):
    monkeypatch.delenv("OKPAY_WEBHOOK_RELAY_TOPIC", raising=False)
    monkeypatch.setattr(webhook_relay, "_threads", False)
    _, _, event_id = paid_shop_order(client, agent, receiver)
    assert [json.loads(got.body)["event_id"] for got in receiver.received] == [event_id]


# --- wiring ----------------------------------------------------------------------------------------


def test_the_relay_function_is_subscribed_to_the_stage_topic():
    (handler,) = [source for source in app_module.app.event_sources if source.name == "webhook_relay"] or [None]
    assert handler is not None and handler.topic == "okpay-local-webhook-relay"


def test_the_rest_api_cold_start_does_not_load_the_relay_handler():
    probe = "import json, sys; import app; print(json.dumps('chalicelib.api.webhook_relay' in sys.modules))"
    env = {"AWS_DEFAULT_REGION": "ap-southeast-1", "PATH": os.environ.get("PATH", ""), "OKPAY_STAGE": "dev"}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) is False
