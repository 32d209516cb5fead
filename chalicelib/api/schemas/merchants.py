"""Request and response models of the merchant routes (contract v1.2, section 14): agents'
administration (chalicelib/api/merchants/admin.py), the merchant API (chalicelib/api/merchants/checkout.py)
and the user's side of an order (chalicelib/api/wallet/orders.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.api.schemas.common import (
    Amount,
    Currency,
    Page,
    PageQuery,
    Query,
    RequestBody,
    ResponseBody,
    Timestamp,
    examples,
)
from chalicelib.api.schemas.payments import StepUp
from chalicelib.api.schemas.wallet import PAYMENT_EXAMPLE, Transaction  # noqa: F401 (the pay route's reply)

MERCHANT_ID = "mch_4f1c9a7e2b6d4e8a9c3b5d7f1e2a4c6b"
ORDER_ID = "ord_2b4d6f8a0c1e3a5b7d9f1b3d5f7a9c1e"
TRANSACTION_ID = "txn_5c9e1a3f7b2d4c6e8a0f2b4d6c8e1a3f"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
WebhookUrl = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
# The merchant's own order number: printable, no control characters.
OutNo = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]

_WEBHOOK_URL = (
    "Where the webhooks go: `https` only, and the host must resolve only to public addresses (no private, "
    "loopback, link-local, multicast, reserved or unspecified IPv4 or IPv6 address); the local stage also "
    "allows `http://127.0.0.1:<port>`. Otherwise `400 validation_error` with `field: webhook_url`."
)


class MerchantCreateRequest(RequestBody):
    model_config = examples(
        {
            "name": "晨光咖啡 网上商城",
            "category": "food_drink",
            "currencies": ["CNY", "HKD"],
            "webhook_url": "https://shop.example.com/okpay/webhooks",
        }
    )

    name: Name
    category: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")] = Field(
        description="snake_case, e.g. `food_drink`, `retail`, `travel`."
    )
    currencies: list[Currency] = Field(min_length=1, max_length=5, description="What its orders may be priced in.")
    webhook_url: WebhookUrl | None = Field(default=None, description=_WEBHOOK_URL)


class MerchantUpdateRequest(RequestBody):
    model_config = examples({"status": "suspended"}, {"webhook_url": "https://shop.example.com/okpay/hooks/v2"})

    name: Name | None = None
    webhook_url: WebhookUrl | None = Field(default=None, description=_WEBHOOK_URL)
    status: Literal["active", "suspended"] | None = Field(
        default=None,
        description="`suspended`: its keys answer `403 forbidden` and users can no longer pay it; `active` undoes it.",
    )


class Merchant(ResponseBody):
    model_config = examples(
        {
            "merchant_id": MERCHANT_ID,
            "name": "晨光咖啡 网上商城",
            "category": "food_drink",
            "currencies": ["CNY", "HKD"],
            "status": "active",
            "webhook_url": "https://shop.example.com/okpay/webhooks",
            "created_at": "2026-11-24T09:00:00+08:00",
        }
    )

    merchant_id: str = Field(description="The id users pay (`POST /payments`, `GET /merchants`).")
    name: str
    category: str
    currencies: list[Currency]
    status: Literal["active", "suspended"]
    webhook_url: str | None
    created_at: Timestamp | None = Field(description="Null for the merchants seeded before the merchant API.")


class IssuedKey(ResponseBody):
    model_config = examples(
        {
            "key_id": "key_0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "secret_key": "sk_live_Vw3yq0bM1cF9p2X7kLr8TzNnHs4UeGdA6jQiOa5RxYc",
            "webhook_secret": "whsec_Zt5nG2uQp7cW9yHb3rKd8LsX1fMvJe4TaN6oBiCg0Rk",
        }
    )

    key_id: str = Field(description="Names the key in `DELETE /admin/merchants/{id}/keys/{key_id}`.")
    secret_key: str = Field(
        description="`Authorization: Bearer <secret_key>` on `/merchant/*`. Shown this once: only a keyed hash is kept."
    )
    webhook_secret: str = Field(description="Signs this key's `v1=` in `Okpay-Signature`. Shown this once.")


class OrderCreateRequest(RequestBody):
    model_config = examples(
        {
            "out_order_no": "MLC-20261124-0042",
            "amount": 2800,
            "currency": "CNY",
            "description": "拿铁 大杯",
            "expires_in": 900,
        }
    )

    out_order_no: OutNo = Field(description="The merchant's own number, unique per merchant (else 409 order_exists).")
    amount: Amount
    currency: Currency = Field(description="One of the merchant's currencies (else 422 currency_not_accepted).")
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] = Field(
        description="What the user sees when paying, and on their statement."
    )
    expires_in: Annotated[int, Field(ge=60, le=86_400)] | None = Field(
        default=None, description="Seconds the order stays payable: 60–86,400, default 1,800."
    )


class OrderNumberQuery(Query):
    out_order_no: OutNo = Field(description="The merchant's own order number.")


OrderStatus = Literal["open", "paid", "closed", "expired", "partially_refunded", "refunded"]

ORDER_EXAMPLE = {
    "order_id": ORDER_ID,
    "out_order_no": "MLC-20261124-0042",
    "merchant_id": MERCHANT_ID,
    "status": "open",
    "amount": 2800,
    "currency": "CNY",
    "description": "拿铁 大杯",
    "qr_payload": f"okpay://pay?order={ORDER_ID}",
    "expires_at": "2026-11-24T09:45:00+08:00",
    "paid_at": None,
    "transaction_id": None,
    "refunded_amount": 0,
    "created_at": "2026-11-24T09:30:00+08:00",
    "object_version": 1,
}
CLOSED_ORDER_EXAMPLE = {**ORDER_EXAMPLE, "status": "closed", "object_version": 2}


class Order(ResponseBody):
    model_config = examples(ORDER_EXAMPLE)

    order_id: str
    out_order_no: str
    merchant_id: str
    status: OrderStatus = Field(
        description="`open` until paid, closed by the merchant or past `expires_at` (then `expired`)."
    )
    amount: int
    currency: Currency
    description: str
    qr_payload: str = Field(description="`okpay://pay?order=<order_id>`: what the shop shows as a QR code or link.")
    expires_at: Timestamp
    paid_at: Timestamp | None
    transaction_id: str | None = Field(description="The payment's transaction, once paid.")
    refunded_amount: int = Field(description="Minor units refunded so far.")
    created_at: Timestamp
    object_version: int = Field(
        description="Grows with every change of the order; a webhook event carries the version it shows."
    )


class OrderMerchant(ResponseBody):
    merchant_id: str
    name: str = Field(description="In the caller's language where the merchant has one.")


class UserOrder(ResponseBody):
    model_config = examples(
        {
            "order_id": ORDER_ID,
            "merchant": {"merchant_id": MERCHANT_ID, "name": "晨光咖啡 网上商城"},
            "amount": 2800,
            "currency": "CNY",
            "description": "拿铁 大杯",
            "status": "open",
            "expires_at": "2026-11-24T09:45:00+08:00",
        }
    )

    order_id: str
    merchant: OrderMerchant
    amount: int
    currency: Currency
    description: str
    status: OrderStatus
    expires_at: Timestamp


class OrderPayRequest(RequestBody):
    model_config = examples({}, {"authorization": {"password": "correct horse battery staple"}})

    authorization: StepUp = None


ORDER_PAYMENT_EXAMPLE = {
    **PAYMENT_EXAMPLE,
    "transaction_id": TRANSACTION_ID,
    "counterparty": {"kind": "merchant", "id": MERCHANT_ID, "name": "晨光咖啡 网上商城"},
    "description": "拿铁 大杯",
}


class RefundCreateRequest(RequestBody):
    model_config = examples({"amount": 1_000, "out_refund_no": "MLC-R-20261124-0042-1", "reason": "少了一杯"})

    amount: Amount = Field(description="At most what was paid minus what was refunded (dispute refunds included).")
    out_refund_no: OutNo = Field(
        description="The merchant's own refund number, unique per merchant: the same number and amount again "
        "answers `200` with the same refund; another amount is `409 refund_exists`."
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)] | None = None


REFUND_EXAMPLE = {
    "refund_id": "rfd_7a1c3e5b9d2f4a6c8e0b1d3f5a7c9e2b",
    "order_id": ORDER_ID,
    "out_refund_no": "MLC-R-20261124-0042-1",
    "amount": 1_000,
    "currency": "CNY",
    "status": "succeeded",
    "transaction_id": "txn_9d1f3b5c7e2a4c6e8b0d2f4a6c8e0b1d",
    "created_at": "2026-11-24T10:05:00+08:00",
}


class RefundBody(ResponseBody):
    model_config = examples(REFUND_EXAMPLE)

    refund_id: str = Field(description="`rfd_…`; for a dispute refund (in events only), the dispute's id.")
    order_id: str
    out_refund_no: str | None = Field(description="Null only for a dispute refund reported by an event.")
    amount: int
    currency: Currency
    status: Literal["succeeded"]
    transaction_id: str = Field(description="The `refund` transaction that debited the merchant.")
    created_at: Timestamp


class RefundReply(ResponseBody):
    model_config = examples({"refund": REFUND_EXAMPLE})

    refund: RefundBody


class EventsQuery(PageQuery):
    delivery: Literal["pending", "failed", "delivered"] | None = Field(
        default=None, description="Only the events in this delivery state."
    )


EVENT_EXAMPLE = {
    "event_id": "evt_20261124020500123456a1b2c3d4e5f60718",
    "type": "order.paid",
    "created_at": "2026-11-24T10:05:00+08:00",
    "object_version": 2,
    "data": {"order": {**ORDER_EXAMPLE, "status": "paid", "object_version": 2}},
    "delivery": "delivered",
    "attempts": 1,
    "next_attempt_at": None,
}


class OrderEventData(ResponseBody):
    """`order.paid`, `order.closed`, `order.expired`."""

    order: Order = Field(description="The order as the change left it.")


class RefundEventData(ResponseBody):
    """`refund.succeeded`."""

    refund: RefundBody
    order: Order = Field(description="The order as the refund left it.")


class _EventFields(ResponseBody):
    event_id: str
    created_at: Timestamp
    object_version: int = Field(description="The order's version this event shows (refunds too): drop older ones.")
    delivery: Literal["pending", "delivered", "failed"]
    attempts: int = Field(description="Delivery attempts made so far.")
    next_attempt_at: Timestamp | None = Field(description="When the next attempt is due while pending.")


class OrderEvent(_EventFields):
    """An order left `open` (or was paid): `data.order` as the change left it."""

    model_config = examples(EVENT_EXAMPLE)

    type: Literal["order.paid", "order.closed", "order.expired"]
    data: OrderEventData


class RefundEvent(_EventFields):
    """A refund succeeded (the merchant's, or a dispute's): `data.refund` and the order after it."""

    model_config = examples(
        {
            **EVENT_EXAMPLE,
            "type": "refund.succeeded",
            "object_version": 3,
            "data": {
                "refund": REFUND_EXAMPLE,
                "order": {
                    **ORDER_EXAMPLE,
                    "status": "partially_refunded",
                    "refunded_amount": 1_000,
                    "object_version": 3,
                },
            },
        }
    )

    type: Literal["refund.succeeded"]
    data: RefundEventData


MerchantEventBody = Annotated[OrderEvent | RefundEvent, Field(discriminator="type")]


class EventPage(Page):
    model_config = examples({"data": [EVENT_EXAMPLE], "next_cursor": None})

    data: list[MerchantEventBody] = Field(description="Events as POSTed, with their delivery state; by `type`.")


class Redelivery(ResponseBody):
    model_config = examples({"event_id": EVENT_EXAMPLE["event_id"], "delivery": "delivered", "attempts": 2})

    event_id: str
    delivery: Literal["pending", "delivered", "failed"] = Field(description="After this attempt.")
    attempts: int
