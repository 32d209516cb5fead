"""Money in tests: test cards, funding sources, top-ups, balances and payments to the seeded merchants."""

from __future__ import annotations

import json
import uuid

from tests.helpers.http import body_of, post_json
from tests.helpers.users import PASSWORD

GOOD_CARD = "6222021234567890128"
DECLINED_CARD = "4000000000000002"
NO_FUNDS_CARD = "4000000000009995"

CAFE = "mer_morning_cafe"  # seeded merchant, CNY
TRAVEL = "mer_global_travel"  # seeded merchant, CNY USD EUR JPY HKD


def add_card(client, headers, number=GOOD_CARD, holder="张三"):
    payload = {"type": "bank_card", "card_number": number, "holder_name": holder, "password": PASSWORD}
    response = post_json(client, "/me/funding-sources", payload, headers)
    assert response.status_code == 201, response.body
    return body_of(response)["funding_source_id"]


def top_up(client, headers, card_id, amount, currency="CNY", key=None):
    payload = {"funding_source_id": card_id, "amount": amount, "currency": currency}
    return post_json(client, "/me/topups", payload, {**headers, "Idempotency-Key": key or uuid.uuid4().hex})


def balances(client, headers) -> dict[str, int]:
    body = json.loads(client.get("/me/wallet", headers=headers).body)
    return {item["currency"]: item["available"] for item in body["balances"]}


def pay(client, headers, amount: int = 5_000, currency: str = "CNY", merchant: str = CAFE) -> str:
    """A completed payment by the caller; its transaction id."""
    payload = {"merchant_id": merchant, "amount": amount, "currency": currency, "order_reference": uuid.uuid4().hex}
    response = post_json(client, "/payments", payload, {**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.body
    return body_of(response)["transaction_id"]
