"""Merchant refunds of paid orders (contract v1.2, section 14): the money, the order, the event, the
one refund per `out_refund_no`, and the cap that merchant and dispute refunds share, under races."""

from __future__ import annotations

import uuid

from chalicelib.store.wallet import LedgerEntry, TransactionRecord
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.merchants import (
    DEMO_KEY,
    DEMO_MERCHANT,
    close_order,
    events_of,
    get_order,
    new_shop,
    open_order,
    pay_order,
)
from tests.helpers.parallel import run_together
from tests.helpers.support import customer
from tests.helpers.wallet import balances

AMOUNT = 2_800


def refund(client, shop, order_id: str, amount: int, out_refund_no: str | None = None, key: str | None = None, **more):
    payload = {"amount": amount, "out_refund_no": out_refund_no or uuid.uuid4().hex[:16], **more}
    headers = {**shop, "Idempotency-Key": key or uuid.uuid4().hex}
    return post_json(client, f"/merchant/orders/{order_id}/refunds", payload, headers)


def paid_order(client, amount: int = AMOUNT, shop=DEMO_KEY):
    user, headers = customer(client, amount=100_000)
    order = open_order(client, shop, amount=amount)
    paid = pay_order(client, headers, order["order_id"])
    assert paid.status_code == 201, paid.body
    return user, headers, order, body_of(paid)


def cny(client, headers) -> int:
    return balances(client, headers).get("CNY", 0)


def merchant_net(merchant_id: str) -> int:
    """The merchant account's balance: its credits minus its debits over every shard of its entries."""
    total = 0
    for shard in range(16):
        for entry in LedgerEntry.query(f"merchant#{merchant_id}#{shard:02d}"):
            total += int(entry.amount) if entry.direction == "credit" else -int(entry.amount)
    return total


def test_a_partial_then_a_full_refund_moves_the_money_and_the_order(client, seeded):
    _, headers, order, payment = paid_order(client)
    before = merchant_net(DEMO_MERCHANT)
    response = refund(client, DEMO_KEY, order["order_id"], 1_000, "R-1", reason="少了一杯")
    assert response.status_code == 201, response.body
    first = body_of(response)["refund"]
    assert {k: first[k] for k in ("out_refund_no", "amount", "currency", "status")} == {
        "out_refund_no": "R-1",
        "amount": 1_000,
        "currency": "CNY",
        "status": "succeeded",
    }
    assert first["refund_id"].startswith("rfd_") and first["created_at"].endswith("+08:00")
    assert cny(client, headers) == 100_000 - AMOUNT + 1_000
    assert merchant_net(DEMO_MERCHANT) == before - 1_000
    view = body_of(get_order(client, DEMO_KEY, order["order_id"]))
    assert (view["status"], view["refunded_amount"], view["object_version"]) == ("partially_refunded", 1_000, 3)

    # The payer sees a `refund` credit from the merchant; the ledger is double entry.
    mine = body_of(client.get(f"/me/transactions/{first['transaction_id']}", headers=headers))
    assert (mine["type"], mine["direction"], mine["amount"]) == ("refund", "credit", 1_000)
    assert mine["counterparty"]["kind"] == "merchant" and mine["counterparty"]["id"] == DEMO_MERCHANT
    legs = list(LedgerEntry.by_transaction.query(first["transaction_id"]))
    assert sorted((leg.account_type, leg.direction, int(leg.amount)) for leg in legs) == [
        ("merchant", "debit", 1_000),
        ("user_wallet", "credit", 1_000),
    ]
    assert int(TransactionRecord.get(payment["transaction_id"]).refunded) == 1_000

    rest = refund(client, DEMO_KEY, order["order_id"], AMOUNT - 1_000, "R-2")
    assert rest.status_code == 201, rest.body
    view = body_of(get_order(client, DEMO_KEY, order["order_id"]))
    assert (view["status"], view["refunded_amount"], view["object_version"]) == ("refunded", AMOUNT, 4)
    assert cny(client, headers) == 100_000
    assert merchant_net(DEMO_MERCHANT) == before - AMOUNT

    # Each refund is reported, with the order's version as it left it.
    reported = [(e.type, int(e.object_version)) for e in events_of(DEMO_MERCHANT) if e.object_id == order["order_id"]]
    assert reported == [("order.paid", 2), ("refund.succeeded", 3), ("refund.succeeded", 4)]
    last = [e for e in events_of(DEMO_MERCHANT) if e.object_id == order["order_id"]][-1]
    assert last.data["refund"]["out_refund_no"] == "R-2" and last.data["order"]["status"] == "refunded"

    # Nothing left to refund.
    error = assert_error(refund(client, DEMO_KEY, order["order_id"], 1), 422, "amount_exceeds_refundable")
    assert error["details"] == {"refundable": {"amount": 0, "currency": "CNY"}}


