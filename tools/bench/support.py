"""Support operations: filing a dispute, an agent's first reply, and the dispute SLA job after a backlog."""

from __future__ import annotations

import json
import time
from typing import Any

from tools.bench.accounts import make_user, tokens_for
from tools.bench.harness import Bench, Operation, count_aws_calls, format_calls
from tools.bench.identity import agent_setup

OPERATIONS: list[Operation] = []


def _disputes_setup(bench: Bench) -> None:
    """Payments for the bench user to dispute (headers written straight to the table), and open
    disputes for the agent's first replies; the daily filing cap is lifted for the bench user."""
    from chalicelib.adapters import clock
    from chalicelib.services.support import disputes
    from chalicelib.store.disputes import Dispute
    from chalicelib.store.kyc import KycRecord
    from chalicelib.store.wallet import TransactionRecord

    disputes.FILINGS_PER_DAY = 10**6  # one user files hundreds here; real users are capped
    if "agent_auth" not in bench.state:
        agent_setup(bench)
    user = make_user(bench, 40)
    KycRecord(user.user_id, "current", status="approved", level=2, approved_real_name="张三").save()
    stamp = clock.stamp(clock.now())
    leg = {"account_id": f"user#{user.user_id}", "direction": "debit", "amount": 100, "currency": "CNY"}
    # One transaction per filing and one open dispute per first reply, no more: moto copies every
    # table a transaction touches, so a bigger table would bill its size to each request.
    with TransactionRecord.batch_write() as headers, Dispute.batch_write() as open_disputes:
        for n in range(bench.state["requests"]):
            headers.save(
                TransactionRecord(
                    f"txn_dspbench{n:06d}",
                    kind="transaction",
                    type="payment",
                    status="completed",
                    created_at=stamp,
                    parties=[user.user_id],
                    legs=[{**leg, "entry_key": f"{stamp}#ent_{n}", "account_type": "user_wallet"}],
                )
            )
            open_disputes.save(
                Dispute(
                    f"dsp_replybench{n:06d}",
                    status="open",
                    user_id=user.user_id,
                    transaction_id=f"txn_replybench{n:06d}",
                    transaction_type="payment",
                    reason="not_received",
                    description="bench",
                    amount=100,
                    currency="CNY",
                    respond_by=stamp,
                    sla_due=stamp,
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
    bench.state.update(dispute_auth={"Authorization": f"Bearer {tokens_for(user).access_token}"}, filed=0, replied=0)


def _file_dispute(bench: Bench) -> Any:
    n = bench.state["filed"]
    bench.state["filed"] = n + 1
    body = {"transaction_id": f"txn_dspbench{n:06d}", "reason": "duplicate", "description": "charged twice"}
    headers = {**bench.state["dispute_auth"], "Content-Type": "application/json"}
    return bench.http.post("/disputes", headers=headers, body=json.dumps(body).encode())


def _agent_reply(bench: Bench) -> Any:
    n = bench.state["replied"]
    bench.state["replied"] = n + 1
    headers = {**bench.state["agent_auth"], "Content-Type": "application/json"}
    body = json.dumps({"body": "我们正在核实，请稍候。"}).encode()
    return bench.http.post(f"/admin/disputes/dsp_replybench{n:06d}/messages", headers=headers, body=body)


def _bare_case_write(bench: Bench) -> Any:
    # The floor of a case change: read the case, one transaction with two items.
    dynamodb = bench.client("dynamodb")
    dynamodb.get_item(TableName=bench.table("disputes"), Key={"dispute_id": {"S": "dsp_replybench000000"}})
    n = str(time.perf_counter_ns())
    return dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": bench.table("messages"),
                    "Item": {"thread_id": {"S": "bare"}, "message_key": {"S": n}},
                }
            },
            {"Put": {"TableName": bench.table("audit"), "Item": {"subject": {"S": "bare"}, "event_key": {"S": n}}}},
        ]
    )


OPERATIONS.append(
    Operation(
        "POST /disputes",
        request=_file_dispute,
        setup=_disputes_setup,
        bare=_bare_case_write,
        status=201,
        bare_label="GetItem + 1 TransactWriteItems",
        bare_matches_calls=False,
        # session; daily filing counter; ONE BatchGetItem (transaction + open-dispute claim); ONE
        # transaction (dispute, claim, audit, the acknowledgement in the notice outbox); the user, and
        # the email: claimed, sent, marked sent (2 UpdateItem)
        calls={
            "dynamodb.GetItem": 1,
            "dynamodb.UpdateItem": 3,
            "dynamodb.BatchGetItem": 2,
            "dynamodb.TransactWriteItems": 1,
            "ses.SendEmail": 1,
        },
    )
)


