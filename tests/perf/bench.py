"""`make bench`: what a request costs, in AWS calls and in time, and what `import app` costs.

For each operation in `OPERATIONS`:

* AWS calls per request, counted with a botocore `before-call` hook on every botocore session
  (PynamoDB's per-thread sessions, boto3's, ours), so a request that starts making an extra call
  shows up here;
* p50/p95 latency through `chalice.test.Client` in the local stage, on moto, after a warm-up;
* the p50 of a "bare" version of the request: the minimal AWS calls the operation needs, made with
  a raw botocore client in the same process, or for an operation that needs none, a bare Chalice app
  route that returns a constant through the same test client; and the ratio app/bare.

Then the cold start: `import app` against a bare `import chalice, boto3`, each in fresh processes with
only a region in the environment.

Adding an operation is a few lines: `register(Operation("GET /path", bare=..., calls={...}))`.
This is a script, not a test: `python -m tests.perf.bench [-n ITERATIONS]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
REGION = "ap-southeast-1"
COLD_START_TARGET = 1.5


# --- the registry ---------------------------------------------------------------------------


@dataclass
class Bench:
    """What operations get to work with. Built by `main()` inside `mock_aws()`."""

    http: Any  # chalice.test.TestHTTPClient on the app, stage `local`
    bare_http: Any  # the same kind of client on a bare Chalice app (routes /constant)
    settings: Any  # chalicelib.adapters.config.Settings of the local stage
    state: dict[str, Any] = field(default_factory=dict)  # for operations' setup (tokens, ids …)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A raw botocore client for the bare functions, made once and reused like the app's."""
        if service not in self._clients:
            import botocore.session

            self._clients[service] = botocore.session.get_session().create_client(service, region_name=REGION)
        return self._clients[service]

    def table(self, logical: str) -> str:
        return self.settings.table_name(logical)


Request = Callable[[Bench], Any]


@dataclass(frozen=True)
class Operation:
    """One request to measure.

    `request` performs it through `bench.http` and returns the response; by default it sends `method`
    and `path` (from `name`) with `body` and `headers`. `bare` makes the minimal AWS calls the
    operation needs; None means the operation needs none, so it is compared with a bare Chalice route
    returning a constant. `calls` is what one request must call, e.g. {"dynamodb.Query": 1}; the
    bench checks it (and that `bare` makes the same calls).
    """

    name: str  # "METHOD /path"
    request: Request | None = None
    bare: Request | None = None
    bare_label: str = ""
    calls: dict[str, int] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    setup: Callable[[Bench], None] | None = None  # run once, before the warm-up
    # False when `bare` is the floor the operation is compared with, not the same calls made leaner.
    bare_matches_calls: bool = True
    # False for work whose call count depends on the data (a job): printed, not checked.
    check_calls: bool = True

    @property
    def method(self) -> str:
        return self.name.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.name.split(" ", 1)[1]

    def perform(self, bench: Bench) -> Any:
        if self.request is not None:
            return self.request(bench)
        headers = dict(self.headers)
        body = b""
        if self.body is not None:
            headers.setdefault("Content-Type", "application/json")
            body = json.dumps(self.body).encode()
        return bench.http.request(self.method, self.path, headers=headers, body=body)

    def perform_bare(self, bench: Bench) -> Any:
        if self.bare is not None:
            return self.bare(bench)
        if self.method == "GET":
            return bench.bare_http.get("/constant")
        return bench.bare_http.request(
            self.method, "/constant", headers={"Content-Type": "application/json"}, body=b"{}"
        )

    @property
    def bare_description(self) -> str:
        return self.bare_label or ("constant Chalice route" if self.bare is None else "bare AWS calls")


OPERATIONS: list[Operation] = []


def register(operation: Operation) -> Operation:
    OPERATIONS.append(operation)
    return operation


def _query_merchants(bench: Bench) -> Any:
    return bench.client("dynamodb").query(
        TableName=bench.table("catalog"),
        KeyConditionExpression="#kind = :kind",
        ExpressionAttributeNames={"#kind": "kind"},
        ExpressionAttributeValues={":kind": {"S": "merchant"}},
    )


def _get_latest_rates(bench: Bench) -> Any:
    return bench.client("dynamodb").get_item(
        TableName=bench.table("catalog"), Key={"kind": {"S": "fx_rates"}, "item_id": {"S": "latest"}}
    )