def test_more_than_what_is_left_is_422_and_moves_nothing(client, seeded):
    _, headers, order, _ = paid_order(client)
    assert refund(client, DEMO_KEY, order["order_id"], 2_000).status_code == 201
    balance = cny(client, headers)
    error = assert_error(refund(client, DEMO_KEY, order["order_id"], 801), 422, "amount_exceeds_refundable")
    assert error["field"] == "amount" and error["details"] == {"refundable": {"amount": 800, "currency": "CNY"}}
    assert cny(client, headers) == balance
    assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["refunded_amount"] == 2_000


def test_the_same_out_refund_no_is_the_same_refund_and_another_amount_is_409(client, seeded):
    _, headers, order, _ = paid_order(client)
    first = refund(client, DEMO_KEY, order["order_id"], 500, "SAME")
    assert first.status_code == 201
    again = refund(client, DEMO_KEY, order["order_id"], 500, "SAME")  # a new Idempotency-Key
    assert again.status_code == 200 and body_of(again) == body_of(first)
    error = assert_error(refund(client, DEMO_KEY, order["order_id"], 600, "SAME"), 409, "refund_exists")
    assert error["details"] == {"refund_id": body_of(first)["refund"]["refund_id"]}
    # The number is the merchant's: on another of its orders it is taken too.
    _, _, other, _ = paid_order(client)
    assert_error(refund(client, DEMO_KEY, other["order_id"], 500, "SAME"), 409, "refund_exists")
    assert cny(client, headers) == 100_000 - AMOUNT + 500


def test_the_idempotency_key_replays_and_refuses_another_body(client, seeded):
    _, headers, order, _ = paid_order(client)
    first = refund(client, DEMO_KEY, order["order_id"], 300, "K-1", key="refund-key-1")
    replay = refund(client, DEMO_KEY, order["order_id"], 300, "K-1", key="refund-key-1")
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert body_of(replay) == body_of(first)
    assert_error(
        refund(client, DEMO_KEY, order["order_id"], 400, "K-2", key="refund-key-1"), 422, "idempotency_key_reused"
    )
    missing = post_json(
        client, f"/merchant/orders/{order['order_id']}/refunds", {"amount": 1, "out_refund_no": "x"}, DEMO_KEY
    )
    assert_error(missing, 400, "idempotency_key_required")
    assert cny(client, headers) == 100_000 - AMOUNT + 300


def test_an_order_never_paid_is_409_order_not_open(client, seeded):
    order = open_order(client, DEMO_KEY)
    assert assert_error(refund(client, DEMO_KEY, order["order_id"], 100), 409, "order_not_open")["details"] == {
        "status": "open"
    }
    assert close_order(client, DEMO_KEY, order["order_id"]).status_code == 200
    assert assert_error(refund(client, DEMO_KEY, order["order_id"], 100), 409, "order_not_open")["details"] == {
        "status": "closed"
    }


def test_another_merchants_order_is_404_and_bad_bodies_are_400(client, seeded, agent):
    _, _, order, _ = paid_order(client)
    _, other_shop = new_shop(client, agent)
    assert_error(refund(client, other_shop, order["order_id"], 100), 404, "not_found")
    assert_error(refund(client, DEMO_KEY, "ord_nope", 100), 404, "not_found")
    assert_error(refund(client, DEMO_KEY, order["order_id"], 0), 400, "validation_error", field="amount")
    assert_error(
        refund(client, DEMO_KEY, order["order_id"], 100, "x" * 65), 400, "validation_error", field="out_refund_no"
    )
    assert_error(refund(client, DEMO_KEY, order["order_id"], 10.5), 400, "validation_error", field="amount")


