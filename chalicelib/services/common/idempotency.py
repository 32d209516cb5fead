"""Idempotency-Key (contract, section 1), on our own records (moto ignores ClientRequestToken).

The key is scoped to the user, method and path, and fingerprints the canonical body without
`authorization` (null and absent members alike, see `fingerprint`). A request holds its key as a
`Hold`, made by `begin` at the key lookup and found by the unit of work through `held()`:

- **With a marker** (a route that calls outside before it posts: top-ups, withdrawals, confirming a
  transfer, and the routes that create records): `begin` puts an in-flight marker. No record (or an
  in-flight one older than 60 s: abandoned) → the request owns the key; a finished record with the
  same fingerprint → replayed; another fingerprint → `422 idempotency_key_reused`; in flight →
  `409 request_in_progress`.
- **Without a marker** (an internal movement: transfer, payment, conversion): nothing is written
  before the movement. Its one TransactWriteItems puts the answer under the condition that the key
  is free, so a duplicate, concurrent or late, loses that condition and gets the stored answer
  (`KeyTaken`). Moving no money outside, it has no in-flight window to report. A refusal looks the
  key up before it answers (`settle`), so the order of checks is the contract's: a key already
  answered is replayed (or 422) whatever the new attempt would have been refused for.

The answer is stored inside the request's own transaction (chalicelib.services.common.unit_of_work), so
it is stored if and only if the work was done. Business outcomes (402, 403, 404, 409, 422) are
stored too; 400, 401, 429, 5xx and `403 step_up_required` are not (the marker is removed).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import aws, clock
from chalicelib.adapters.keys import keyed_hash
from chalicelib.errors import OkpayError
from chalicelib.store.conditions import condition_failed
from chalicelib.store.idempotency import IdempotencyRecord

KEPT = timedelta(hours=24)
ABANDONED_AFTER = timedelta(seconds=60)
STORED_STATUSES = frozenset({402, 403, 404, 409, 422})
NOT_STORED_CODES = frozenset({"step_up_required"})
SETTLE_ATTEMPTS = 5


@dataclass
class Hold:
    """A request's hold on its key. `attempt` is its marker's id (None: no marker was put);
    `stored` is set by the unit of work once a transaction holding the answer has committed."""

    record_id: str
    fingerprint: str
    attempt: str | None
    stored: bool = False


@dataclass(frozen=True)
class Replay:
    status: int
    body: Any


class KeyTaken(Exception):
    """A transaction lost the key's condition to a duplicate request: answer with its `replay`."""

    def __init__(self, replay: Replay) -> None:
        super().__init__("idempotency key already answered")
        self.replay = replay


_held: ContextVar[Hold | None] = ContextVar("idempotency_hold", default=None)


@contextmanager
def holding(hold: Hold | None) -> Iterator[None]:
    """Make `hold` the current request's key while the handler runs."""
    token = _held.set(hold)
    try:
        yield
    finally:
        _held.reset(token)


def held() -> Hold | None:
    return _held.get()


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


def begin(
    user_id: str, method: str, path: str, key: str, body: Any, now: datetime, *, marker: bool = True
) -> Hold | Replay:
    """Own the key (a Hold), or the stored answer to replay (a Replay); else 409/422.

    `marker=False`: nothing is written or read now; the request's transaction claims the key.
    """
    hold = Hold(record_id(user_id, method, path, key), fingerprint(body), uuid.uuid4().hex if marker else None)
    if not marker:
        return hold
    record = IdempotencyRecord(
        hold.record_id,
        fingerprint=hold.fingerprint,
        state="in_flight",
        attempt=hold.attempt,
        started_at=clock.stamp(now),
        expires_ttl=now + KEPT + timedelta(hours=1),
    )
    abandoned = (IdempotencyRecord.state == "in_flight") & (
        IdempotencyRecord.started_at < clock.stamp(now - ABANDONED_AFTER)
    )
    try:
        record.save(condition=_free(now) | abandoned)
        return hold
    except PutError as error:
        if not condition_failed(error):
            raise
    return stored_answer(hold, now) or begin(user_id, method, path, key, body, now)  # expired meanwhile


def answer_in(transaction: TransactWrite, hold: Hold, status: int, body: Any, now: datetime) -> None:
    """Store the answer inside the caller's transaction: over our own marker, or where the key is free."""
    if hold.attempt is not None:
        transaction.update(IdempotencyRecord(hold.record_id), actions=_done(status, body, now), condition=_ours(hold))
    else:
        transaction.save(_answer(hold, status, body, now), condition=_free(now))