register(Operation("GET /health"))
register(Operation("GET /support/contact"))
register(
    Operation(
        "GET /merchants",
        bare=_query_merchants,
        bare_label="1 Query catalog/merchant",
        calls={"dynamodb.Query": 1},
        headers={"Accept-Language": "zh-CN"},
    )
)
register(
    Operation("GET /fx/rates", bare=_get_latest_rates, bare_label="1 GetItem catalog", calls={"dynamodb.GetItem": 1})
)
register(Operation("GET /openapi.json"))
register(Operation("POST /_local/jobs/reconcile", body={}, check_calls=False))


# --- identity and KYC ---------------------------------------------------------------------------

BENCH_PASSWORD = "Plum-Orbit-Canvas-93!"


def _make_user(bench: Bench, n: int, *, with_password: bool = False) -> Any:
    from chalicelib.adapters import clock
    from chalicelib.services.passwords import hash_password
    from chalicelib.store.users import Claim, User, phone_claim

    user = User(
        f"usr_bench{n:05d}",
        created_at=clock.stamp(clock.now()),
        phone=f"+86135{n:08d}",
        phone_verified=True,
        email=f"bench{n}@example.com",
        email_verified=True,
        locale="zh-CN",
        password_hash=hash_password(BENCH_PASSWORD) if with_password else None,
    )
    user.save()
    Claim(phone_claim(user.phone), user_id=user.user_id, created_at=user.created_at).save()
    return user


def _token(user: Any, device: str = "bench-device") -> Any:
    from chalicelib.adapters import clock
    from chalicelib.services import sessions

    return sessions.start_session(user, device_id=device, device_name=None, now=clock.now())


def _login_setup(bench: Bench) -> None:
    from chalicelib.adapters import clock
    from chalicelib.store.users import claim_once, device_claim

    user = _make_user(bench, 1, with_password=True)
    claim_once(device_claim(user.user_id, "bench-phone"), user.user_id, clock.stamp(clock.now()))  # a known device
    bench.state["login_user"] = user


def _get_user(bench: Bench, user_id: str) -> Any:
    return bench.client("dynamodb").get_item(
        TableName=bench.table("users"), Key={"user_id": {"S": user_id}}, ConsistentRead=True
    )


def _bare_login(bench: Bench) -> Any:
    # What a sign-in must do at least: find the account, read it, write a session.
    user = bench.state["login_user"]
    dynamodb = bench.client("dynamodb")
    dynamodb.get_item(TableName=bench.table("claims"), Key={"claim": {"S": f"phone#{user.phone}"}})
    _get_user(bench, user.user_id)
    return dynamodb.put_item(
        TableName=bench.table("sessions"), Item={"session_id": {"S": f"ses_bare{time.perf_counter_ns()}"}}
    )


def _refresh_setup(bench: Bench) -> None:
    user = _make_user(bench, 2)
    bench.state["refresh_token"] = _token(user).refresh_token
    bench.state["refresh_user"] = user.user_id


def _refresh(bench: Bench) -> Any:
    response = bench.http.post(
        "/auth/token/refresh",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"refresh_token": bench.state["refresh_token"]}).encode(),
    )
    if response.status_code == 200:
        bench.state["refresh_token"] = json.loads(response.body)["refresh_token"]
    return response


def _bare_refresh(bench: Bench) -> Any:
    dynamodb = bench.client("dynamodb")
    key = {"session_id": {"S": bench.state["refresh_token"].split(".")[0]}}
    dynamodb.get_item(TableName=bench.table("sessions"), Key=key, ConsistentRead=True)
    # A refresh must also see the user's session generation (a "revoke all" since the session began).
    user_key = {"user_id": {"S": bench.state["refresh_user"]}}
    dynamodb.get_item(TableName=bench.table("users"), Key=user_key, ConsistentRead=True)
    return dynamodb.update_item(
        TableName=bench.table("sessions"),
        Key=key,
        UpdateExpression="SET refresh_count = :n",
        ExpressionAttributeValues={":n": {"N": "1"}},
    )


def _me_setup(bench: Bench) -> None:
    user = _make_user(bench, 3)
    bench.state["me_user"] = user
    bench.state["me_auth"] = {"Authorization": f"Bearer {_token(user).access_token}"}


def _me(bench: Bench) -> Any:
    return bench.http.get("/me", headers=bench.state["me_auth"])


def _bare_me(bench: Bench) -> Any:
    # The route's own reads: the user and the KYC case (the session check is the one extra read).
    user_id = bench.state["me_user"].user_id
    _get_user(bench, user_id)
    return bench.client("dynamodb").get_item(
        TableName=bench.table("kyc"), Key={"user_id": {"S": user_id}, "record": {"S": "current"}}
    )


