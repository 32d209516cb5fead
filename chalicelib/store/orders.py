"""Checkout orders (table `orders`): merchants create them, users pay them (contract v1.2, section 14).

- `ord_<32 hex>`: the order. `status`: `open` → `paid` | `closed` | `expired` (later, refunds:
  `partially_refunded`, `refunded`). Every change is a conditional write on `status` (and, for
  paying and closing, on `expires_at` against the app clock) that adds 1 to `version`, the
  `object_version` of its webhook event, written in the same transaction.
- `outno#<merchant_id>#<out_order_no>`: the claim that makes `out_order_no` unique per merchant,
  written in the transaction that creates the order.

While open, an order carries `open_shard` and `open_until` (= `expires_at`): the sparse GSI
`by_open_until` that the `order_expiry` job reads; leaving `open` removes them.
"""

from __future__ import annotations

import hashlib

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.store.base import BaseModel, StageTable

OPEN_SHARDS = 16  # the expiry index's partitions: no hot key when many orders open at once


class OrdersByOpenUntil(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_open_until"
        projection = KeysOnlyProjection()

    open_shard = UnicodeAttribute(hash_key=True)
    open_until = UnicodeAttribute(range_key=True)


class Order(BaseModel):
    class Meta(metaclass=StageTable):
        table = "orders"

    order_id = UnicodeAttribute(hash_key=True)
    merchant_id = UnicodeAttribute()
    out_order_no = UnicodeAttribute()
    status = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    description = UnicodeAttribute()
    created_at = UnicodeAttribute()  # stamps (chalicelib.adapters.clock.stamp): they sort by time
    expires_at = UnicodeAttribute()
    version = NumberAttribute(default=1)  # the object_version of the order's last event
    refunded_amount = NumberAttribute(default=0)
    paid_at = UnicodeAttribute(null=True)
    payer_id = UnicodeAttribute(null=True)
    transaction_id = UnicodeAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)  # closed or expired
    open_shard = UnicodeAttribute(null=True)  # while open only: GSI by_open_until
    open_until = UnicodeAttribute(null=True)

    by_open_until = OrdersByOpenUntil()


class OrderNumberClaim(BaseModel):
    """`out_order_no` taken by one order of one merchant (same table)."""

    class Meta(metaclass=StageTable):
        table = "orders"

    order_id = UnicodeAttribute(hash_key=True)  # "outno#<merchant_id>#<out_order_no>"
    owner = UnicodeAttribute()  # the order's id
    created_at = UnicodeAttribute()


def number_claim(merchant_id: str, out_order_no: str) -> str:
    return f"outno#{merchant_id}#{out_order_no}"


def open_shard_of(order_id: str) -> str:
    return f"{int(hashlib.sha256(order_id.encode()).hexdigest()[:8], 16) % OPEN_SHARDS:02d}"


def get_order(order_id: str) -> Order | None:
    if not order_id.startswith("ord_"):
        return None  # a claim's key is not an order
    try:
        return Order.get(order_id, consistent_read=True)
    except Order.DoesNotExist:
        return None


def get_claim(merchant_id: str, out_order_no: str) -> OrderNumberClaim | None:
    try:
        return OrderNumberClaim.get(number_claim(merchant_id, out_order_no), consistent_read=True)
    except OrderNumberClaim.DoesNotExist:
        return None


def open_until_ids(shard: str, until: str) -> list[str]:
    """Ids of open orders in `shard` whose `expires_at` is not after `until` (the index may lag: each
    change is conditional on the item itself)."""
    return [item.order_id for item in Order.by_open_until.query(shard, Order.open_until <= until)]
