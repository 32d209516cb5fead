"""Merchant refunds (table `orders`, next to the order they refund; contract v1.2, section 14).

- `refundno#<merchant_id>#<out_refund_no>`: the refund itself, keyed by the merchant's own refund
  number, so writing it with `attribute_not_exists` is the claim that makes `out_refund_no` unique per
  merchant: two requests with one number can never both refund.

The refund's money is a `refund` ledger transaction (`transaction_id`); the running total lives on
the order (`refunded_amount`) and on the payment's transaction record (`refunded`, shared with
dispute refunds), both under the cap in the same transaction.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.store.base import BaseModel, StageTable


class Refund(BaseModel):
    class Meta(metaclass=StageTable):
        table = "orders"

    order_id = UnicodeAttribute(hash_key=True)  # "refundno#<merchant_id>#<out_refund_no>"
    refund_id = UnicodeAttribute()
    owner = UnicodeAttribute()  # the refunded order's id
    out_refund_no = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    transaction_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


def refund_key(merchant_id: str, out_refund_no: str) -> str:
    return f"refundno#{merchant_id}#{out_refund_no}"


def get_refund(merchant_id: str, out_refund_no: str) -> Refund | None:
    try:
        return Refund.get(refund_key(merchant_id, out_refund_no), consistent_read=True)
    except Refund.DoesNotExist:
        return None