_KYC_USERS = 400


def _kyc_setup(bench: Bench) -> None:
    users = [_make_user(bench, 1000 + n) for n in range(_KYC_USERS)]
    bench.state["kyc_auth"] = [{"Authorization": f"Bearer {_token(user).access_token}"} for user in users]
    bench.state["kyc_users"] = users


def _resident_id(n: int) -> str:
    from stdnum.cn import ric

    body = f"110105{1960 + n % 40}0101{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def _submit_kyc(bench: Bench) -> Any:
    n = bench.state.setdefault("kyc_next", 0)
    bench.state["kyc_next"] = n + 1
    payload = {"real_name": "张三", "id_type": "cn_resident_id", "id_number": _resident_id(n)}
    return bench.http.post(
        "/me/kyc",
        headers={**bench.state["kyc_auth"][n], "Content-Type": "application/json"},
        body=json.dumps(payload).encode(),
    )


def _bare_submit_kyc(bench: Bench) -> Any:
    # Read the case and the identity claim, write the case.
    n = bench.state.get("kyc_next", 0)
    user_id = bench.state["kyc_users"][n % _KYC_USERS].user_id
    dynamodb = bench.client("dynamodb")
    key = {"user_id": {"S": user_id}, "record": {"S": "bare"}}
    dynamodb.get_item(TableName=bench.table("kyc"), Key=key, ConsistentRead=True)
    dynamodb.get_item(TableName=bench.table("claims"), Key={"claim": {"S": f"identity#bare{n}"}})
    return dynamodb.put_item(TableName=bench.table("kyc"), Item={**key, "status": {"S": "pending"}})


def _agent_setup(bench: Bench) -> None:
    from chalicelib.localstage.seed import AGENT_EMAIL
    from chalicelib.store.users import User, email_claim, find_claim_owner

    agent = User.get(find_claim_owner(email_claim(AGENT_EMAIL)))
    bench.state["agent_auth"] = {"Authorization": f"Bearer {_token(agent).access_token}"}
    bench.state["decided"] = 0


def _decide_kyc(bench: Bench) -> Any:
    n = bench.state["decided"]
    bench.state["decided"] = n + 1
    user_id = bench.state["kyc_users"][n].user_id
    return bench.http.post(
        f"/admin/kyc/{user_id}/decision",
        headers={**bench.state["agent_auth"], "Content-Type": "application/json"},
        body=json.dumps({"decision": "approve", "level": 1}).encode(),
    )


def _bare_decide_kyc(bench: Bench) -> Any:
    # Read the case and the user, then one transaction: case, decision record, identity claim.
    n = bench.state["decided"]
    user_id = bench.state["kyc_users"][n % _KYC_USERS].user_id
    dynamodb = bench.client("dynamodb")
    dynamodb.get_item(TableName=bench.table("kyc"), Key={"user_id": {"S": user_id}, "record": {"S": "current"}})
    _get_user(bench, user_id)
    return dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": bench.table("kyc"),
                    "Item": {"user_id": {"S": user_id}, "record": {"S": f"bare#{n}a"}},
                }
            },
            {
                "Put": {
                    "TableName": bench.table("kyc"),
                    "Item": {"user_id": {"S": user_id}, "record": {"S": f"bare#{n}b"}},
                }
            },
            {"Put": {"TableName": bench.table("claims"), "Item": {"claim": {"S": f"identity#bare-decided{n}"}}}},
        ]
    )


