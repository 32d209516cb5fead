"""Wallet operations: top-ups, transfers, payments, conversions, confirming a transfer with its code,
and a page of history."""

from __future__ import annotations

import time
from typing import Any

from tools.bench import raw_movements
from tools.bench.accounts import BENCH_PASSWORD, make_user, post_json, tokens_for
from tools.bench.harness import Bench, Operation, Request

OPERATIONS: list[Operation] = []


def _wallet_setup(bench: Bench) -> None:
    from chalicelib.services.wallet.funding_sources import add_card
    from chalicelib.store.kyc import KycRecord
    from chalicelib.store.users import Claim

    payer = make_user(bench, 5, with_password=True)
    payee = make_user(bench, 6)
    for user, name in ((payer, "张三"), (payee, "李四")):
        KycRecord(user.user_id, "current", status="approved", level=3, approved_real_name=name).save()
    Claim(f"payee#{payer.user_id}#{payee.user_id}", user_id=payer.user_id, created_at=payer.created_at).save()
    from chalicelib.adapters import clock

    pair = tokens_for(payer)
    card = add_card(payer, "6222021234567890128", "张三", None, BENCH_PASSWORD, clock.now(), session_id=pair.session_id)
    bench.state.update(
        payer=payer,
        payee=payee,
        card=card["funding_source_id"],
        payer_auth={"Authorization": f"Bearer {pair.access_token}"},
        payer_session=pair.session_id,  # for the bares' session check
    )


def _top_up(bench: Bench) -> Any:
    return post_json(
        bench, "/me/topups", {"funding_source_id": bench.state["card"], "amount": 100_000, "currency": "CNY"}
    )


def _transfer(bench: Bench) -> Any:
    # 1 fen to a known payee: completes at once, far inside the step-up budget.
    return post_json(
        bench, "/transfers", {"recipient": {"user_id": bench.state["payee"].user_id}, "amount": 1, "currency": "CNY"}
    )


def _bare_posting(bench: Bench) -> Any:
    """The floor of a two-account posting: read both balances, one transaction with two entries."""
    dynamodb = bench.client("dynamodb")
    payer, payee = bench.state["payer"].user_id, bench.state["payee"].user_id
    table = bench.table("balances")
    dynamodb.batch_get_item(
        RequestItems={
            table: {
                "Keys": [
                    {"account_id": {"S": f"user#{payer}"}, "currency": {"S": "CNY"}},
                    {"account_id": {"S": f"user#{payee}"}, "currency": {"S": "CNY"}},
                ],
                "ConsistentRead": True,
            }
        }
    )
    n = str(time.perf_counter_ns())
    return dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": bench.table("ledger"),
                    "Item": {"account_id": {"S": "bare"}, "entry_key": {"S": n + "a"}},
                }
            },
            {
                "Put": {
                    "TableName": bench.table("ledger"),
                    "Item": {"account_id": {"S": "bare"}, "entry_key": {"S": n + "b"}},
                }
            },
        ]
    )


OPERATIONS.append(
    Operation(
        "POST /me/topups",
        request=_top_up,
        setup=_wallet_setup,
        bare=_bare_posting,
        status=201,
        bare_label="BatchGet 2 balances + 1 TransactWriteItems",
        bare_matches_calls=False,
        # session check, key marker, card, balances; the attempt recorded before the charge (one
        # transaction: attempt + key pointer), the posting (one transaction); 1 PutItem is the
        # simulated bank's own record of the charge
        calls={
            "dynamodb.GetItem": 1,
            "dynamodb.PutItem": 2,
            "dynamodb.BatchGetItem": 2,
            "dynamodb.TransactWriteItems": 2,
        },
    )
)


# The internal movements: the session check (a BatchGetItem with the user), ONE BatchGetItem for
# everything the checks read (payer, payee or merchant, counters …), ONE transaction, which also
# writes the Idempotency-Key's record. Their bares make these very calls (tools/bench/raw_movements.py).
INTERNAL_MOVEMENT_CALLS = {"dynamodb.BatchGetItem": 2, "dynamodb.TransactWriteItems": 1}
SAME_CALLS = "the same calls, raw botocore"


