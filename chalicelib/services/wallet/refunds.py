"""Merchant refunds of paid orders (contract v1.2, section 14), and the cap they share with disputes.

A refund is ONE TransactWriteItems (`ledger.post` with our writes):

- a `refund` ledger transaction: the merchant's account debited (an append-only entry on one of its
  shards, no balance item) and the payer's wallet credited;
- the refund under its `out_refund_no` (`attribute_not_exists`: one refund per number and merchant);
- the order: `refunded_amount`, `status` (`partially_refunded` | `refunded`) and `version`, on the
  condition that its `version` is still the one read (a compare-and-set: the total and the status
  are exact) and it is paid;
- the payment's transaction record: `refunded` grows on the condition that it stays within the
  paid amount — the cap that dispute refunds of the same payment (chalicelib/services/support/
  dispute_desk.py) also grow under, in their own transaction, together with the order's fields
  (`apply_dispute_refund`), so merchant and dispute refunds racing can never together pass it;
- the `refund.succeeded` event (the transactional outbox) and the request's answer.

A merchant's balance cannot go below zero: its money only ever comes from its orders' payments, and
refunds of an order never pass what that order paid.

Checks, after the key lookup and validation: 404 (no such order for this merchant) → the same
`out_refund_no` (same order and amount: `200` that refund; else `409 refund_exists`) → `409
order_not_open` (never paid) → `422 amount_exceeds_refundable`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import ENTRY_TEXTS, phrase
from chalicelib.services.common.unit_of_work import Work
from chalicelib.services.wallet import ledger, order_events, webhooks
from chalicelib.services.wallet.catalog import merchant_name
from chalicelib.services.wallet.ledger import Leg, Posted, Posting
from chalicelib.services.wallet.merchant_auth import MerchantCaller
from chalicelib.services.wallet.orders import effective_status, order_view
from chalicelib.store.orders import Order, get_order
from chalicelib.store.refunds import Refund, get_refund, refund_key
from chalicelib.store.users import get_user
from chalicelib.store.wallet import TransactionRecord

REFUNDABLE = ("paid", "partially_refunded", "refunded")  # the statuses of a paid order


class _Taken(Exception):
    """A concurrent request refunded under the same `out_refund_no` first."""

    def __init__(self, refund: Refund) -> None:
        self.refund = refund


def refund_view(refund: Refund) -> dict[str, Any]:
    """`{refund}` as the merchant API and its webhooks show it."""
    return {
        "refund_id": refund.refund_id,
        "order_id": refund.owner,
        "out_refund_no": refund.out_refund_no,
        "amount": int(refund.amount),
        "currency": refund.currency,
        "status": "succeeded",
        "transaction_id": refund.transaction_id,
        "created_at": clock.isoformat(clock.from_stamp(refund.created_at)),
    }


def refund_order(
    caller: MerchantCaller, order_id: str, *, amount: int, out_refund_no: str, reason: str | None, now: datetime
) -> tuple[int, dict[str, Any]]:
    """`201 {refund: …}` (or `200` and the refund already made under this `out_refund_no`)."""
    order = get_order(order_id)
    if order is None or order.merchant_id != caller.merchant_id:
        raise OkpayError("not_found")
    existing = get_refund(caller.merchant_id, out_refund_no)
    if existing is not None:
        return 200, {"refund": _same_refund(existing, order_id, amount)}
    _refuse_unrefundable(order, amount, int(order.refunded_amount or 0), now)

    user = get_user(order.payer_id)
    locale = (user.locale if user else None) or "en"
    name = merchant_name(caller.merchant, locale)
    refund = Refund(
        refund_key(caller.merchant_id, out_refund_no),
        refund_id=f"rfd_{uuid.uuid4().hex}",
        owner=order_id,
        out_refund_no=out_refund_no,
        amount=amount,
        currency=order.currency,
        reason=reason,
        transaction_id="",
        created_at=clock.stamp(now),
    )
    posting = Posting(
        type="refund",
        legs=[
            Leg("merchant", caller.merchant_id, order.currency, -amount, description=f"refund {out_refund_no}"),
            Leg(
                "user_wallet",
                order.payer_id,
                order.currency,
                amount,
                counterparty={"kind": "merchant", "id": caller.merchant_id, "name": name},
                description=phrase(ENTRY_TEXTS, "merchant_refund", locale, name=name),
            ),
        ],
        parties=[order.payer_id],
        details={
            "merchant_id": caller.merchant_id,
            "order_id": order_id,
            "refund_id": refund.refund_id,
            "out_refund_no": out_refund_no,
            "original_transaction_id": order.transaction_id,
        },
    )
    current = {"order": order}

    def write(work: Work, posted: Posted) -> None:
        refund.transaction_id = posted.transaction_id
        work.save(refund, condition=Refund.order_id.does_not_exist(), label="refund")
        after = _count_refund(work, current["order"], amount, on_payment=True)
        view = refund_view(refund)
        order_events.record(
            work,
            caller.merchant_id,
            order_events.REFUND_SUCCEEDED,
            order_id,
            int(after.version),
            {"refund": view, "order": order_view(after, now)},
            now,
        )
        work.answer(201, {"refund": view})

    def recheck() -> None:
        taken = get_refund(caller.merchant_id, out_refund_no)
        if taken is not None:
            raise _Taken(taken)
        fresh = get_order(order_id)
        record = TransactionRecord.get(fresh.transaction_id, consistent_read=True)
        _refuse_unrefundable(fresh, amount, max(int(fresh.refunded_amount or 0), int(record.refunded or 0)), now)
        current["order"] = fresh

    try:
        with order_events.collecting() as new_events:
            ledger.post(posting, now, extra=write, on_conflict=recheck)
    except _Taken as taken:
        return 200, {"refund": _same_refund(taken.refund, order_id, amount)}
    webhooks.deliver_after_commit(new_events, now)
    return 201, {"refund": refund_view(refund)}


def apply_dispute_refund(work: Work, order_id: str, amount: int, dispute_id: str, posted: Posted) -> None:
    """A dispute refund of an order's payment, in the dispute's own transaction: the order's total,
    status and version move under the same compare-and-set as a merchant refund, and the merchant is
    told with a `refund.succeeded` event (`refund_id` is the dispute's id, no `out_refund_no`)."""
    order = get_order(order_id)  # read again on every attempt: the condition below needs its version
    if order is None:
        return
    after = _count_refund(work, order, amount, on_payment=False)  # the dispute grows the payment's own
    view = {
        "refund_id": dispute_id,
        "order_id": order_id,
        "out_refund_no": None,
        "amount": amount,
        "currency": order.currency,
        "status": "succeeded",
        "transaction_id": posted.transaction_id,
        "created_at": clock.isoformat(posted.posted_at),
    }
    order_events.record(
        work,
        order.merchant_id,
        order_events.REFUND_SUCCEEDED,
        order_id,
        int(after.version),
        {"refund": view, "order": order_view(after, posted.posted_at)},
        posted.posted_at,
    )


def order_of_payment(transaction_id: str) -> str | None:
    """The checkout order a payment paid, if it paid one."""
    try:
        record = TransactionRecord.get(transaction_id, consistent_read=True)
    except TransactionRecord.DoesNotExist:
        return None
    return (record.details or {}).get("order_id") if record.type == "payment" else None


def _count_refund(work: Work, order: Order, amount: int, *, on_payment: bool) -> Order:
    """Add `amount` to the order's refunds (compare-and-set on its version) and, `on_payment`, to the
    payment record's `refunded` within the paid amount (the cap shared with disputes, which grow it
    themselves); the order as it then reads."""
    total = int(order.refunded_amount or 0) + amount
    status = "refunded" if total >= int(order.amount) else "partially_refunded"
    version = int(order.version) + 1
    work.update(
        order,
        actions=[Order.refunded_amount.set(total), Order.status.set(status), Order.version.set(version)],
        condition=(Order.version == int(order.version)) & Order.status.is_in(*REFUNDABLE),
        label="order",
    )
    paid = int(order.amount)
    if on_payment:
        work.update(
            TransactionRecord(order.transaction_id),
            actions=[TransactionRecord.refunded.add(amount)],
            condition=TransactionRecord.refunded.does_not_exist() | (TransactionRecord.refunded <= paid - amount),
            label="payment",
        )
    after = Order.from_raw_data(order.serialize())
    after.refunded_amount, after.status, after.version = total, status, version
    return after


def _same_refund(refund: Refund, order_id: str, amount: int) -> dict[str, Any]:
    if refund.owner != order_id or int(refund.amount) != amount:
        raise OkpayError("refund_exists", details={"refund_id": refund.refund_id})
    return refund_view(refund)


def _refuse_unrefundable(order: Order, amount: int, refunded: int, now: datetime) -> None:
    if order.status not in REFUNDABLE:
        raise OkpayError("order_not_open", details={"status": effective_status(order, now)})
    if refunded + amount > int(order.amount):
        left = {"amount": max(int(order.amount) - refunded, 0), "currency": order.currency}
        raise OkpayError("amount_exceeds_refundable", field="amount", details={"refundable": left})