register(
    Operation(
        "POST /auth/login",
        body={"login": "+8613500000001", "password": BENCH_PASSWORD, "device_id": "bench-phone"},
        setup=_login_setup,
        bare=_bare_login,
        bare_label="claim + user + session (no argon2)",
        bare_matches_calls=False,
        # lock read and the attempt counted before the password (v1.2), claim, user; session, device
        # seen (conditional); clear the failure counts
        calls={"dynamodb.GetItem": 3, "dynamodb.UpdateItem": 1, "dynamodb.PutItem": 2, "dynamodb.DeleteItem": 2},
    )
)
register(
    Operation(
        "POST /auth/token/refresh",
        request=_refresh,
        setup=_refresh_setup,
        bare=_bare_refresh,
        bare_label="GetItem session + user generation, UpdateItem",
        calls={"dynamodb.GetItem": 2, "dynamodb.UpdateItem": 1},
    )
)
register(
    Operation(
        "GET /me",
        request=_me,
        setup=_me_setup,
        bare=_bare_me,
        bare_label="GetItem user + kyc (no session check)",
        bare_matches_calls=False,
        # the session check (session + user generation in one BatchGetItem) beyond the route's own
        calls={"dynamodb.BatchGetItem": 1, "dynamodb.GetItem": 2},
    )
)
register(
    Operation(
        "POST /me/kyc",
        request=_submit_kyc,
        setup=_kyc_setup,
        bare=_bare_submit_kyc,
        status=202,
        bare_label="case + identity claim + PutItem",
        bare_matches_calls=False,
        # the session check (one BatchGetItem); user, case, identity claim
        calls={"dynamodb.BatchGetItem": 1, "dynamodb.GetItem": 3, "dynamodb.PutItem": 1},
    )
)
register(
    Operation(
        "POST /admin/kyc/{user_id}/decision",
        request=_decide_kyc,
        setup=_agent_setup,
        bare=_bare_decide_kyc,
        bare_label="case + user + TransactWriteItems",
        bare_matches_calls=False,
        # session check (BatchGet), case, user, identity claim (twice: before and inside the
        # decision); email and SMS
        calls={
            "dynamodb.BatchGetItem": 1,
            "dynamodb.GetItem": 4,
            "dynamodb.TransactWriteItems": 1,
            "ses.SendEmail": 1,
            "sns.Publish": 1,
        },
    )
)


# --- wallet -----------------------------------------------------------------------------------------


def _wallet_setup(bench: Bench) -> None:
    from chalicelib.services.funding_sources import add_card
    from chalicelib.store.kyc import KycRecord
    from chalicelib.store.users import Claim

    payer = _make_user(bench, 5, with_password=True)
    payee = _make_user(bench, 6)
    for user, name in ((payer, "张三"), (payee, "李四")):
        KycRecord(user.user_id, "current", status="approved", level=3, approved_real_name=name).save()
    Claim(f"payee#{payer.user_id}#{payee.user_id}", user_id=payer.user_id, created_at=payer.created_at).save()
    from chalicelib.adapters import clock

    pair = _token(payer)
    card = add_card(payer, "6222021234567890128", "张三", None, BENCH_PASSWORD, clock.now(), session_id=pair.session_id)
    bench.state.update(
        payer=payer,
        payee=payee,
        card=card["funding_source_id"],
        payer_auth={"Authorization": f"Bearer {pair.access_token}"},
    )


