"""Idempotency-Key (contract, section 1), on our own records (moto ignores ClientRequestToken).

The key is scoped to the user, method and path, and fingerprints the canonical body without
`authorization` (null and absent members alike, see `fingerprint`). The lookup is a conditional
put of an in-flight marker:

- no record (or an in-flight one older than 60 s: abandoned) → this request owns the key;
- a finished record with the same fingerprint → its stored status and body again, replayed;
- a different fingerprint → `422 idempotency_key_reused`;
- in flight → `409 request_in_progress`.

A money movement finishes the record inside its own ledger transaction (`finish_in`), so the
answer is stored if and only if the money moved. Business outcomes (402, 403, 404, 409, 422) are
stored too; 400, 401, 429, 5xx and `403 step_up_required` are not (the marker is removed).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import clock
from chalicelib.adapters.keys import keyed_hash
from chalicelib.errors import OkpayError
from chalicelib.store.conditions import condition_failed
from chalicelib.store.wallet import IdempotencyRecord

KEPT = timedelta(hours=24)
ABANDONED_AFTER = timedelta(seconds=60)
STORED_STATUSES = frozenset({402, 403, 404, 409, 422})
NOT_STORED_CODES = frozenset({"step_up_required"})


@dataclass
class Slot:
    record_id: str
    fingerprint: str
    attempt: str
    finished: bool = False


@dataclass(frozen=True)
class Replay:
    status: int
    body: Any


def fingerprint(body: Any) -> str:
    """The keyed hash of the canonical body: `authorization` left out, and a null member the same as
    an absent one at any depth (contract, section 1), members in sorted order.

    The edge passes the validated body (the model as dumped, so `" x"` and `"x"` of a stripped field
    are the same body too) or, for a body that fails validation, the parsed JSON.
    """
    if isinstance(body, dict):
        body = {key: value for key, value in body.items() if key != "authorization"}
    canonical = json.dumps(without_nulls(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    # Keyed: a body can hold a card number, and a plain hash of one could be searched back.
    return keyed_hash("idempotency", canonical)


def without_nulls(value: Any) -> Any:
    """`value` with every null member of an object dropped, at any depth (array items are kept).

    Bodies reach here parsed by chalicelib.api.validation.parse_json_object, whose depth limit keeps
    this recursion shallow.
    """
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def record_id(user_id: str, method: str, path: str, key: str) -> str:
    return f"{user_id}#{method}#{path}#{hashlib.sha256(key.encode()).hexdigest()}"


def begin(user_id: str, method: str, path: str, key: str, body: Any, now: datetime) -> Slot | Replay:
    """Own the key (a Slot), or the stored answer to replay (a Replay); else 409/422."""
    slot = Slot(record_id(user_id, method, path, key), fingerprint(body), uuid.uuid4().hex)
    marker = IdempotencyRecord(
        slot.record_id,
        fingerprint=slot.fingerprint,
        state="in_flight",
        attempt=slot.attempt,
        started_at=clock.stamp(now),
        expires_ttl=now + KEPT + timedelta(hours=1),
    )
    abandoned = (IdempotencyRecord.state == "in_flight") & (
        IdempotencyRecord.started_at < clock.stamp(now - ABANDONED_AFTER)
    )
    expired = IdempotencyRecord.expires_ttl < now  # TTL deletion is lazy
    try:
        marker.save(condition=IdempotencyRecord.idempotency_id.does_not_exist() | abandoned | expired)
        return slot
    except PutError as error:
        if not condition_failed(error):
            raise
    existing = IdempotencyRecord.get(slot.record_id, consistent_read=True)
    if existing.fingerprint != slot.fingerprint:
        raise OkpayError("idempotency_key_reused")
    if existing.state == "in_flight":
        raise OkpayError("request_in_progress")
    return Replay(int(existing.status), existing.body)


def finish_in(transaction: TransactWrite, slot: Slot, status: int, body: Any, now: datetime) -> None:
    """Store the answer inside the caller's transaction; only the marker's owner may."""
    transaction.update(
        IdempotencyRecord(slot.record_id),
        actions=_done(status, body, now),
        condition=(IdempotencyRecord.attempt == slot.attempt) & (IdempotencyRecord.state == "in_flight"),
    )
    slot.finished = True


def store(slot: Slot, status: int, body: Any, now: datetime) -> None:
    """Store an answer that moved no money (a business refusal, or a POST that creates a record)."""
    try:
        IdempotencyRecord(slot.record_id).update(
            actions=_done(status, body, now),
            condition=(IdempotencyRecord.attempt == slot.attempt) & (IdempotencyRecord.state == "in_flight"),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
    slot.finished = True


def release(slot: Slot) -> None:
    """Forget the key: the outcome is not one that is replayed (400, 401, 429, 5xx, step-up)."""
    try:
        # Only our own marker, and only while nothing was stored: a finished record is never lost.
        IdempotencyRecord(slot.record_id).delete(
            condition=(IdempotencyRecord.attempt == slot.attempt) & (IdempotencyRecord.state == "in_flight")
        )
    except DeleteError as error:
        if not condition_failed(error):
            raise


def is_stored_outcome(status: int, code: str | None) -> bool:
    return (200 <= status < 300) or (status in STORED_STATUSES and code not in NOT_STORED_CODES)


def _done(status: int, body: Any, now: datetime) -> list[Any]:
    return [
        IdempotencyRecord.state.set("done"),
        IdempotencyRecord.status.set(status),
        IdempotencyRecord.body.set(body),
        IdempotencyRecord.expires_ttl.set(now + KEPT),
    ]
