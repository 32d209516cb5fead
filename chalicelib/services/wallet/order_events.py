"""Webhook events, written as the transactional outbox of the change they report (section 14).

`record` adds the event to the caller's unit of work, so an event exists if and only if its change
committed. It is born `pending` with its first attempt due at once: the delivery right after the
commit, and the `webhook_dispatch` job's retries, read the sparse index `by_delivery_due`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.services.common.unit_of_work import Work
from chalicelib.store.merchant_events import MerchantEvent, delivery_shard_of

ORDER_PAID = "order.paid"
ORDER_CLOSED = "order.closed"
ORDER_EXPIRED = "order.expired"
REFUND_SUCCEEDED = "refund.succeeded"  # object_version: the order's, as the refund left it


# The events recorded while a `collecting()` block runs: what to deliver once the change has committed.
_collected: ContextVar[list[MerchantEvent] | None] = ContextVar("collected_events", default=None)


@contextmanager
def collecting() -> Iterator[list[MerchantEvent]]:
    """Collect the events recorded inside the block (a refused attempt's too: its event does not
    exist, so the delivery's conditional claim skips it)."""
    found: list[MerchantEvent] = []
    token = _collected.set(found)
    try:
        yield found
    finally:
        _collected.reset(token)


def new_event_id(now: datetime) -> str:
    """`evt_<UTC time, digits only><16 hex>`: a merchant's events sort by time, newest last."""
    digits = "".join(ch for ch in clock.stamp(now) if ch.isdigit())
    return f"evt_{digits}{secrets.token_hex(8)}"


def record(
    work: Work,
    merchant_id: str,
    event_type: str,
    object_id: str,
    object_version: int,
    data: dict[str, Any],
    now: datetime,
) -> MerchantEvent:
    event_id = new_event_id(now)
    stamp = clock.stamp(now)
    event = MerchantEvent(
        merchant_id,
        event_id,
        type=event_type,
        object_id=object_id,
        object_version=object_version,
        created_at=stamp,
        data=data,
        delivery="pending",
        attempts=0,
        delivery_shard=delivery_shard_of(event_id),
        delivery_due=stamp,
    )
    work.save(event, condition=MerchantEvent.event_id.does_not_exist(), label="event")
    collected = _collected.get()
    if collected is not None:
        collected.append(event)
    return event
