"""Merchant checkout (contract v1.2, section 14): a shop creating an order, a user paying one, and the
`webhook_dispatch` job delivering a batch of events to a receiver on 127.0.0.1.

Creating is compared with its floor written by hand (the key lookup, the merchant, the number's claim,
one transaction); paying with a `POST /payments`' own calls (tools/bench/raw_movements.py): what an
order adds is reading it and writing it in the same transaction, then the event's first attempt.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.bench import raw_movements
from tools.bench.harness import AwsCalls, Bench, Operation, format_calls

OPERATIONS: list[Operation] = []
SHOP = {"Authorization": "Bearer sk_test_okpay_local_demo", "Content-Type": "application/json"}  # seeded mch_demo


def _create_order(bench: Bench) -> Any:
    body = {"out_order_no": uuid.uuid4().hex[:20], "amount": 1, "currency": "CNY", "description": "bench"}
    headers = {**SHOP, "Idempotency-Key": f"bench-{time.perf_counter_ns()}"}
    return bench.http.post("/merchant/orders", headers=headers, body=json.dumps(body).encode())


def _bare_create_order(bench: Bench) -> Any:
    """The floor: the key's lookup and the merchant (GetItem each), the number's claim (GetItem), one
    transaction putting the order and the claim."""
    dynamodb = bench.client("dynamodb")
    merchants, orders, catalog = bench.table("merchants"), bench.table("orders"), bench.table("catalog")
    dynamodb.get_item(TableName=merchants, Key={"merchant_id": {"S": "secret#bare"}, "item": {"S": "key"}})
    dynamodb.get_item(TableName=catalog, Key={"kind": {"S": "merchant"}, "item_id": {"S": "mch_demo"}})
    number = uuid.uuid4().hex
    dynamodb.get_item(TableName=orders, Key={"order_id": {"S": f"outno#mch_demo#{number}"}}, ConsistentRead=True)
    order_id = f"ord_{uuid.uuid4().hex}"
    absent = "attribute_not_exists(order_id)"
    return dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": orders, "Item": {"order_id": {"S": order_id}}, "ConditionExpression": absent}},
            {
                "Put": {
                    "TableName": orders,
                    "Item": {"order_id": {"S": f"outno#mch_demo#{number}"}, "owner": {"S": order_id}},
                    "ConditionExpression": absent,
                }
            },
        ]
    )


OPERATIONS.append(
    Operation(
        "POST /merchant/orders",
        request=_create_order,
        bare=_bare_create_order,
        status=201,
        bare_label="3 GetItem + 1 TransactWriteItems",
        bare_matches_calls=False,
        # the key's lookup and the merchant, the number's claim, the transaction (with the key's answer)
        calls={"dynamodb.GetItem": 3, "dynamodb.TransactWriteItems": 1},
    )
)


def _pay_setup(bench: Bench) -> None:
    """One open order per request (the wallet's payer pays them; set up here when run alone)."""
    if "payer_auth" not in bench.state:
        from tools.bench import wallet
        from tools.bench.accounts import post_json

        wallet._wallet_setup(bench)
        post_json(bench, "/me/topups", {"funding_source_id": bench.state["card"], "amount": 100_000, "currency": "CNY"})
    else:  # the transfer-confirmation row spent the day's step-up budget: a payment needs it back
        from chalicelib.adapters import clock
        from chalicelib.services.wallet.step_up import budget_counter_id
        from chalicelib.store.counters import Counter

        Counter(budget_counter_id(bench.state["payer"].user_id, clock.now())).update(actions=[Counter.count.set(0)])
    bench.state["orders"] = [json.loads(_create_order(bench).body)["order_id"] for _ in range(bench.state["requests"])]


def _pay_order(bench: Bench) -> Any:
    headers = {**bench.state["payer_auth"], "Content-Type": "application/json"}
    headers["Idempotency-Key"] = f"bench-{time.perf_counter_ns()}"
    return bench.http.post(f"/orders/{bench.state['orders'].pop()}/pay", headers=headers, body=b"{}")


OPERATIONS.append(
    Operation(
        "POST /orders/{id}/pay",
        request=_pay_order,
        setup=_pay_setup,
        bare=raw_movements.payment,
        status=201,
        bare_label="POST /payments' calls, raw botocore",
        bare_matches_calls=False,
        # the session check, the order, the pipeline's one read (with the order and the merchant), the
        # transaction; then the event's first attempt: the merchant (its webhook_url) and, mch_demo
        # having none, the event taken out of the dispatch index (UpdateItem)
        calls={
            "dynamodb.BatchGetItem": 2,
            "dynamodb.GetItem": 2,
            "dynamodb.TransactWriteItems": 1,
            "dynamodb.UpdateItem": 1,
        },
    )
)


# --- the webhook_dispatch job ----------------------------------------------------------------------


def _receiver() -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def measure_dispatch(counter: AwsCalls, events: int) -> dict[str, Any]:
    """`events` pending events of one merchant whose webhook_url is a local receiver, then one
    `webhook_dispatch` run: its wall time, events per second and AWS calls per event. Must run inside
    the bench's moto (tools/bench/report.py's `run_operations`)."""
    from chalicelib.adapters import clock
    from chalicelib.services.common.unit_of_work import unit_of_work
    from chalicelib.services.wallet import merchants, order_events, webhooks

    server = _receiver()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        now = clock.now()
        shop = merchants.create_merchant("Bench Webhooks", "retail", ["CNY"], url, now)
        merchants.issue_key(shop.item_id, now)
        for n in range(events):
            with unit_of_work(now) as work:
                order_events.record(
                    work, shop.item_id, order_events.ORDER_CLOSED, f"ord_bench{n}", 2, {"order": {"n": n}}, now
                )
        counter.take()
        started = time.perf_counter()
        result = webhooks.dispatch_due(clock.now())
        elapsed = time.perf_counter() - started
        calls = counter.take()
    finally:
        server.shutdown()
        server.server_close()
    per_event = {name: count / max(events, 1) for name, count in calls.items()}
    return {"events": events, "seconds": elapsed, "result": result, "per_event": per_event}


def print_dispatch(figures: dict[str, Any]) -> None:
    events, seconds = figures["events"], figures["seconds"]
    print(f"Webhook dispatch: {events} pending events, one `webhook_dispatch` run to a receiver on 127.0.0.1")
    print(f"  {figures['result']}")
    print(f"  {seconds:.2f} s, {events / seconds:.0f} events/s, {1000 * seconds / max(events, 1):.2f} ms/event")
    print(f"  AWS calls per event: {format_calls(figures['per_event'])}")