OPERATIONS.append(
    Operation(
        "POST /admin/disputes/{id}/messages (first reply)",
        request=_agent_reply,
        bare=_bare_case_write,
        status=201,
        bare_label="GetItem + 1 TransactWriteItems",
        bare_matches_calls=False,
        # session, dispute; ONE transaction (message, open → under_review, audit); the user; the email
        # recorded in the notice outbox right after (PutItem), claimed, sent, marked sent (2 UpdateItem)
        calls={
            "dynamodb.BatchGetItem": 1,
            "dynamodb.GetItem": 2,
            "dynamodb.TransactWriteItems": 1,
            "dynamodb.PutItem": 1,
            "dynamodb.UpdateItem": 2,
            "ses.SendEmail": 1,
        },
    )
)


_SLA_BACKLOG = 1_000


def _dispute_sla_backlog_setup(bench: Bench) -> None:
    """1,000 open disputes past `respond_by`, written straight to the table, then ONE job run over
    them through the local route (a run takes seconds on moto, too long to repeat per request):
    its AWS calls and time are printed here; the table row is the idle run every 15 minutes after."""
    from datetime import timedelta

    from chalicelib.adapters import clock
    from chalicelib.store.disputes import Dispute
    from chalicelib.store.users import User

    now = clock.now()
    respond_by, filed = clock.stamp(now - timedelta(hours=1)), clock.stamp(now - timedelta(days=4))
    with User.batch_write() as users, Dispute.batch_write() as disputes:
        for n in range(_SLA_BACKLOG):
            user_id = f"usr_slabench{n:05d}"
            users.save(
                User(
                    user_id,
                    created_at=filed,
                    locale=("zh-CN", "en")[n % 2],
                    email=f"slabench{n}@example.com",
                    email_verified=True,
                )
            )
            disputes.save(
                Dispute(
                    f"dsp_slabench{n:05d}",
                    status="open",
                    user_id=user_id,
                    transaction_id=f"txn_slabench{n:05d}",
                    transaction_type="payment",
                    reason="not_received",
                    description="bench",
                    amount=100,
                    currency="CNY",
                    respond_by=respond_by,
                    sla_due=respond_by,
                    sla_stage="reminded",
                    escalated=False,
                    created_at=filed,
                    updated_at=filed,
                )
            )
    from chalicelib.jobs import sla_runner

    budget = sla_runner.TIME_BUDGET
    sla_runner.TIME_BUDGET = 600.0  # the whole backlog in one run (moto is slow: 20 s stop near 900 cases)
    counts, undo = count_aws_calls()
    try:
        started = time.perf_counter()
        response = bench.http.post("/_local/jobs/dispute_sla", headers={"Content-Type": "application/json"}, body=b"{}")
        seconds = time.perf_counter() - started
    finally:
        undo()
        sla_runner.TIME_BUDGET = budget
    result = json.loads(response.body)["result"] if response.status_code == 200 else response.body[:200]
    print(
        f"One dispute_sla run over {_SLA_BACKLOG:,} open disputes past respond_by (moto, time budget lifted): "
        f"{seconds:.2f} s"
    )
    print(f"  AWS calls: {sum(counts.values())} = {format_calls(dict(sorted(counts.items())))}")
    print(f"  result: {result}")
    bench.state["dispute_sla_backlog"] = {"seconds": seconds, "calls": dict(counts), "result": result}


def _bare_sla_check(bench: Bench) -> Any:
    from chalicelib.adapters import clock

    dynamodb = bench.client("dynamodb")
    dynamodb.get_item(
        TableName=bench.table("counters"), Key={"counter_id": {"S": "job#dispute_sla"}}, ConsistentRead=True
    )
    return dynamodb.query(
        TableName=bench.table("disputes"),
        IndexName="by_sla_due",
        KeyConditionExpression="#status = :status AND sla_due <= :now",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":status": {"S": "open"}, ":now": {"S": clock.stamp(clock.now())}},
        Limit=100,
    )


OPERATIONS.append(
    Operation(
        "POST /_local/jobs/dispute_sla (idle, after 1,000)",
        request=lambda bench: bench.http.post(
            "/_local/jobs/dispute_sla", headers={"Content-Type": "application/json"}, body=b"{}"
        ),
        setup=_dispute_sla_backlog_setup,
        bare=_bare_sla_check,
        bare_label="GetItem cursor + 1 Query by_sla_due",
        calls={"dynamodb.GetItem": 1, "dynamodb.Query": 1},  # the cursor, one page of what is due
    )
)
