"""The merchant API of online checkout (contract v1.2, section 14): a shop's server creates, reads
and closes its orders with `Authorization: Bearer <secret_key>`.

A user's access token here, or a merchant key on any other route, is `401 unauthorized`; a
suspended merchant's key is `403 forbidden` (chalicelib/api/authentication.py).
"""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.wallet import orders, refunds

_FORBIDDEN = "`403 forbidden`: the merchant is suspended."


@operation(
    "POST",
    "/merchant/orders",
    schemas="merchants",
    summary="Create a checkout order",
    description=(
        "Creates an order for a user to pay in the app: `201 {order}`, `open` until `expires_at` (`expires_in` "
        "seconds, default 1,800). Show its `qr_payload` as a QR code or link.\n\n"
        "Checks after the key lookup and validation: `409 order_exists` (`details.order_id`: this merchant "
        "already used `out_order_no`) → `422 currency_not_accepted`.\n\n"
        "**Idempotency:** `Idempotency-Key` is required, scoped to the merchant; the same key and body within 24 h "
        "replays the stored answer (`Idempotent-Replayed: true`) and creates nothing twice; another body is "
        "`422 idempotency_key_reused`. " + _FORBIDDEN
    ),
    tag="merchant",
    auth="merchant",
    body="OrderCreateRequest",
    response="Order",
    status=201,
    idempotency="required",
    key_marker=False,
    errors=("forbidden", "order_exists", "currency_not_accepted"),
)
def create_order(call: Call) -> Reply:
    body = call.body
    view = orders.create_order(
        call.merchant,
        out_order_no=body.out_order_no,
        amount=body.amount,
        currency=body.currency,
        description=body.description,
        expires_in=body.expires_in,
        now=clock.now(),
    )
    return Reply(view, 201)


@operation(
    "GET",
    "/merchant/orders",
    schemas="merchants",
    summary="Find an order by the merchant's number",
    description="`200 {order}` of this merchant with this `out_order_no`, else `404 not_found`. " + _FORBIDDEN,
    tag="merchant",
    auth="merchant",
    query="OrderNumberQuery",
    response="Order",
    errors=("forbidden", "not_found"),
)
def find_order(call: Call) -> dict:
    return orders.merchant_order_by_number(call.merchant, call.query.out_order_no, clock.now())


@operation(
    "GET",
    "/merchant/orders/{order_id}",
    schemas="merchants",
    summary="Read an order",
    description=(
        "`200 {order}`. An open order past `expires_at` reads `expired`. Another merchant's order is "
        "`404 not_found`. " + _FORBIDDEN
    ),
    tag="merchant",
    auth="merchant",
    response="Order",
    errors=("forbidden", "not_found"),
)
def get_order(call: Call) -> dict:
    return orders.merchant_order(call.merchant, call.params["order_id"], clock.now())


@operation(
    "POST",
    "/merchant/orders/{order_id}/close",
    schemas="merchants",
    summary="Close an open order",
    description=(
        "Closes an open order so it can no longer be paid: `200 {order}` `closed`, with an `order.closed` event. "
        "Racing a payment, exactly one wins. Not open (paid, closed, expired) is `409 order_not_open` with "
        "`details.status`. " + _FORBIDDEN
    ),
    tag="merchant",
    auth="merchant",
    response="Order",
    errors=("forbidden", "not_found", "order_not_open"),
    examples={200: "CLOSED_ORDER_EXAMPLE"},
)
def close_order(call: Call) -> dict:
    return orders.close_order(call.merchant, call.params["order_id"], clock.now())


@operation(
    "POST",
    "/merchant/orders/{order_id}/refunds",
    schemas="merchants",
    summary="Refund a paid order, in part or in full",
    description=(
        "Debits the merchant and credits the payer with a `refund` transaction, in one transaction with the "
        "order's `refunded_amount` and status (`partially_refunded`, `refunded`) and a `refund.succeeded` event: "
        "`201 {refund}`.\n\n"
        "Checks after the key lookup and validation: `404 not_found` (another merchant's order) → the same "
        "`out_refund_no` again: with the same amount `200` and the refund already made, with another amount (or "
        "order) `409 refund_exists` (`details.refund_id`) → `409 order_not_open` (`details.status`: never paid) → "
        "`422 amount_exceeds_refundable` (`details.refundable`: what was paid minus what was refunded, dispute "
        "refunds of the payment included). Refunds racing each other or a dispute refund never together pass "
        "what was paid.\n\n"
        "**Idempotency:** `Idempotency-Key` is required, scoped to the merchant; the same key and body within 24 h "
        "replays the stored answer (`Idempotent-Replayed: true`). " + _FORBIDDEN
    ),
    tag="merchant",
    auth="merchant",
    body="RefundCreateRequest",
    response="RefundReply",
    status=201,
    other_statuses=(200,),
    idempotency="required",
    key_marker=False,
    errors=("forbidden", "not_found", "refund_exists", "order_not_open", "amount_exceeds_refundable"),
)
def refund_order(call: Call) -> Reply:
    body = call.body
    status, reply = refunds.refund_order(
        call.merchant,
        call.params["order_id"],
        amount=body.amount,
        out_refund_no=body.out_refund_no,
        reason=body.reason,
        now=clock.now(),
    )
    return Reply(reply, status)
