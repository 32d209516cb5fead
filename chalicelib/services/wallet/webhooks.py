"""Webhook delivery (contract v1.2, section 14): the events of `merchant-events` POSTed, signed, to
the merchant's `webhook_url`.

Body: `{event_id, type, created_at, object_version, data}`; header `Okpay-Signature: t=<unix
seconds>,v1=<hex HMAC-SHA256(webhook secret, "<t>.<raw body>")>`, one `v1=` per active key. A 2xx
within `TIMEOUT_SECONDS` is delivery; anything else (another status, a timeout, a refused
connection, a host that now resolves to a non-public address) is a failed attempt.

Attempts:
- the first right after the change commits, off the caller's response path (`deliver_after_commit`
  hands it to chalicelib/adapters/webhook_relay.py: deployed, an SNS message to the relay function,
  `relay_first_attempts`; in the local stage's server, a thread; in tests, inline), so a payer never
  waits on a shop's receiver; it never raises: the change stands whatever the receiver does, and
  an event whose hand-off was lost is born due, so the job makes its first attempt;
- then the `webhook_dispatch` job (every minute) makes retry n once `RETRY_DELAYS[n-1]` has passed
  since attempt n failed — 1 m, 5 m, 15 m, 1 h, 3 h, 6 h, 12 h, 24 h — and after the 8th retry fails
  the event is `failed` (out of the index);
- `redeliver`: one more attempt now, whatever the state.

Each attempt first claims the event: a conditional update on the attempts counter read (and, for the
job, on `pending` and the due time read) that counts the attempt and pushes `delivery_due` a lease
ahead, so overlapping runs, or the job and the hand-off, never send one event twice at once; a
worker that dies mid-attempt leaves the event due again when the lease ends.

A merchant without a `webhook_url`: its events are recorded and listed (`pending`) but not attempted;
they leave the dispatch index (no attempt counted) and `POST /merchant/events/{id}/redeliver` sends
one once a URL is set.

The delivery resolves the host again and connects only to an address that passes
`is_public_address` (chalicelib/services/wallet/webhook_urls.py; the local stage's
`http://127.0.0.1:<port>` allowed), never following a redirect.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pynamodb.exceptions import UpdateError

from chalicelib.adapters import clock, webhook_http, webhook_relay
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.common.dispatch import RunBudget, due_keys, in_pool
from chalicelib.services.wallet.merchant_auth import get_merchant
from chalicelib.services.wallet.merchants import webhook_secrets
from chalicelib.services.wallet.webhook_urls import delivery_addresses
from chalicelib.store.conditions import condition_failed
from chalicelib.store.merchant_events import (
    DELIVERY_SHARDS,
    MerchantEvent,
    delivery_shard_of,
    due_event_keys,
    events_page,
)

TIMEOUT_SECONDS = 10.0  # a 2xx within this is delivery (tests shorten it)
RETRY_DELAYS = tuple(
    timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360, 720, 1440)
)  # retry n is due RETRY_DELAYS[n-1] after attempt n failed
MAX_ATTEMPTS = 1 + len(RETRY_DELAYS)
RUN_BUDGET_SECONDS = 240.0  # a job run starts no attempt after this (the function's timeout is 300 s)
WORKERS = 8  # attempts at once in a job run: each mostly waits on a receiver; bounds the connections open
LEASE = timedelta(seconds=60)  # a claimed attempt holds the event this long (well past the timeout)
SIGNATURE_HEADER = "Okpay-Signature"


# --- what is sent -------------------------------------------------------------------------------


def payload(event: MerchantEvent) -> bytes:
    """The raw body POSTed (and signed)."""
    body = {
        "event_id": event.event_id,
        "type": event.type,
        "created_at": clock.isoformat(clock.from_stamp(event.created_at)),
        "object_version": int(event.object_version),
        "data": event.data,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secrets: list[str], body: bytes, timestamp: int) -> str:
    """`t=<unix seconds>,v1=<hex>[,v1=<hex>…]`: one `v1` per webhook secret."""
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"]
    parts += [f"v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}" for secret in secrets]
    return ",".join(parts)


def event_view(event: MerchantEvent) -> dict[str, Any]:
    """An event as `GET /merchant/events` lists it: what is POSTed, plus its delivery state."""
    due = event.delivery_due if event.delivery == "pending" else None
    return {
        **json.loads(payload(event)),
        "delivery": event.delivery,
        "attempts": int(event.attempts or 0),
        "next_attempt_at": clock.isoformat(clock.from_stamp(due)) if due else None,
    }


def list_events(
    merchant_id: str, limit: int, after: str | None, delivery: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """`GET /merchant/events`: one page, newest first, and the position of the next."""
    items, following = events_page(merchant_id, limit, after, delivery)
    return [event_view(item) for item in items], following


# --- attempts -----------------------------------------------------------------------------------


def deliver_after_commit(events: list[MerchantEvent], now: datetime) -> None:
    """Start the first attempt of events just committed, off the caller's response path
    (chalicelib/adapters/webhook_relay.py); never raises (the change stands, the job retries)."""
    keys = [(event.merchant_id, event.event_id) for event in events]
    webhook_relay.hand_off(keys, lambda: _first_attempts(events, now))


def relay_first_attempts(keys: list[tuple[str, str]], now: datetime) -> dict[str, int]:
    """The relay topic's side of `deliver_after_commit`: each event read again (consistent), and
    attempted only while nobody has attempted it yet (a late or repeated message, or the job first,
    leaves it to the retry schedule)."""
    counts = {"delivered": 0, "retrying": 0, "failed": 0, "skipped": 0}
    for merchant_id, event_id in keys:
        event = _get_event(merchant_id, event_id)
        first = event is not None and event.delivery == "pending" and not int(event.attempts or 0)
        outcome = _first_attempts([event], now)[0] if first else None
        counts[outcome or "skipped"] += 1
    return counts


def _first_attempts(events: list[MerchantEvent], now: datetime) -> list[str | None]:
    outcomes: list[str | None] = []
    for event in events:
        try:
            outcomes.append(_attempt(event, now, due=event.delivery_due))
        except Exception:
            logger.exception("webhook first attempt failed", extra={"event_id": event.event_id})
            outcomes.append(None)
    return outcomes


def dispatch_due(now: datetime) -> dict[str, int]:
    """The `webhook_dispatch` job: every pending event whose next attempt is due, from the sparse index
    `by_delivery_due` shard by shard (never a Scan), within the run budget, `WORKERS` at once
    (chalicelib/services/common/dispatch.py), so one slow receiver does not hold up the others. A
    merchant's events may go out in parallel: each is claimed, and `object_version` orders them."""
    counts = {"delivered": 0, "retrying": 0, "failed": 0, "skipped": 0}
    until = clock.stamp(now)
    due = due_keys(due_event_keys, DELIVERY_SHARDS, until, RunBudget(RUN_BUDGET_SECONDS))
    targets = _Targets()

    def attempt(key: tuple[str, str]) -> str | None:
        merchant_id, event_id = key
        try:
            event = _get_event(merchant_id, event_id)  # the index may lag; the claim is on the item
            if event is None or event.delivery != "pending" or (event.delivery_due or "~") > until:
                return None
            return _attempt(event, now, due=event.delivery_due, target=targets.of(merchant_id))
        except Exception:  # DynamoDB refused a read, the claim or the outcome: the event is due again later
            logger.exception("webhook attempt not recorded", extra={"event_id": event_id})
            return None

    for outcome in in_pool(due, attempt, WORKERS):
        counts[outcome or "skipped"] += 1
    return counts