def _internal_movement(name: str, request: Request, bare: Request) -> Operation:
    return Operation(name, request=request, bare=bare, status=201, bare_label=SAME_CALLS, calls=INTERNAL_MOVEMENT_CALLS)


OPERATIONS.append(_internal_movement("POST /transfers (known user id)", _transfer, raw_movements.transfer))


def _payment(bench: Bench) -> Any:
    body = {
        "merchant_id": "mer_morning_cafe",
        "amount": 1,
        "currency": "CNY",
        "order_reference": f"o{time.perf_counter_ns()}",
    }
    return post_json(bench, "/payments", body)


def _conversion(bench: Bench) -> Any:
    return post_json(bench, "/me/conversions", {"from_currency": "CNY", "to_currency": "JPY", "amount": 100})


OPERATIONS.append(_internal_movement("POST /payments", _payment, raw_movements.payment))


OPERATIONS.append(_internal_movement("POST /me/conversions", _conversion, raw_movements.conversion))


def _pending_transfer(bench: Bench, supply: str) -> None:
    """A transfer waiting for its code (the day's budget is spent), and that code, off the clock;
    added to `bench.state[supply]`."""
    import re

    from chalicelib.adapters import clock, outbox
    from chalicelib.services.common import rate_limits
    from chalicelib.services.wallet import transfers

    allow = rate_limits.reserve_sms_code
    rate_limits.reserve_sms_code = lambda *args, **kwargs: None  # the bench sends hundreds of codes
    try:
        payer, payee = bench.state["payer"], bench.state["payee"]
        ref = transfers.RecipientRef(user_id=payee.user_id)
        _, view = transfers.send(payer.user_id, ref, 1, "CNY", None, clock.now())
    finally:
        rate_limits.reserve_sms_code = allow
    code = re.search(r"(?:Code |验证码 )(\d{6})", outbox.messages(payer.phone)[0].body).group(1)
    bench.state.setdefault(supply, []).append((view["transfer_id"], code))


def _confirm_setup(bench: Bench) -> None:
    """The day's step-up budget spent, so every transfer waits for a code; one waiting transfer per
    request for the app, and as many for the bare."""
    from chalicelib.adapters import clock
    from chalicelib.services.wallet.step_up import STEP_UP_BUDGET, budget_counter_id
    from chalicelib.store.counters import Counter

    Counter(budget_counter_id(bench.state["payer"].user_id, clock.now())).update(
        actions=[Counter.count.set(STEP_UP_BUDGET)]
    )
    for _ in range(bench.state["requests"]):
        _pending_transfer(bench, "pending")
        _pending_transfer(bench, "bare_pending")


def _confirm(bench: Bench) -> Any:
    transfer_id, code = bench.state["pending"].pop()
    return post_json(bench, f"/transfers/{transfer_id}/confirm", {"code": code})


OPERATIONS.append(
    Operation(
        "POST /transfers/{id}/confirm",
        request=_confirm,
        setup=_confirm_setup,
        bare=raw_movements.confirm,
        status=200,
        bare_label=SAME_CALLS,
        # the session check, the key's in-flight marker, the transfer and the payer, the try
        # counted (UpdateItem), the checks' read, the transaction (which finishes the marker)
        calls={
            "dynamodb.BatchGetItem": 2,
            "dynamodb.PutItem": 1,
            "dynamodb.GetItem": 2,
            "dynamodb.UpdateItem": 1,
            "dynamodb.TransactWriteItems": 1,
        },
    )
)


def _history_page(bench: Bench) -> Any:
    return bench.http.get("/me/transactions?limit=20", headers=bench.state["payer_auth"])


def _bare_history(bench: Bench) -> Any:
    return bench.client("dynamodb").query(
        TableName=bench.table("ledger"),
        KeyConditionExpression="account_id = :a",
        ExpressionAttributeValues={":a": {"S": f"user#{bench.state['payer'].user_id}"}},
        ScanIndexForward=False,
        Limit=20,
    )


OPERATIONS.append(
    Operation(
        "GET /me/transactions (20)",
        request=_history_page,
        bare=_bare_history,
        bare_label="1 Query ledger",
        bare_matches_calls=False,
        calls={"dynamodb.BatchGetItem": 1, "dynamodb.Query": 1},  # the session check + 1 Query
    )
)