def _post_json(bench: Bench, path: str, body: dict, key: bool = True) -> Any:
    headers = {**bench.state["payer_auth"], "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = f"bench-{time.perf_counter_ns()}"
    return bench.http.post(path, headers=headers, body=json.dumps(body).encode())


def _top_up(bench: Bench) -> Any:
    return _post_json(
        bench, "/me/topups", {"funding_source_id": bench.state["card"], "amount": 100_000, "currency": "CNY"}
    )


def _transfer(bench: Bench) -> Any:
    # 1 fen to a known payee: completes at once, far inside the step-up budget.
    return _post_json(
        bench, "/transfers", {"recipient": {"user_id": bench.state["payee"].user_id}, "amount": 1, "currency": "CNY"}
    )


def _bare_posting(bench: Bench) -> Any:
    # The floor of a two-account posting: read both balances, one transaction with both updates and entries.
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


register(
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
register(
    Operation(
        "POST /transfers (known user id)",
        request=_transfer,
        bare=_bare_posting,
        status=201,
        bare_label="BatchGet 2 balances + 1 TransactWriteItems",
        bare_matches_calls=False,
        # the session check (a BatchGetItem), the key marker, ONE BatchGetItem for everything, ONE transaction
        calls={
            "dynamodb.PutItem": 1,
            "dynamodb.BatchGetItem": 2,
            "dynamodb.TransactWriteItems": 1,
        },
    )
)


def _payment(bench: Bench) -> Any:
    body = {
        "merchant_id": "mer_morning_cafe",
        "amount": 1,
        "currency": "CNY",
        "order_reference": f"o{time.perf_counter_ns()}",
    }
    return _post_json(bench, "/payments", body)


def _conversion(bench: Bench) -> Any:
    return _post_json(bench, "/me/conversions", {"from_currency": "CNY", "to_currency": "JPY", "amount": 100})


register(
    Operation(
        "POST /payments",
        request=_payment,
        bare=_bare_posting,
        status=201,
        bare_label="BatchGet 2 balances + 1 TransactWriteItems",
        bare_matches_calls=False,
        # session check (BatchGet), key marker, one BatchGetItem (payer, merchant, order claim …), one transaction
        calls={
            "dynamodb.PutItem": 1,
            "dynamodb.BatchGetItem": 2,
            "dynamodb.TransactWriteItems": 1,
        },
    )
)
register(
    Operation(
        "POST /me/conversions",
        request=_conversion,
        bare=_bare_posting,
        status=201,
        bare_label="BatchGet 2 balances + 1 TransactWriteItems",
        bare_matches_calls=False,
        calls={
            "dynamodb.PutItem": 1,
            "dynamodb.BatchGetItem": 2,
            "dynamodb.TransactWriteItems": 1,
        },
    )
)


def _pending_transfer(bench: Bench) -> None:
    """A transfer waiting for its code (the day's budget is spent), and that code, off the clock."""
    import re

    from chalicelib.adapters import clock, outbox
    from chalicelib.services import rate_limits, transfers

    allow = rate_limits.reserve_sms_code
    rate_limits.reserve_sms_code = lambda *args, **kwargs: None  # the bench sends hundreds of codes
    try:
        payer, payee = bench.state["payer"], bench.state["payee"]
        ref = transfers.RecipientRef(user_id=payee.user_id)
        _, view = transfers.send(payer.user_id, ref, 1, "CNY", None, None, clock.now())
    finally:
        rate_limits.reserve_sms_code = allow
    code = re.search(r"(?:Code |验证码 )(\d{6})", outbox.messages(payer.phone)[0].body).group(1)
    bench.state.setdefault("pending", []).append((view["transfer_id"], code))


def _confirm_setup(bench: Bench) -> None:
    # The day's step-up budget is spent, so every transfer after it waits for a code.
    from chalicelib.adapters import clock
    from chalicelib.services.money_out import STEP_UP_BUDGET, budget_counter_id
    from chalicelib.store.counters import Counter

    Counter(budget_counter_id(bench.state["payer"].user_id, clock.now())).update(
        actions=[Counter.count.set(STEP_UP_BUDGET)]
    )
    for _ in range(_PENDING):
        _pending_transfer(bench)


def _confirm(bench: Bench) -> Any:
    transfer_id, code = bench.state["pending"].pop()
    return _post_json(bench, f"/transfers/{transfer_id}/confirm", {"code": code})


_PENDING = 260  # more than the warm-up and timed requests together


register(
    Operation(
        "POST /transfers/{id}/confirm",
        request=_confirm,
        setup=_confirm_setup,
        bare=_bare_posting,
        status=200,
        bare_label="BatchGet 2 balances + 1 TransactWriteItems",
        bare_matches_calls=False,
        check_calls=False,
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


register(
    Operation(
        "GET /me/transactions (20)",
        request=_history_page,
        bare=_bare_history,
        bare_label="1 Query ledger",
        bare_matches_calls=False,
        calls={"dynamodb.BatchGetItem": 1, "dynamodb.Query": 1},  # the session check + 1 Query
    )
)


# --- disputes ---------------------------------------------------------------------------------------


def _disputes_setup(bench: Bench) -> None:
    """Payments for the bench user to dispute (headers written straight to the table), and open
    disputes for the agent's first replies; the daily filing cap is lifted for the bench user."""
    from chalicelib.adapters import clock
    from chalicelib.services import disputes
    from chalicelib.store.disputes import Dispute
    from chalicelib.store.kyc import KycRecord
    from chalicelib.store.wallet import TransactionRecord

    disputes.FILINGS_PER_DAY = 10**6  # one user files hundreds here; real users are capped
    if "agent_auth" not in bench.state:
        _agent_setup(bench)
    user = _make_user(bench, 40)
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
                    queue="open",
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
    bench.state.update(dispute_auth={"Authorization": f"Bearer {_token(user).access_token}"}, filed=0, replied=0)


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


register(
    Operation(
        "POST /disputes",
        request=_file_dispute,
        setup=_disputes_setup,
        bare=_bare_case_write,
        status=201,
        bare_label="GetItem + 1 TransactWriteItems",
        bare_matches_calls=False,
        # session; daily filing counter; ONE BatchGetItem (transaction + open-dispute claim); ONE
        # transaction (dispute, claim, audit); the user for the acknowledgement, and the email
        calls={
            "dynamodb.GetItem": 1,
            "dynamodb.UpdateItem": 1,
            "dynamodb.BatchGetItem": 2,
            "dynamodb.TransactWriteItems": 1,
            "ses.SendEmail": 1,
        },
    )
)
register(
    Operation(
        "POST /admin/disputes/{id}/messages (first reply)",
        request=_agent_reply,
        bare=_bare_case_write,
        status=201,
        bare_label="GetItem + 1 TransactWriteItems",
        bare_matches_calls=False,
        # session, dispute; ONE transaction (message, open → under_review, audit); the user, the email
        calls={"dynamodb.BatchGetItem": 1, "dynamodb.GetItem": 2, "dynamodb.TransactWriteItems": 1, "ses.SendEmail": 1},
    )
)


# --- SLA jobs ---------------------------------------------------------------------------------------

_SLA_BACKLOG = 1_000


def _count_aws_calls() -> tuple[Counter[str], Callable[[], None]]:
    """Count every botocore call from now on (the sessions already made included); returns the undo."""
    import botocore.client

    counts: Counter[str] = Counter()
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def counting(client: Any, operation: str, params: Any) -> Any:
        with lock:
            counts[f"{client.meta.service_model.service_name}.{operation}"] += 1
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = counting

    def undo() -> None:
        botocore.client.BaseClient._make_api_call = original

    return counts, undo


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
                    queue="open",
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
    counts, undo = _count_aws_calls()
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
    print(f"  AWS calls: {sum(counts.values())} = {_format_calls(dict(sorted(counts.items())))}")
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
        KeyConditionExpression="#queue = :queue AND sla_due <= :now",
        ExpressionAttributeNames={"#queue": "queue"},
        ExpressionAttributeValues={":queue": {"S": "open"}, ":now": {"S": clock.stamp(clock.now())}},
        Limit=100,
    )


register(
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

# --- counting AWS calls -----------------------------------------------------------------------


class AwsCalls:
    """Counts botocore API calls (not HTTP attempts) of every session made after `install()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def install(self) -> None:
        import botocore

        botocore.register_initializer(self._on_session)

    def _on_session(self, session: Any) -> None:
        session.register("before-call", self._on_call)

    def _on_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.counts[f"{model.service_model.service_name}.{model.name}"] += 1

    def take(self) -> Counter[str]:
        with self._lock:
            taken, self.counts = self.counts, Counter()
        return taken


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    calls: dict[str, float]
    bare_calls: dict[str, float]
    steady: bool  # every request made the same calls
    p50: float
    p95: float
    bare_p50: float
    bare_description: str
    problems: list[str]


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _status(response: Any) -> int | None:
    return getattr(response, "status_code", None)


def measure(op: Operation, bench: Bench, counter: AwsCalls, iterations: int, warmup: int) -> Result:
    problems: list[str] = []
    if op.setup is not None:
        op.setup(bench)
    for _ in range(max(1, warmup)):
        response = op.perform(bench)
        op.perform_bare(bench)
    if _status(response) != op.status:
        problems.append(f"{op.name}: status {_status(response)}, expected {op.status}: {response.body[:200]!r}")

    counter.take()
    per_request: list[Counter[str]] = []
    bare_per_request: list[Counter[str]] = []
    samples: list[float] = []
    bare_samples: list[float] = []
    for _ in range(iterations):  # interleaved, so drift on the machine hits both alike
        started = time.perf_counter()
        response = op.perform(bench)
        samples.append(time.perf_counter() - started)
        per_request.append(counter.take())
        if _status(response) != op.status and len(problems) < 3:
            problems.append(f"{op.name}: status {_status(response)}, expected {op.status}")

        started = time.perf_counter()
        op.perform_bare(bench)
        bare_samples.append(time.perf_counter() - started)
        bare_per_request.append(counter.take())

    calls = _average(per_request)
    bare_calls = _average(bare_per_request)
    steady = all(request == per_request[0] for request in per_request)
    if op.check_calls and (calls != {name: float(count) for name, count in op.calls.items()} or not steady):
        problems.append(f"{op.name}: AWS calls per request {_format_calls(calls)}, expected {op.calls or 'none'}")
    if op.bare is not None and op.bare_matches_calls and bare_calls != calls:
        problems.append(f"{op.name}: bare makes {_format_calls(bare_calls)}, the app {_format_calls(calls)}")
    return Result(
        name=op.name,
        calls=calls,
        bare_calls=bare_calls,
        steady=steady,
        p50=statistics.median(samples),
        p95=_percentile(samples, 0.95),
        bare_p50=statistics.median(bare_samples),
        bare_description=op.bare_description,
        problems=problems,
    )


def _average(per_request: list[Counter[str]]) -> dict[str, float]:
    total: Counter[str] = Counter()
    for request in per_request:
        total.update(request)
    return {name: count / len(per_request) for name, count in sorted(total.items())}


def _format_calls(calls: dict[str, float]) -> str:
    if not calls:
        return "0"
    return ", ".join(f"{count:g} {name.split('.', 1)[1]}" for name, count in calls.items())


# --- cold start -----------------------------------------------------------------------------------

_TIMED_IMPORT = "import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"


def _import_seconds(modules: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _TIMED_IMPORT.format(modules=modules)],
        cwd=PROJECT_DIR,
        env={"AWS_DEFAULT_REGION": REGION},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def cold_start(runs: int) -> tuple[float, float]:
    _import_seconds("app")  # compile .pyc files once, outside the figures
    _import_seconds("chalice, boto3")
    app_times, bare_times = [], []
    for _ in range(runs):  # interleaved, so drift on the machine hits both alike
        app_times.append(_import_seconds("app"))
        bare_times.append(_import_seconds("chalice, boto3"))
    return statistics.median(app_times), statistics.median(bare_times)


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def import_costs() -> Counter[str]:
    """What `import app` adds to `import chalice, boto3`: self time (ms) per top-level package, and
    per module for chalicelib, from `python -X importtime`."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import chalice, boto3; import app"],
        cwd=PROJECT_DIR,
        env={"AWS_DEFAULT_REGION": REGION},
        capture_output=True,
        text=True,
        check=True,
    )
    costs: Counter[str] = Counter()
    after_bare = False
    for line in out.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match is None:
            continue
        self_us, _, indent, module = match.groups()
        if not after_bare:
            after_bare = module == "boto3" and len(indent) == 1
            continue
        key = module if module.split(".")[0] in ("chalicelib", "app") else module.split(".")[0]
        costs[key] += int(self_us) / 1000
    return costs


# --- timing uniformity ---------------------------------------------------------------------------
# An unknown account must answer as slowly as a known one (contract, section 3), or a script can
# tell which logins exist. Measured here as medians of interleaved samples, never asserted in tests.


def timing_uniformity(bench: Bench, samples: int) -> list[tuple[str, float, float]]:
    """(what, median known seconds, median unknown seconds) for a failed sign-in and a reset request."""
    import uuid

    def timed(call: Callable[[str], Any], login_id: str, status: int) -> float:
        started = time.perf_counter()
        response = call(login_id)
        elapsed = time.perf_counter() - started
        if _status(response) != status:
            raise RuntimeError(f"timing sample answered {_status(response)}: {response.body[:200]!r}")
        return elapsed

    def login(login_id: str) -> Any:
        body = {"login": login_id, "password": "Wrong-Bench-Password-1", "device_id": "bench-timing"}
        return _post_json(bench, "/auth/login", body, key=False)

    def forgot(login_id: str) -> Any:
        return _post_json(bench, "/auth/password/forgot", {"login": login_id}, key=False)

    figures = []
    for what, call, status in (("failed sign-in", login, 401), ("password reset request", forgot, 202)):
        known, unknown = [], []
        call(f"warm-up-{uuid.uuid4().hex[:8]}@example.com")
        for i in range(samples):  # a fresh account each time: no lockout, no per-login rate limit
            user = _make_user(bench, 20_000 + len(figures) * samples + i, with_password=True)
            known.append(timed(call, user.email, status))
            unknown.append(timed(call, f"nobody-{uuid.uuid4().hex[:12]}@example.com", status))
        figures.append((what, statistics.median(known), statistics.median(unknown)))
    return figures


def print_uniformity(figures: list[tuple[str, float, float]], samples: int) -> None:
    print()
    print(f"Timing uniformity: medians of {samples} interleaved samples, an existing account vs none")
    for what, known, unknown in figures:
        print(f"  {what:<24} known {_ms(known):>7} ms   unknown {_ms(unknown):>7} ms   ratio {known / unknown:5.2f}x")


# --- set-up and report --------------------------------------------------------------------------


def _prepare_environment() -> None:
    """As tests/conftest.py does: moto only, dummy credentials, the local stage's variables."""
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION"):
        os.environ.pop(name, None)


def _quiet_app_logs() -> None:
    """Keep the access log's cost (formatting and a write) but send it nowhere."""
    from chalicelib.adapters.logging import logger

    handler = getattr(logger, "registered_handler", None)
    if hasattr(handler, "setStream"):
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the process)


def _bare_app() -> Any:
    from chalice import Chalice

    bare = Chalice(app_name="bare")

    @bare.route("/constant", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def constant() -> dict[str, str]:
        return {"status": "ok"}

    return bare


def run_operations(
    iterations: int, warmup: int, only: str | None = None, timing_samples: int = 0
) -> tuple[list[Result], list[tuple[str, float, float]]]:
    _prepare_environment()
    counter = AwsCalls()
    counter.install()  # before anything makes a botocore session

    from moto import mock_aws

    from chalicelib.localstage.server import use_moto_environment

    use_moto_environment()  # the local stage's variables, .local emails allowed; no endpoint
    from chalicelib.localstage.moto_isolation import make_dynamodb_atomic

    make_dynamodb_atomic()  # moto as the local stage runs it: transactions back up their items only
    import boto3
    from chalice.test import Client

    import app as app_module
    from chalicelib.adapters import clock
    from chalicelib.adapters.config import get_settings
    from chalicelib.localstage import gateway, seed
    from chalicelib.localstage.resources import create_stage_resources

    gateway.install()
    _quiet_app_logs()
    clock.clear_test_clock()
    results = []
    with mock_aws():
        create_stage_resources(boto3.session.Session(), get_settings())
        seed.seed()
        app_client = Client(app_module.app, stage_name="local", project_dir=str(PROJECT_DIR))
        bare_client = Client(_bare_app(), stage_name="local", project_dir=str(PROJECT_DIR))
        bench = Bench(http=app_client.http, bare_http=bare_client.http, settings=get_settings())
        bench.state["requests"] = iterations + max(1, warmup)  # per operation, for setups needing a supply
        for op in OPERATIONS:
            if only is None or only in op.name:
                results.append(measure(op, bench, counter, iterations, warmup))
        uniformity = timing_uniformity(bench, timing_samples) if timing_samples else []
    return results, uniformity


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def print_table(results: list[Result], iterations: int, warmup: int) -> None:
    print(f"Requests through chalice.test.Client, stage local, on moto: {iterations} timed after {warmup} warm-up")
    header = ("operation", "AWS calls/request", "p50 ms", "p95 ms", "bare p50 ms", "app/bare", "bare")
    rows = [
        (
            result.name,
            _format_calls(result.calls) + ("" if result.steady else " (varies)"),
            _ms(result.p50),
            _ms(result.p95),
            _ms(result.bare_p50),
            f"{result.p50 / result.bare_p50:.1f}x",
            result.bare_description,
        )
        for result in results
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    right = {2, 3, 4, 5}

    def line(row: tuple[str, ...]) -> str:
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        return "  ".join(cells).rstrip()

    print(line(header))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--iterations", type=int, default=200, help="timed requests per operation")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per operation first")
    parser.add_argument("--cold-runs", type=int, default=7, help="fresh processes per import measured")
    parser.add_argument("--only", help="measure only the operations whose name contains this text")
    parser.add_argument("--timing-samples", type=int, default=15, help="samples per timing-uniformity figure")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    samples = 0 if args.only else args.timing_samples
    results, uniformity = run_operations(args.iterations, args.warmup, args.only, samples)
    print_table(results, args.iterations, args.warmup)
    if uniformity:
        print_uniformity(uniformity, samples)

    app_import, bare_import = cold_start(args.cold_runs)
    ratio = app_import / bare_import
    verdict = "within target" if ratio <= COLD_START_TARGET else "OVER TARGET"
    print()
    print(f"Cold start: median import time of {args.cold_runs} fresh processes, only AWS_DEFAULT_REGION set")
    print(f"  import app             {_ms(app_import):>8} ms")
    print(f"  import chalice, boto3  {_ms(bare_import):>8} ms")
    print(f"  ratio                  {ratio:>8.2f}x  (target <= {COLD_START_TARGET}x: {verdict})")
    if ratio > COLD_START_TARGET:
        costs = import_costs()
        print("  What `import app` adds to chalice and boto3, self time (python -X importtime, one run):")
        for name, milliseconds in costs.most_common(12):
            print(f"    {name:<40} {milliseconds:7.1f} ms")
        print(f"    {'all ' + str(len(costs)) + ' packages and chalicelib modules':<40} {sum(costs.values()):7.1f} ms")

    problems = [problem for result in results for problem in result.problems]
    if problems:
        print()
        print("PROBLEMS:")
        for problem in problems:
            print(f"  {problem}")
    print()
    print(f"bench took {time.perf_counter() - started:.1f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
