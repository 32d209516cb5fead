"""The internal money movements written by hand: the app's own DynamoDB calls, raw botocore.

These are the bares POST /transfers, POST /payments, POST /me/conversions and
POST /transfers/{id}/confirm are compared with, call for call (the harness checks the counts):

1. the session check: one BatchGetItem of the session and the user;
2. one strongly consistent BatchGetItem of everything the checks read: the payer, their KYC case,
   the balances moved, the FX rates, the step-up and limit counters, and the route's own items
   (the payee, the merchant, the payee or order claim);
3. one TransactWriteItems that succeeds: each wallet's balance updated under the version just read
   (and `available >= debit` on the debited one), one ledger entry per leg and the header under
   fresh keys, the route's records and claims, the payer's limit and budget counters under their
   caps, and the idempotency record (absent or expired).

Same tables, keys, attribute shapes and sizes, condition and update expressions as the app sends
(read off the botocore params of its requests); what is left out is everything the app does around
those calls. A confirmation also keeps its Idempotency-Key marker (a PutItem, finished inside the
transaction), and reads the transfer and the payer and counts the try first: its bare does too.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tools.bench.harness import Bench

STEP_UP_BUDGET = 1_000_00  # CNY fen a day without step-up, the app's figure
LEDGER_SHARDS = 16  # merchant and system entries are spread over this many partitions
KEPT = timedelta(hours=24)  # an idempotency record's life
ABANDONED_AFTER = timedelta(seconds=60)  # an in-flight marker older than this may be taken over
SHANGHAI = ZoneInfo("Asia/Shanghai")  # whose day the step-up budget counts
# PynamoDB writes a transaction's items grouped by kind, in this order.
KIND_ORDER = {"ConditionCheck": 0, "Delete": 1, "Put": 2, "Update": 3}


@dataclass(frozen=True)
class Leg:
    """One side of a posting: a signed amount on a user wallet, a merchant or a system account."""

    account_type: str  # "user_wallet" | "merchant" | "system"
    owner: str
    currency: str
    amount: int  # minor units: + credit, - debit
    description: str
    counterparty: dict[str, Any] | None = None
    fx: dict[str, Any] | None = None


@dataclass
class Plan:
    """What one movement writes besides what every posting writes (balances, entries, header)."""

    type: str
    legs: list[Leg]
    parties: list[str]
    details: dict[str, Any]
    reply: Callable[[str, list[dict[str, Any]]], dict[str, Any]]  # (transaction id, entries) → the answer
    items: list[dict[str, Any]] = field(default_factory=list)  # the route's own records, claims, checks
    counted_cny: int | None = None  # counts towards the payer's limit and budget (CNY fen)
    cap_budget: bool = True  # the day's budget must still hold when the transaction commits


@dataclass
class Found:
    """What a BatchGetItem answered, looked up by logical table and key."""

    bench: Bench
    responses: dict[str, list[dict[str, Any]]]

    def get(self, logical: str, **key: str) -> dict[str, Any] | None:
        for item in self.responses.get(self.bench.table(logical), []):
            if all(item.get(name) == {"S": value} for name, value in key.items()):
                return item
        return None

    def wallet(self, user_id: str, currency: str) -> tuple[int, int] | None:
        """(available, version) of a user's wallet in `currency`; None when it has no item yet."""
        item = self.get("balances", account_id=f"user#{user_id}", currency=currency)
        return (int(item["available"]["N"]), int(item["version"]["N"])) if item else None

    def masked_name(self, user_id: str) -> str | None:
        case = self.get("kyc", user_id=user_id, record="current")
        name = case.get("approved_real_name", {}).get("S") if case else None
        return "*" * (len(name) - 1) + name[-1] if name else None

    def rates(self) -> dict[str, str]:
        return {currency: value["S"] for currency, value in self.get("catalog", kind="fx_rates")["rates"]["M"].items()}


# --- the movements ---------------------------------------------------------------------------------


