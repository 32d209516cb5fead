"""Webhook events (table `merchant-events`): the transactional outbox of section 14.

One item per event, `(merchant_id, event_id)`, written in the same TransactWriteItems as the change
it reports. `event_id` is `evt_<UTC stamp, digits only><16 hex>`, so a merchant's events sort by
time and a reverse Query lists them newest first.

`delivery`: `pending` → `delivered` | `failed`. While an attempt is due, the event carries
`delivery_shard` and `delivery_due`: the sparse GSI `by_delivery_due` that the dispatch job reads.
"""

from __future__ import annotations

import hashlib

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.store.base import BaseModel, StageTable

DELIVERY_SHARDS = 16


class EventsByDeliveryDue(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_delivery_due"
        projection = KeysOnlyProjection()

    delivery_shard = UnicodeAttribute(hash_key=True)
    delivery_due = UnicodeAttribute(range_key=True)


class MerchantEvent(BaseModel):
    class Meta(metaclass=StageTable):
        table = "merchant-events"

    merchant_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    type = UnicodeAttribute()  # order.paid | order.closed | order.expired | refund.succeeded
    object_id = UnicodeAttribute()  # the order's (or refund's) id
    object_version = NumberAttribute()
    created_at = UnicodeAttribute()
    data = JSONAttribute()  # {"order": {...}} or {"refund": {...}} as the merchant API shows it
    delivery = UnicodeAttribute(default="pending")  # pending | delivered | failed
    attempts = NumberAttribute(default=0)
    delivery_shard = UnicodeAttribute(null=True)  # while an attempt is due: GSI by_delivery_due
    delivery_due = UnicodeAttribute(null=True)

    by_delivery_due = EventsByDeliveryDue()


def delivery_shard_of(event_id: str) -> str:
    return f"{int(hashlib.sha256(event_id.encode()).hexdigest()[:8], 16) % DELIVERY_SHARDS:02d}"


def events_of(merchant_id: str, limit: int = 100) -> list[MerchantEvent]:
    """The merchant's latest events, newest first."""
    return list(MerchantEvent.query(merchant_id, scan_index_forward=False, limit=limit, consistent_read=True))


def events_page(
    merchant_id: str, limit: int, after: str | None, delivery: str | None
) -> tuple[list[MerchantEvent], str | None]:
    """Of the merchant's next `limit` events older than `after`, newest first, those in `delivery` when
    given, and the position to go on from. ONE Query page: the filter applies after the read, so a
    page may be short (even empty) while more follow, and a rare state never reads a whole partition."""
    start = {"merchant_id": {"S": merchant_id}, "event_id": {"S": after}} if after else None
    pages = MerchantEvent.query(
        merchant_id,
        scan_index_forward=False,
        page_size=limit,
        consistent_read=True,
        filter_condition=(MerchantEvent.delivery == delivery) if delivery else None,
        last_evaluated_key=start,
    ).page_iter
    page = next(pages)
    items = [MerchantEvent.from_raw_data(raw) for raw in page.get("Items", [])]
    following = page.get("LastEvaluatedKey")
    return items, following["event_id"]["S"] if following else None


def due_event_keys(shard: str, until: str) -> list[tuple[str, str]]:
    """(merchant_id, event_id) of the events in `shard` whose next attempt is due by `until` (the
    index may lag: each attempt is conditional on the item itself)."""
    return [
        (item.merchant_id, item.event_id)
        for item in MerchantEvent.by_delivery_due.query(shard, MerchantEvent.delivery_due <= until)
    ]