def reopen_in(transaction: TransactWrite, hold: Hold) -> None:
    """Back to in flight, still ours (a withdrawal returned after its 201 was stored): the edge then
    stores the refusal that replaced it."""
    transaction.update(
        IdempotencyRecord(hold.record_id),
        actions=[
            IdempotencyRecord.state.set("in_flight"),
            IdempotencyRecord.status.remove(),
            IdempotencyRecord.body.remove(),
        ],
        condition=IdempotencyRecord.attempt == hold.attempt,
    )


def withdraw_in(transaction: TransactWrite, hold: Hold) -> None:
    """Take back the answer this request stored (its work was undone: a transfer whose code could not
    be sent), so the same key runs again instead of replaying it."""
    if hold.attempt is not None:
        ours = IdempotencyRecord.attempt == hold.attempt
    else:
        ours = (IdempotencyRecord.attempt == "transaction") & (IdempotencyRecord.fingerprint == hold.fingerprint)
    transaction.delete(IdempotencyRecord(hold.record_id), condition=ours & (IdempotencyRecord.state == "done"))


def settle(hold: Hold, status: int, code: str | None, body: Any, now: datetime) -> Replay | None:
    """After the handler: store the answer when the contract says so, else let the key go.

    Returns what to answer instead when the key turns out to be answered already (no marker: a
    duplicate got there first). Raises `422 idempotency_key_reused` for another body.
    """
    if hold.stored:
        return None
    if is_stored_outcome(status, code):
        return _store(hold, status, body, now)
    if hold.attempt is not None:
        _release(hold)
        return None
    return stored_answer(hold, now)


def is_stored_outcome(status: int, code: str | None) -> bool:
    return (200 <= status < 300) or (status in STORED_STATUSES and code not in NOT_STORED_CODES)


def _store(hold: Hold, status: int, body: Any, now: datetime) -> Replay | None:
    try:
        if hold.attempt is not None:
            _persisting(
                lambda: IdempotencyRecord(hold.record_id).update(
                    actions=_done(status, body, now), condition=_ours(hold)
                )
            )
        else:
            _persisting(lambda: _answer(hold, status, body, now).save(condition=_free(now)))
    except (PutError, UpdateError) as error:
        if not condition_failed(error):
            raise
        # Our marker was taken over (abandoned after 60 s), or a duplicate answered first.
        return stored_answer(hold, now) if hold.attempt is None else None
    hold.stored = True
    return None


def _release(hold: Hold) -> None:
    try:
        # Only our own marker, and only while nothing was stored: a finished record is never lost.
        _persisting(lambda: IdempotencyRecord(hold.record_id).delete(condition=_ours(hold)))
    except DeleteError as error:
        if not condition_failed(error):
            raise


def _persisting(write: Callable[[], Any]) -> None:
    """Settle the key through a busy DynamoDB (throttled past botocore's own retries, a conflicting
    transaction): a marker left behind would answer `409 request_in_progress` to the client's retry
    for a minute, an unstored answer would let the work run twice. Conditional, so safe to repeat."""
    for attempt in range(SETTLE_ATTEMPTS):
        try:
            write()
            return
        except (PutError, UpdateError, DeleteError) as error:
            if attempt == SETTLE_ATTEMPTS - 1 or not aws.is_busy(error):
                raise
        time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 (jitter, not security)


def stored_answer(hold: Hold, now: datetime) -> Replay | None:
    """The answer stored under the key (None when there is none, or it expired); 409/422 as due."""
    try:
        record = IdempotencyRecord.get(hold.record_id, consistent_read=True)
    except IdempotencyRecord.DoesNotExist:
        return None
    if record.expires_ttl is not None and record.expires_ttl < now:  # TTL deletion is lazy
        return None
    if record.fingerprint != hold.fingerprint:
        raise OkpayError("idempotency_key_reused")
    if record.state == "in_flight":
        raise OkpayError("request_in_progress")
    return Replay(int(record.status), record.body)


def _answer(hold: Hold, status: int, body: Any, now: datetime) -> IdempotencyRecord:
    return IdempotencyRecord(
        hold.record_id,
        fingerprint=hold.fingerprint,
        state="done",
        attempt="transaction",
        started_at=clock.stamp(now),
        status=status,
        body=body,
        expires_ttl=now + KEPT,
    )


def _free(now: datetime) -> Any:
    return IdempotencyRecord.idempotency_id.does_not_exist() | (IdempotencyRecord.expires_ttl < now)


def _ours(hold: Hold) -> Any:
    return (IdempotencyRecord.attempt == hold.attempt) & (IdempotencyRecord.state == "in_flight")


def _done(status: int, body: Any, now: datetime) -> list[Any]:
    return [
        IdempotencyRecord.state.set("done"),
        IdempotencyRecord.status.set(status),
        IdempotencyRecord.body.set(body),
        IdempotencyRecord.expires_ttl.set(now + KEPT),
    ]