def transfer(bench: Bench) -> Any:
    """POST /transfers: 1 fen to the known payee."""
    payer, payee = _payer(bench), bench.state["payee"].user_id
    claim = f"payee#{payer}#{payee}"
    _check_session(bench)
    now = _now()
    wallets = [(payer, "CNY"), (payee, "CNY")]
    reads = _reads(bench, users=[payer, payee], cases=[payer, payee], wallets=wallets, claims=[claim], now=now)

    def plan(found: Found) -> tuple[Plan, str]:
        names = {"payer": found.masked_name(payer), "payee": found.masked_name(payee)}
        transaction_id = f"txn_{uuid.uuid4().hex}"
        record = {
            "object_id": f"trf_{uuid.uuid4().hex}",
            "amount": 1,
            "created_at": _stamp(now),
            "currency": "CNY",
            "details": {"masked_names": names},
            "kind": "transfer",
            "parties": [payer, payee],
            "payee": payee,
            "payer": payer,
            "refunded": 0,
            "status": "completed",
            "transaction_id": transaction_id,
        }
        items = [
            _put(bench, "transactions", record, absent="object_id"),
            _put(bench, "claims", {"claim": claim, "created_at": _stamp(now), "user_id": payer}),
            _payee_active(bench, payee),
        ]
        return _transfer_plan(record, names, items, now, cap_budget=True), transaction_id

    request = {"recipient": {"user_id": payee}, "amount": 1, "currency": "CNY"}
    return _post(bench, "/transfers", request, reads, plan, status=201, now=now)


def payment(bench: Bench) -> Any:
    """POST /payments: 1 fen to the morning cafe, a fresh order reference."""
    payer, merchant_id = _payer(bench), "mer_morning_cafe"
    order = f"o{time.perf_counter_ns()}"
    claim = f"order#{payer}#{merchant_id}#{order}"
    _check_session(bench)
    now = _now()
    merchant_key = {"kind": {"S": "merchant"}, "item_id": {"S": merchant_id}}
    reads = _reads(
        bench, users=[payer], cases=[payer], wallets=[(payer, "CNY")], catalog=[merchant_key], claims=[claim], now=now
    )

    def plan(found: Found) -> tuple[Plan, str]:
        name = found.get("catalog", kind="merchant", item_id=merchant_id)["name_zh"]["S"]
        counterparty = {"kind": "merchant", "id": merchant_id, "name": name}
        claim_item = {"claim": claim, "created_at": _stamp(now), "user_id": payer}
        return Plan(
            type="payment",
            legs=[
                Leg("user_wallet", payer, "CNY", -1, f"向{name}付款", counterparty=counterparty),
                Leg("merchant", merchant_id, "CNY", 1, f"order {order}"),
            ],
            parties=[payer],
            details={"merchant_id": merchant_id, "order_reference": order, "description": None},
            reply=lambda _, entries: _entry_view(entries[0]),
            items=[_put(bench, "claims", claim_item, absent="claim")],
            counted_cny=1,
        ), f"txn_{uuid.uuid4().hex}"

    request = {"merchant_id": merchant_id, "amount": 1, "currency": "CNY", "order_reference": order}
    return _post(bench, "/payments", request, reads, plan, status=201, now=now)


def conversion(bench: Bench) -> Any:
    """POST /me/conversions: 100 fen into yen, through the FX system account."""
    payer, amount = _payer(bench), 100
    _check_session(bench)
    now = _now()
    reads = _reads(bench, users=[payer], cases=[payer], wallets=[(payer, "CNY"), (payer, "JPY")], now=now)

    def plan(found: Found) -> tuple[Plan, str]:
        rates = found.rates()
        rate = Decimal(rates["JPY"]) / Decimal(rates["CNY"])
        to_amount = int((amount * rate / 100).to_integral_value(rounding=ROUND_FLOOR))  # fen → yen
        fx = {
            "rate": format(rate.normalize(), "f"),
            "from": {"amount": amount, "currency": "CNY"},
            "to": {"amount": to_amount, "currency": "JPY"},
        }
        text = "货币兑换 CNY → JPY"
        return Plan(
            type="conversion",
            legs=[
                Leg("user_wallet", payer, "CNY", -amount, text, fx=fx),
                Leg("system", "fx", "CNY", amount, "conversion", fx=fx),
                Leg("system", "fx", "JPY", -to_amount, "conversion", fx=fx),
                Leg("user_wallet", payer, "JPY", to_amount, text, fx=fx),
            ],
            parties=[payer],
            details={"fx": fx},
            reply=lambda _, entries: _entry_view(entries[0]),
        ), f"txn_{uuid.uuid4().hex}"

    request = {"from_currency": "CNY", "to_currency": "JPY", "amount": amount}
    return _post(bench, "/me/conversions", request, reads, plan, status=201, now=now)