def test_parallel_refunds_never_pass_what_was_paid(client, seeded):
    _, headers, order, payment = paid_order(client, amount=3_000)
    results = run_together(*(lambda: refund(client, DEMO_KEY, order["order_id"], 1_000) for _ in range(5)))
    statuses = sorted(r.status_code for r in results)
    # Three fit; the other two are refused once the cap is reached.
    assert statuses == [201, 201, 201, 422, 422], [r.body for r in results]
    done = 3
    view = body_of(get_order(client, DEMO_KEY, order["order_id"]))
    assert view["refunded_amount"] == 1_000 * done
    assert cny(client, headers) == 100_000 - 3_000 + 1_000 * done
    assert int(TransactionRecord.get(payment["transaction_id"]).refunded) == 1_000 * done
    refunds_reported = [
        e for e in events_of(DEMO_MERCHANT) if e.object_id == order["order_id"] and e.type == "refund.succeeded"
    ]
    assert len(refunds_reported) == done


def test_parallel_refunds_with_one_out_refund_no_refund_once(client, seeded):
    _, headers, order, _ = paid_order(client)
    results = run_together(*(lambda: refund(client, DEMO_KEY, order["order_id"], 700, "ONCE") for _ in range(4)))
    assert sorted(r.status_code for r in results) == [200, 200, 200, 201]
    assert len({body_of(r)["refund"]["refund_id"] for r in results}) == 1
    assert cny(client, headers) == 100_000 - AMOUNT + 700
    assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["refunded_amount"] == 700


# --- dispute refunds share the cap ------------------------------------------------------------------


def file_dispute(client, headers, transaction_id: str, amount: int | None = None) -> dict:
    payload = {"transaction_id": transaction_id, "reason": "not_received", "description": "咖啡没有送到"}
    if amount is not None:
        payload["amount"] = amount
    response = post_json(client, "/disputes", payload, headers)
    assert response.status_code == 201, response.body
    return body_of(response)


def resolve_refunded(client, agent, dispute_id: str, amount: int):
    payload = {"outcome": "refunded", "refund_amount": amount, "note": "商户未发货"}
    headers = {**agent, "Idempotency-Key": uuid.uuid4().hex}
    return post_json(client, f"/admin/disputes/{dispute_id}/resolve", payload, headers)


def test_a_dispute_refund_counts_against_the_merchants_refundable_amount(client, seeded, agent):
    _, headers, order, payment = paid_order(client)
    dispute = file_dispute(client, headers, payment["transaction_id"], amount=2_000)
    assert resolve_refunded(client, agent, dispute["dispute_id"], 2_000).status_code == 200
    view = body_of(get_order(client, DEMO_KEY, order["order_id"]))
    assert (view["status"], view["refunded_amount"], view["object_version"]) == ("partially_refunded", 2_000, 3)
    reported = [e for e in events_of(DEMO_MERCHANT) if e.object_id == order["order_id"]][-1]
    assert reported.type == "refund.succeeded" and reported.data["refund"]["refund_id"] == dispute["dispute_id"]
    error = assert_error(refund(client, DEMO_KEY, order["order_id"], 801), 422, "amount_exceeds_refundable")
    assert error["details"] == {"refundable": {"amount": 800, "currency": "CNY"}}
    assert refund(client, DEMO_KEY, order["order_id"], 800).status_code == 201
    assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["status"] == "refunded"
    assert cny(client, headers) == 100_000


def test_a_merchant_refund_and_a_dispute_refund_racing_never_pass_the_cap(client, seeded, agent):
    for _ in range(3):
        _, headers, order, payment = paid_order(client)
        dispute = file_dispute(client, headers, payment["transaction_id"], amount=2_000)
        by_merchant, by_agent = run_together(
            lambda order=order: refund(client, DEMO_KEY, order["order_id"], 2_000),
            lambda dispute=dispute: resolve_refunded(client, agent, dispute["dispute_id"], 2_000),
        )
        # 2,000 + 2,000 > 2,800: exactly one of them moves money.
        assert sorted([by_merchant.status_code, by_agent.status_code]) in ([201, 422], [200, 422]), (
            by_merchant.body,
            by_agent.body,
        )
        loser = by_merchant if by_merchant.status_code == 422 else by_agent
        assert body_of(loser)["error"]["code"] == "amount_exceeds_refundable"
        assert cny(client, headers) == 100_000 - AMOUNT + 2_000
        assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["refunded_amount"] == 2_000
        assert int(TransactionRecord.get(payment["transaction_id"]).refunded) == 2_000