def redeliver(merchant_id: str, event_id: str, now: datetime) -> dict[str, Any]:
    """`POST /merchant/events/{id}/redeliver`: one attempt now; another merchant's event is 404."""
    event = _get_event(merchant_id, event_id)
    if event is None:
        raise OkpayError("not_found")
    _attempt(event, now, due=None)
    event = _get_event(merchant_id, event_id) or event
    return {"event_id": event.event_id, "delivery": event.delivery, "attempts": int(event.attempts or 0)}


@dataclass(frozen=True)
class _Target:
    url: str | None
    secrets: tuple[str, ...]


class _Targets:
    """Each merchant's target, read once a run (a run lasts minutes at most) however many workers ask
    for it at once; a read that failed is tried again by the next event that needs it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reads: dict[str, Future[_Target]] = {}

    def of(self, merchant_id: str) -> _Target:
        with self._lock:
            read = self._reads.get(merchant_id)
            mine = read is None
            if read is None:
                read = self._reads[merchant_id] = Future()
        if mine:
            try:
                read.set_result(_target_of(merchant_id))
            except Exception as error:
                with self._lock:
                    del self._reads[merchant_id]
                read.set_exception(error)
        return read.result()


def _target_of(merchant_id: str) -> _Target:
    """Where the merchant's events go, and the secrets that sign them (none read without a URL)."""
    merchant = get_merchant(merchant_id)
    url = merchant.webhook_url if merchant is not None else None
    return _Target(url, tuple(webhook_secrets(merchant_id)) if url else ())