def confirm(bench: Bench) -> Any:
    """POST /transfers/{id}/confirm of one of the bare's own waiting transfers, with its code."""
    payer = _payer(bench)
    transfer_id, code = bench.state["bare_pending"].pop()
    path = f"/transfers/{transfer_id}/confirm"
    _check_session(bench)
    now = _now()
    marker = _hold_key(bench, path, {"code": code}, now)
    record = _reserve_try(bench, transfer_id, code, now)
    payee = record["payee"]
    wallets = [(payer, "CNY"), (payee, "CNY")]
    # the transfer again, with the rest: still waiting when the checks run
    reads = _reads(bench, users=[payer, payee], cases=[payer], wallets=wallets, records=[transfer_id], now=now)

    def plan(found: Found) -> tuple[Plan, str]:
        transaction_id = f"txn_{uuid.uuid4().hex}"
        names = record["details"]["masked_names"]
        completing = {
            "Update": {
                "TableName": bench.table("transactions"),
                "Key": {"object_id": {"S": transfer_id}},
                "ConditionExpression": "#status = :pending",  # single use: two right codes, one completes
                "UpdateExpression": "SET #status = :completed, #txn = :txn",
                "ExpressionAttributeNames": {"#status": "status", "#txn": "transaction_id"},
                "ExpressionAttributeValues": _values(
                    pending="requires_confirmation", completed="completed", txn=transaction_id
                ),
            }
        }
        items = [
            _put(bench, "claims", {"claim": f"payee#{payer}#{payee}", "created_at": _stamp(now), "user_id": payer}),
            _payee_active(bench, payee),
            completing,
        ]
        done = {**record, "status": "completed", "transaction_id": transaction_id}
        return _transfer_plan(done, names, items, now, cap_budget=False), transaction_id

    return _post(bench, path, {"code": code}, reads, plan, status=200, now=now, marker=marker)


def _transfer_plan(
    record: dict[str, Any], names: dict[str, Any], items: list[dict[str, Any]], now: datetime, *, cap_budget: bool
) -> Plan:
    """A transfer's posting: payer to payee, counted towards the payer's limit and budget.

    `cap_budget`: False once confirmed with a code (the day's budget no longer applies).
    """
    payer, payee, amount = record["payer"], record["payee"], record["amount"]
    return Plan(
        type="transfer",
        legs=[
            Leg("user_wallet", payer, "CNY", -amount, "", {"kind": "user", "id": payee, "masked_name": names["payee"]}),
            Leg("user_wallet", payee, "CNY", amount, "", {"kind": "user", "id": payer, "masked_name": names["payer"]}),
        ],
        parties=[payer, payee],
        details={"transfer_id": record["object_id"]},
        reply=lambda *_: _transfer_view(record, now),
        items=items,
        counted_cny=amount,
        cap_budget=cap_budget,
    )


