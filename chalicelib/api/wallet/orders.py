"""A user paying a merchant's checkout order from a link or QR code (contract v1.2, section 14)."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.wallet import orders

_STEP_UP_ERRORS = ("step_up_required", "invalid_password", "invalid_code", "rate_limited")


@operation(
    "GET",
    "/orders/{order_id}",
    schemas="merchants",
    summary="Read an order before paying it",
    description=(
        "What the app shows before paying (the `order` of `okpay://pay?order=<order_id>`): `200` the merchant, "
        "amount, description, status and expiry. An open order past `expires_at` reads `expired`."
    ),
    tag="payments",
    auth="user",
    response="UserOrder",
    errors=("not_found",),
)
def get_order(call: Call) -> dict:
    return orders.user_order_view(call.params["order_id"], call.scope.locale, clock.now())


@operation(
    "POST",
    "/orders/{order_id}/pay",
    schemas="merchants",
    summary="Pay an order",
    description=(
        "Pays the order's amount to its merchant from the wallet: `201 {transaction}` of type `payment`, the "
        "payer's debit; the order becomes `paid` (with `transaction_id`) and the merchant is told by webhook, in "
        "the same transaction. An order is paid once, by anyone: a paid, closed or expired one is "
        "`409 order_not_open` (`details.status`); racing a close, an expiry or another payer, exactly one wins.\n\n"
        "**Check order** after the key lookup and validation: `403 account_frozen` → `403 kyc_required` → "
        "`403 forbidden` (more than 10 wrong step-up codes today) → `404 not_found` (order, or its merchant is "
        "suspended) → `409 order_not_open` → `422 currency_not_accepted` → `422 insufficient_funds` → "
        "`422 limit_exceeded` → step-up: past the day's 1,000 CNY budget the request must carry `authorization: "
        "{password}` or `{totp}`, else `403 step_up_required` (not stored under the key: repeat with the same key "
        "and `authorization`).\n\n"
        "**Idempotency:** `Idempotency-Key` is required; the same key and body within 24 h replays the stored "
        "answer and nothing moves twice. A debit above 5,000 CNY equivalent is notified by email and SMS."
    ),
    tag="payments",
    auth="user",
    body="OrderPayRequest",
    response="Transaction",
    status=201,
    idempotency="required",
    key_marker=False,
    errors=(
        "account_frozen",
        "kyc_required",
        "forbidden",
        "not_found",
        "order_not_open",
        "currency_not_accepted",
        "insufficient_funds",
        "limit_exceeded",
        *_STEP_UP_ERRORS,
        "idempotency_key_reused",
    ),
    examples={201: "ORDER_PAYMENT_EXAMPLE"},
)
def pay_order(call: Call) -> Reply:
    payment = orders.order_payment(
        call.params["order_id"],
        payer_id=call.user.user_id,
        session_id=call.user.session_id,
        locale=call.scope.locale,
        authorization=call.body.authorization,
    )
    return Reply(orders.pay_order(payment, clock.now()), 201)
