"""Checkout orders (contract v1.2, section 14): a merchant creates one, a user pays it in the app.

- create: the order and its `out_order_no` claim in one transaction with the Idempotency-Key's
  answer (`409 order_exists` when the number is taken, `422 currency_not_accepted`);
- pay: an `OrderPayment`, a `Payment` run by the one money-out pipeline (same checks, limits,
  step-up, frozen-account condition and idempotency record), whose transaction also moves the order
  `open → paid` (conditional on `open` and not past `expires_at` on the app clock) and writes the
  `order.paid` event;
- close, and expire (the `order_expiry` job): the same conditional `open → …` with its event.

Every way out of `open` requires `status = open`, so of a payment, a close and an expiry racing
for one order exactly one wins; the losers answer `409 order_not_open` (or the job skips it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.services.common.unit_of_work import Work, unit_of_work
from chalicelib.services.wallet import money_out, order_events, webhooks
from chalicelib.services.wallet.catalog import merchant_name
from chalicelib.services.wallet.ledger import Posted, Posting
from chalicelib.services.wallet.merchant_auth import MerchantCaller, get_merchant
from chalicelib.services.wallet.money_out import Payer
from chalicelib.services.wallet.payments import Payment
from chalicelib.store.conditions import condition_failed
from chalicelib.store.orders import (
    OPEN_SHARDS,
    Order,
    OrderNumberClaim,
    get_claim,
    get_order,
    number_claim,
    open_shard_of,
    open_until_ids,
)

OPEN = "open"
DEFAULT_EXPIRES_IN = 1_800  # seconds (contract: 60–86,400, default 1,800)


# --- views -------------------------------------------------------------------------------------


def effective_status(order: Order, now: datetime) -> str:
    """An open order past `expires_at` is expired, whether or not the job has marked it yet."""
    if order.status == OPEN and order.expires_at <= clock.stamp(now):
        return "expired"
    return order.status


def order_view(order: Order, now: datetime) -> dict[str, Any]:
    """`{order}` as the merchant API and its webhooks show it."""
    return {
        "order_id": order.order_id,
        "out_order_no": order.out_order_no,
        "merchant_id": order.merchant_id,
        "status": effective_status(order, now),
        "amount": int(order.amount),
        "currency": order.currency,
        "description": order.description,
        "qr_payload": f"okpay://pay?order={order.order_id}",
        "expires_at": _iso(order.expires_at),
        "paid_at": _iso(order.paid_at),
        "transaction_id": order.transaction_id,
        "refunded_amount": int(order.refunded_amount or 0),
        "created_at": _iso(order.created_at),
        "object_version": int(order.version),
    }


def user_order_view(order_id: str, locale: str, now: datetime) -> dict[str, Any]:
    """`GET /orders/{id}`: what a user about to pay sees."""
    order = get_order(order_id)
    if order is None:
        raise OkpayError("not_found")
    merchant = get_merchant(order.merchant_id)
    return {
        "order_id": order.order_id,
        "merchant": {
            "merchant_id": order.merchant_id,
            "name": merchant_name(merchant, locale) if merchant else order.merchant_id,
        },
        "amount": int(order.amount),
        "currency": order.currency,
        "description": order.description,
        "status": effective_status(order, now),
        "expires_at": _iso(order.expires_at),
    }


# --- the merchant's side ------------------------------------------------------------------------


def create_order(
    caller: MerchantCaller,
    *,
    out_order_no: str,
    amount: int,
    currency: str,
    description: str,
    expires_in: int | None,
    now: datetime,
) -> dict[str, Any]:
    """`201 {order}`, stored under the request's Idempotency-Key in the order's own transaction."""
    _refuse_taken_number(caller.merchant_id, out_order_no)
    if currency not in (caller.merchant.currencies or []):
        raise OkpayError("currency_not_accepted")
    order_id = f"ord_{uuid.uuid4().hex}"
    expires_at = clock.stamp(now + timedelta(seconds=expires_in or DEFAULT_EXPIRES_IN))
    order = Order(
        order_id,
        merchant_id=caller.merchant_id,
        out_order_no=out_order_no,
        status=OPEN,
        amount=amount,
        currency=currency,
        description=description,
        created_at=clock.stamp(now),
        expires_at=expires_at,
        version=1,
        refunded_amount=0,
        open_shard=open_shard_of(order_id),
        open_until=expires_at,
    )
    view = order_view(order, now)
    try:
        with unit_of_work(now) as work:
            work.save(order, condition=Order.order_id.does_not_exist())
            claim = OrderNumberClaim(
                number_claim(caller.merchant_id, out_order_no), owner=order_id, created_at=order.created_at
            )
            work.save(claim, condition=OrderNumberClaim.order_id.does_not_exist())
            work.answer(201, view)
    except TransactWriteError as error:
        if condition_failed(error):
            _refuse_taken_number(caller.merchant_id, out_order_no)  # a concurrent request took it
        raise
    return view


def merchant_order(caller: MerchantCaller, order_id: str, now: datetime) -> dict[str, Any]:
    return order_view(_own_order(caller, order_id), now)


def merchant_order_by_number(caller: MerchantCaller, out_order_no: str, now: datetime) -> dict[str, Any]:
    claim = get_claim(caller.merchant_id, out_order_no)
    if claim is None:
        raise OkpayError("not_found")
    return merchant_order(caller, claim.owner, now)


def close_order(caller: MerchantCaller, order_id: str, now: datetime) -> dict[str, Any]:
    """`open → closed` with its `order.closed` event; `409 order_not_open` otherwise."""
    order = _own_order(caller, order_id)
    with order_events.collecting() as new_events:
        closed = _leave_open(order, "closed", order_events.ORDER_CLOSED, now, still_payable=True)
    if closed:
        webhooks.deliver_after_commit(new_events, now)
        return order_view(order, now)
    latest = get_order(order_id) or order
    raise _not_open(latest, now)


# --- the user's side ----------------------------------------------------------------------------


@dataclass
class OrderPayment(Payment):
    """Paying an order: a `Payment` to the order's merchant for the order's amount, whose own checks
    are 404 order (or its merchant) → 409 order_not_open → 422 currency_not_accepted."""

    order_id: str = ""
    order: Order | None = None  # as read before the pipeline's read (it sets amount and currency)

    @property
    def _order_key(self) -> money_out.ReadKey:
        return (Order, (self.order_id,))

    def reads(self) -> list[money_out.ReadKey]:
        return [self._merchant_key, self._order_key] if self.order is not None else []

    def checks(self, payer: Payer) -> list[money_out.Check]:
        return [
            lambda: self._current_order(payer),
            lambda: self._merchant(payer),
            lambda: self._still_open(payer),
            lambda: self._accepts(payer),
        ]

    def posting(self, payer: Payer) -> Posting:
        posting = super().posting(payer)
        posting.details["order_id"] = self.order_id
        return posting

    def write(self, work: Work, payer: Payer, posted: Posted) -> None:
        order = self._current_order(payer)
        paid_at = clock.stamp(posted.posted_at)
        work.update(
            order,
            actions=[
                Order.status.set("paid"),
                Order.paid_at.set(paid_at),
                Order.payer_id.set(self.payer_id),
                Order.transaction_id.set(posted.transaction_id),
                Order.version.add(1),
                Order.open_shard.remove(),
                Order.open_until.remove(),
            ],
            condition=_payable(payer.now),
            label="order",
        )
        # The event shows the order as this transaction leaves it (it was open, so nothing else moved it).
        after = Order.from_raw_data(order.serialize())
        after.status, after.paid_at, after.payer_id = "paid", paid_at, self.payer_id
        after.transaction_id, after.version = posted.transaction_id, int(order.version) + 1
        _record(work, after, order_events.ORDER_PAID, payer.now)

    def _current_order(self, payer: Payer) -> Order:
        order = payer.extras.get(self._order_key) if self.order is not None else None
        if order is None:
            raise OkpayError("not_found")
        return order

    def _still_open(self, payer: Payer) -> None:
        order = self._current_order(payer)
        if effective_status(order, payer.now) != OPEN:
            raise _not_open(order, payer.now)


def pay_order(payment: OrderPayment, now: datetime) -> dict[str, Any]:
    """Debit the payer, credit the order's merchant, mark the order paid: one transaction; then the
    first attempt to deliver its `order.paid` event."""
    with order_events.collecting() as new_events:
        body = money_out.run(payment, now).body
    webhooks.deliver_after_commit(new_events, now)
    return body


def order_payment(order_id: str, **payer: Any) -> OrderPayment:
    """The payment of `order_id` by `payer` (the fields every money-out route takes, less amount
    and currency, which are the order's). An unknown order still runs the checks before its 404."""
    order = get_order(order_id)
    if order is None:
        return OrderPayment(**payer, currency="CNY", amount=0, order_id=order_id)
    return OrderPayment(
        **payer,
        currency=order.currency,
        amount=int(order.amount),
        merchant_id=order.merchant_id,
        order_reference=order.out_order_no,
        description=order.description,
        order_id=order_id,
        order=order,
    )


# --- the order_expiry job -------------------------------------------------------------------------


def expire_due(now: datetime) -> dict[str, int]:
    """Open orders past `expires_at` → `expired`, each with its `order.expired` event. Reads the
    sparse index shard by shard (no Scan); each change is conditional, so an overlapping run or a
    payment racing the expiry leaves exactly one outcome."""
    expired = skipped = 0
    until = clock.stamp(now)
    for shard in range(OPEN_SHARDS):
        for order_id in open_until_ids(f"{shard:02d}", until):
            order = get_order(order_id)
            due = order is not None and order.status == OPEN and order.expires_at <= until
            with order_events.collecting() as new_events:
                moved = due and _leave_open(order, "expired", order_events.ORDER_EXPIRED, now, still_payable=False)
            if moved:
                webhooks.deliver_after_commit(new_events, now)
                expired += 1
            else:
                skipped += 1
    return {"expired": expired, "skipped": skipped}


# --- shared -------------------------------------------------------------------------------------


def _leave_open(order: Order, status: str, event_type: str, now: datetime, *, still_payable: bool) -> bool:
    """Move `order` from open to `status` with its event; False when it is no longer open (or, for a
    close, already past `expires_at`). `order` is updated in place when it moves."""
    stamp = clock.stamp(now)
    condition = _payable(now) if still_payable else (Order.status == OPEN) & (Order.expires_at <= stamp)
    after = Order.from_raw_data(order.serialize())
    after.status, after.ended_at, after.version = status, stamp, int(order.version) + 1
    after.open_shard = after.open_until = None
    try:
        with unit_of_work(now) as work:
            work.update(
                order,
                actions=[
                    Order.status.set(status),
                    Order.ended_at.set(stamp),
                    Order.version.add(1),
                    Order.open_shard.remove(),
                    Order.open_until.remove(),
                ],
                condition=condition,
                label="order",
            )
            _record(work, after, event_type, now)
    except TransactWriteError as error:
        if condition_failed(error):
            return False
        raise
    order.status, order.ended_at, order.version = after.status, after.ended_at, after.version
    order.open_shard = order.open_until = None
    return True


def _record(work: Work, order: Order, event_type: str, now: datetime) -> None:
    order_events.record(
        work, order.merchant_id, event_type, order.order_id, int(order.version), {"order": order_view(order, now)}, now
    )


def _payable(now: datetime) -> Any:
    return (Order.status == OPEN) & (Order.expires_at > clock.stamp(now))


def _own_order(caller: MerchantCaller, order_id: str) -> Order:
    order = get_order(order_id)
    if order is None or order.merchant_id != caller.merchant_id:
        raise OkpayError("not_found")  # another merchant's order is no order for this caller
    return order


def _refuse_taken_number(merchant_id: str, out_order_no: str) -> None:
    claim = get_claim(merchant_id, out_order_no)
    if claim is not None:
        raise OkpayError("order_exists", details={"order_id": claim.owner})


def _not_open(order: Order, now: datetime) -> OkpayError:
    status = effective_status(order, now)
    if status == OPEN:  # refused although still open: a concurrent change is under way
        return OkpayError("try_again", retry_after=1)
    return OkpayError("order_not_open", details={"status": status})


def _iso(stamp: str | None) -> str | None:
    return clock.isoformat(clock.from_stamp(stamp)) if stamp else None