def _reserve_try(bench: Bench, transfer_id: str, code: str, now: datetime) -> dict[str, Any]:
    """Read the waiting transfer and the payer, count one try (while tries are left), check the code.

    The transfer as it is after the try, its attributes decoded as the transaction needs them.
    """
    from chalicelib.adapters.keys import keyed_hash

    dynamodb = bench.client("dynamodb")
    key = {"object_id": {"S": transfer_id}}
    table = bench.table("transactions")
    dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    user_key = {"user_id": {"S": _payer(bench)}}
    dynamodb.get_item(TableName=bench.table("users"), Key=user_key, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    raw = dynamodb.update_item(
        TableName=table,
        Key=key,
        ConditionExpression="#status = :pending AND #left > :zero AND #expires > :now",
        UpdateExpression="ADD #left :minus_one",
        ExpressionAttributeNames={"#status": "status", "#left": "attempts_left", "#expires": "expires_at"},
        ExpressionAttributeValues=_values(pending="requires_confirmation", zero=0, now=_stamp(now), minus_one=-1),
        ReturnValues="ALL_NEW",
        ReturnConsumedCapacity="TOTAL",
    )["Attributes"]
    record = {name: raw[name]["S"] for name in ("object_id", "payer", "payee", "currency", "code_hash")}
    record.update(amount=int(raw["amount"]["N"]), details=json.loads(raw["details"]["S"]))
    binding = f"{transfer_id}:{record['amount']}:{record['currency']}:{record['payee']}:{code}"
    if keyed_hash("transfer_code", binding) != record.pop("code_hash"):
        raise AssertionError(f"the bare's code for {transfer_id} does not match")
    return record


# --- what every movement shares ------------------------------------------------------------------


def _post(
    bench: Bench,
    path: str,
    request: dict[str, Any],
    reads: dict[str, Any],
    plan_of: Callable[[Found], tuple[Plan, str]],
    *,
    status: int,
    now: datetime,
    marker: dict[str, Any] | None = None,
) -> Any:
    """The checks' read, then the movement's one transaction (which must succeed); `request` is the
    body the key's record fingerprints.

    `marker`: the key's in-flight marker already written (a confirmation), finished in the
    transaction; otherwise the idempotency record is put there, finished, absent or expired.
    """
    dynamodb = bench.client("dynamodb")
    found = Found(bench, dynamodb.batch_get_item(RequestItems=reads)["Responses"])
    plan, transaction_id = plan_of(found)
    entries = [_entry(leg, plan.type, transaction_id, found, now) for leg in plan.legs]
    reply = plan.reply(transaction_id, entries)
    items = [
        *(_put(bench, "ledger", entry, absent="entry_key") for entry in entries),
        _put(bench, "transactions", _header(plan, transaction_id, entries, now), absent="object_id"),
        *plan.items,
        *(
            _balance_update(bench, leg, found.wallet(leg.owner, leg.currency), now)
            for leg in plan.legs
            if _is_user(leg)
        ),
        *(_counter_updates(bench, found, plan, now) if plan.counted_cny is not None else []),
        _finish_key(bench, marker, status, reply, now)
        if marker
        else _key_record(bench, path, request, status, reply, now),
    ]
    items.sort(key=lambda item: KIND_ORDER[next(iter(item))])
    return dynamodb.transact_write_items(
        TransactItems=items, ReturnConsumedCapacity="TOTAL", ClientRequestToken=str(uuid.uuid4())
    )


def _check_session(bench: Bench) -> Any:
    """The session and its user, strongly consistent: a revoked session fails on its next request."""
    return bench.client("dynamodb").batch_get_item(
        RequestItems={
            bench.table("sessions"): {
                "Keys": [{"session_id": {"S": bench.state["payer_session"]}}],
                "ConsistentRead": True,
            },
            bench.table("users"): {"Keys": [{"user_id": {"S": _payer(bench)}}], "ConsistentRead": True},
        }
    )


def _reads(
    bench: Bench,
    *,
    users: list[str],
    cases: list[str],
    wallets: list[tuple[str, str]],
    catalog: Sequence[dict[str, Any]] = (),
    claims: Sequence[str] = (),
    records: Sequence[str] = (),
    now: datetime,
) -> dict[str, Any]:
    """The checks' BatchGetItem: the payer's items, the counters of today and this year, and the route's."""
    payer = _payer(bench)
    wanted = {
        "users": [{"user_id": {"S": user}} for user in users],
        "kyc": [{"user_id": {"S": user}, "record": {"S": "current"}} for user in cases],
        "balances": [{"account_id": {"S": f"user#{user}"}, "currency": {"S": currency}} for user, currency in wallets],
        "catalog": [{"kind": {"S": "fx_rates"}, "item_id": {"S": "latest"}}, *catalog],
        "counters": [{"counter_id": {"S": counter}} for counter in _counter_ids(payer, now)],
        "claims": [{"claim": {"S": claim}} for claim in claims],
        "transactions": [{"object_id": {"S": record}} for record in records],
    }
    return {bench.table(table): {"Keys": keys, "ConsistentRead": True} for table, keys in wanted.items() if keys}


def _counter_ids(payer: str, now: datetime) -> list[str]:
    """Today's step-up budget and failures (Shanghai day), the lifetime and this year's limit."""
    shanghai = _shanghai(now)
    day = shanghai.strftime("%Y%m%d")
    return [
        f"budget#{payer}#{day}",
        f"stepup_fail#{payer}#{day}",
        f"limit#{payer}#lifetime",
        f"limit#{payer}#year#{shanghai.year}",
    ]


def _entry(leg: Leg, posting_type: str, transaction_id: str, found: Found, now: datetime) -> dict[str, Any]:
    """A ledger entry: user wallets carry the balance after it and the version it makes."""
    entry_id = f"ent_{uuid.uuid4().hex}"
    shard = f"{int(hashlib.sha256(entry_id.encode()).hexdigest()[:8], 16) % LEDGER_SHARDS:02d}"
    stamp = _stamp(now)
    entry: dict[str, Any] = {
        "account_id": f"user#{leg.owner}" if _is_user(leg) else f"{leg.account_type}#{leg.owner}#{shard}",
        "entry_key": f"{stamp}#{entry_id}",
        "account_type": leg.account_type,
        "amount": abs(leg.amount),
        "counterparty": leg.counterparty,
        "currency": leg.currency,
        "description": leg.description,
        "direction": "credit" if leg.amount > 0 else "debit",
        "entry_id": entry_id,
        "fx": leg.fx,
        "posted_at": stamp,
        "posting_bucket": f"{stamp[:10]}#{shard}",
        "transaction_id": transaction_id,
        "type": posting_type,
    }
    if _is_user(leg):
        available, version = found.wallet(leg.owner, leg.currency) or (0, 0)
        entry.update(balance_after=available + leg.amount, version=version + 1)
    return entry


def _header(plan: Plan, transaction_id: str, entries: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    legs = [
        {name: entry[name] for name in ("account_id", "entry_key", "account_type", "direction", "amount", "currency")}
        for entry in entries
    ]
    return {
        "object_id": transaction_id,
        "created_at": _stamp(now),
        "details": plan.details,
        "kind": "transaction",
        "legs": legs,
        "parties": plan.parties,
        "refunded": 0,
        "status": "completed",
        "type": plan.type,
    }


def _balance_update(bench: Bench, leg: Leg, state: tuple[int, int] | None, now: datetime) -> dict[str, Any]:
    """ADD the leg to the wallet under the version read (never below zero on a debit)."""
    names = {"#available": "available", "#version": "version", "#updated": "updated_at"}
    values = {":delta": leg.amount, ":one": 1, ":now": _stamp(now)}
    if state is None:
        condition, names["#account"] = "attribute_not_exists(#account)", "account_id"
    else:
        condition, values[":version"] = "#version = :version", state[1]
    if leg.amount < 0:
        condition, values[":debit"] = f"{condition} AND #available >= :debit", -leg.amount
    return {
        "Update": {
            "TableName": bench.table("balances"),
            "Key": {"account_id": {"S": f"user#{leg.owner}"}, "currency": {"S": leg.currency}},
            "ConditionExpression": condition,
            "UpdateExpression": "SET #updated = :now ADD #available :delta, #version :one",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": _values(**{key[1:]: value for key, value in values.items()}),
        }
    }


def _counter_updates(bench: Bench, found: Found, plan: Plan, now: datetime) -> list[dict[str, Any]]:
    """Both limit windows counted (the payer's level's one capped) and the day's step-up budget."""
    from chalicelib.services.wallet.limits import LEVEL_RULES

    payer, cny = _payer(bench), plan.counted_cny
    level = int(found.get("kyc", user_id=payer, record="current")["level"]["N"])
    budget, _, lifetime, year = _counter_ids(payer, now)
    capped = {"lifetime": lifetime, "year": year}.get(LEVEL_RULES[level].window)
    room = {counter: LEVEL_RULES[level].cap - cny for counter in (capped,) if counter}
    if plan.cap_budget:
        room[budget] = STEP_UP_BUDGET - cny
    updates = []
    for counter in (lifetime, year, budget):
        update: dict[str, Any] = {
            "TableName": bench.table("counters"),
            "Key": {"counter_id": {"S": counter}},
            "UpdateExpression": "ADD #count :cny",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": _values(cny=cny),
        }
        if counter == budget:
            update["UpdateExpression"] = "SET #ttl = :ttl ADD #count :cny"
            update["ExpressionAttributeNames"]["#ttl"] = "expires_ttl"
            update["ExpressionAttributeValues"].update(_values(ttl=_epoch(now + timedelta(days=2))))
        if counter in room:
            update["ConditionExpression"] = "attribute_not_exists(#count) OR #count <= :room"
            update["ExpressionAttributeValues"].update(_values(room=room[counter]))
        updates.append({"Update": update})
    return updates


def _payee_active(bench: Bench, payee: str) -> dict[str, Any]:
    """The money never lands on an account closed since it was read."""
    return {
        "ConditionCheck": {
            "TableName": bench.table("users"),
            "Key": {"user_id": {"S": payee}},
            "ConditionExpression": "#status = :active",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": _values(active="active"),
        }
    }


# --- the Idempotency-Key --------------------------------------------------------------------------


def _key_record(
    bench: Bench, path: str, request: dict[str, Any], status: int, reply: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The key's finished record, in the movement's transaction: the key must be free (or expired)."""
    record = _key_item(bench, path, request, now)
    record.update(attempt="transaction", state="done", status=status, body=reply, expires_ttl=_epoch(now + KEPT))
    put = _put(bench, "idempotency", record)
    put["Put"].update(
        ConditionExpression="attribute_not_exists(#id) OR #ttl < :now",
        ExpressionAttributeNames={"#id": "idempotency_id", "#ttl": "expires_ttl"},
        ExpressionAttributeValues=_values(now=_epoch(now)),
    )
    return put


def _hold_key(bench: Bench, path: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The in-flight marker a confirmation still writes first (PutItem); the marker's item."""
    marker = _key_item(bench, path, body, now) | {
        "state": "in_flight",
        "expires_ttl": _epoch(now + KEPT + timedelta(hours=1)),
    }
    bench.client("dynamodb").put_item(
        TableName=bench.table("idempotency"),
        Item=_encode(marker),
        # free, expired (TTL deletion is lazy), or abandoned in flight
        ConditionExpression=(
            "attribute_not_exists(#id) OR #ttl < :now OR (#state = :in_flight AND #started < :abandoned)"
        ),
        ExpressionAttributeNames={
            "#id": "idempotency_id",
            "#state": "state",
            "#started": "started_at",
            "#ttl": "expires_ttl",
        },
        ExpressionAttributeValues=_values(
            in_flight="in_flight", abandoned=_stamp(now - ABANDONED_AFTER), now=_epoch(now)
        ),
        ReturnConsumedCapacity="TOTAL",
    )
    return marker


def _finish_key(
    bench: Bench, marker: dict[str, Any], status: int, reply: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Store the answer on the marker, in the transaction; only while it is still ours and in flight."""
    return {
        "Update": {
            "TableName": bench.table("idempotency"),
            "Key": {"idempotency_id": {"S": marker["idempotency_id"]}},
            "ConditionExpression": "#attempt = :attempt AND #state = :in_flight",
            "UpdateExpression": "SET #state = :done, #status = :status, #body = :body, #ttl = :ttl",
            "ExpressionAttributeNames": {
                "#attempt": "attempt",
                "#state": "state",
                "#status": "status",
                "#body": "body",
                "#ttl": "expires_ttl",
            },
            "ExpressionAttributeValues": _values(
                attempt=marker["attempt"],
                in_flight="in_flight",
                done="done",
                status=status,
                body=json.dumps(reply),
                ttl=_epoch(now + KEPT),
            ),
        }
    }


def _key_item(bench: Bench, path: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A fresh key's record id (user, method, path, key), the body's fingerprint, the writer's attempt."""
    key = hashlib.sha256(f"bare-{time.perf_counter_ns()}".encode()).hexdigest()
    return {
        "idempotency_id": f"{_payer(bench)}#POST#{path}#{key}",
        "attempt": uuid.uuid4().hex,
        "fingerprint": hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest(),
        "started_at": _stamp(now),
    }


# --- answers ----------------------------------------------------------------------------------------


def _transfer_view(record: dict[str, Any], now: datetime) -> dict[str, Any]:
    names = record["details"]["masked_names"]
    return {
        "transfer_id": record["object_id"],
        "status": record["status"],
        "amount": record["amount"],
        "currency": record["currency"],
        "payer": {"user_id": record["payer"], "masked_name": names.get("payer")},
        "recipient": {"user_id": record["payee"], "masked_name": names.get("payee")},
        "created_at": _shanghai(now).isoformat(timespec="seconds"),
        "transaction_id": record["transaction_id"],
    }


def _entry_view(entry: dict[str, Any]) -> dict[str, Any]:
    """The payer's side of a payment or conversion, as the route answers it."""
    view = {
        "transaction_id": entry["transaction_id"],
        "entry_id": entry["entry_id"],
        "type": entry["type"],
        "direction": entry["direction"],
        "amount": entry["amount"],
        "currency": entry["currency"],
        "status": "completed",
        "description": entry["description"],
        "created_at": _shanghai(datetime.fromisoformat(entry["posted_at"])).isoformat(timespec="seconds"),
        "balance_after": entry.get("balance_after"),
    }
    for optional in ("counterparty", "fx"):
        if entry.get(optional):
            view[optional] = entry[optional]
    return view


# --- DynamoDB's attribute values ---------------------------------------------------------------------


def _put(bench: Bench, logical: str, item: dict[str, Any], absent: str | None = None) -> dict[str, Any]:
    """A transaction's Put; `absent`: the key attribute that must not exist yet."""
    put: dict[str, Any] = {"TableName": bench.table(logical), "Item": _encode(item)}
    if absent:
        put.update(ConditionExpression="attribute_not_exists(#key)", ExpressionAttributeNames={"#key": absent})
    return {"Put": put}


def _encode(item: dict[str, Any]) -> dict[str, Any]:
    """An item as the app stores it: lists of strings as L, objects (and lists of them) as JSON text."""
    return {name: _value(value) for name, value in item.items() if value is not None}


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list) and all(isinstance(member, str) for member in value):
        return {"L": [{"S": member} for member in value]}
    return {"S": json.dumps(value)}


def _values(**values: Any) -> dict[str, Any]:
    """ExpressionAttributeValues from keyword arguments: `_values(zero=0)` → {":zero": {"N": "0"}}."""
    return {f":{name}": _value(value) for name, value in values.items()}


# --- small things ------------------------------------------------------------------------------------


def _payer(bench: Bench) -> str:
    return bench.state["payer"].user_id


def _is_user(leg: Leg) -> bool:
    return leg.account_type == "user_wallet"


def _now() -> datetime:
    """The app's clock (a test clock when one is set), so counters and days line up with the app's."""
    from chalicelib.adapters import clock

    return clock.now()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _shanghai(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)