def _attempt(event: MerchantEvent, now: datetime, *, due: str | None, target: _Target | None = None) -> str | None:
    """Claim, POST and record one attempt: `delivered` | `retrying` | `failed`, or None when the
    event was not ours to attempt (claimed by another worker, not committed, no webhook_url)."""
    target = target or _target_of(event.merchant_id)
    url = target.url
    if not url:
        _park(event, due)
        return None
    attempts = int(event.attempts or 0)
    if not _claim(event, attempts, due, now):
        return None
    attempt = attempts + 1
    ok = _post(event, url, list(target.secrets), now)
    if ok:
        actions = [
            MerchantEvent.delivery.set("delivered"),
            MerchantEvent.delivery_shard.remove(),
            MerchantEvent.delivery_due.remove(),
        ]
        outcome = "delivered"
    elif event.delivery != "pending":
        actions, outcome = [], "retrying"  # a redelivery of a delivered or failed event changes nothing more
    elif attempt >= MAX_ATTEMPTS:
        actions = [
            MerchantEvent.delivery.set("failed"),
            MerchantEvent.delivery_shard.remove(),
            MerchantEvent.delivery_due.remove(),
        ]
        outcome = "failed"
    else:
        next_due = clock.stamp(now + RETRY_DELAYS[attempt - 1])
        actions = [MerchantEvent.delivery_due.set(next_due), MerchantEvent.delivery_shard.set(_shard(event))]
        outcome = "retrying"
    if actions:
        try:
            # Ours only while no later attempt claimed it (ours outlived its lease).
            event.update(actions=actions, condition=MerchantEvent.attempts == attempt)
        except UpdateError as error:
            if not condition_failed(error):
                raise
    logger.info(
        "webhook attempt", extra={"event_id": event.event_id, "attempt": attempt, "event": f"webhook_{outcome}"}
    )
    return outcome


def _claim(event: MerchantEvent, attempts: int, due: str | None, now: datetime) -> bool:
    """Count the attempt if nobody else did since `event` was read; pending events are leased."""
    condition = MerchantEvent.attempts == attempts  # fails, too, for an event that never committed
    actions = [MerchantEvent.attempts.add(1)]
    if event.delivery == "pending":
        condition &= MerchantEvent.delivery == "pending"
        if due is not None:
            condition &= MerchantEvent.delivery_due == due
        actions += [
            MerchantEvent.delivery_due.set(clock.stamp(now + LEASE)),
            MerchantEvent.delivery_shard.set(_shard(event)),
        ]
    try:
        event.update(actions=actions, condition=condition)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _park(event: MerchantEvent, due: str | None) -> None:
    """No webhook_url: the event stays `pending` and listed, out of the dispatch index."""
    if event.delivery != "pending" or event.delivery_due is None:
        return
    condition = MerchantEvent.event_id.exists() & (MerchantEvent.delivery == "pending")
    if due is not None:
        condition &= MerchantEvent.delivery_due == due
    try:
        event.update(
            actions=[MerchantEvent.delivery_shard.remove(), MerchantEvent.delivery_due.remove()], condition=condition
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise


def _post(event: MerchantEvent, url: str, secrets: list[str], now: datetime) -> bool:
    """True for a 2xx within the timeout from an address that passes the checks now."""
    addresses = delivery_addresses(url, local=get_settings().is_local)
    if not addresses:
        logger.warning("webhook host not public now, not contacted", extra={"event_id": event.event_id})
        return False
    parts = urlsplit(url)
    body = payload(event)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Okpay-Webhooks/1.2",
        SIGNATURE_HEADER: signature(secrets, body, int(now.timestamp())),
    }
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    scheme = parts.scheme
    port = parts.port or (443 if scheme == "https" else 80)
    try:
        status = webhook_http.post(
            scheme=scheme,
            host=parts.hostname or "",
            port=port,
            address=sorted(addresses, key=lambda address: ":" in address)[0],  # IPv4 first: Lambda's egress
            target=target,
            body=body,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
        )
    except Exception as error:  # refused, reset, TLS, timeout: a failed attempt
        logger.info("webhook not delivered", extra={"event_id": event.event_id, "error": type(error).__name__})
        return False
    return 200 <= status < 300


def _get_event(merchant_id: str, event_id: str) -> MerchantEvent | None:
    try:
        return MerchantEvent.get(merchant_id, event_id, consistent_read=True)
    except MerchantEvent.DoesNotExist:
        return None


def _shard(event: MerchantEvent) -> str:
    return event.delivery_shard or delivery_shard_of(event.event_id)
