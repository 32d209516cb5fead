"""Merchants in tests: agents creating them and their keys, shops creating orders, users paying them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalicelib.adapters import dns
from chalicelib.store.merchant_events import MerchantEvent
from tests.helpers.http import JSON, body_of, post_json

DEMO_MERCHANT = "mch_demo"
DEMO_KEY = {"Authorization": "Bearer sk_test_okpay_local_demo"}  # seeded (contract, section 10)


def key_headers(secret_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret_key}"}


def create_merchant(client: Any, agent_headers: dict[str, str], **fields: Any) -> Any:
    payload = {"name": "Lotus Tea House", "category": "food_drink", "currencies": ["CNY", "HKD"], **fields}
    return post_json(client, "/admin/merchants", payload, agent_headers)


def patch_merchant(client: Any, agent_headers: dict[str, str], merchant_id: str, **fields: Any) -> Any:
    return client.patch(f"/admin/merchants/{merchant_id}", body=json.dumps(fields), headers={**JSON, **agent_headers})


def issue_key(client: Any, agent_headers: dict[str, str], merchant_id: str) -> dict[str, Any]:
    response = post_json(client, f"/admin/merchants/{merchant_id}/keys", {}, agent_headers)
    assert response.status_code == 201, response.body
    return body_of(response)


def new_shop(client: Any, agent_headers: dict[str, str], **fields: Any) -> tuple[str, dict[str, str]]:
    """A merchant with one key: (merchant_id, its Authorization header)."""
    response = create_merchant(client, agent_headers, **fields)
    assert response.status_code == 201, response.body
    merchant_id = body_of(response)["merchant_id"]
    return merchant_id, key_headers(issue_key(client, agent_headers, merchant_id)["secret_key"])


def create_order(client: Any, shop: dict[str, str], key: str | None = None, **fields: Any) -> Any:
    payload = {
        "out_order_no": uuid.uuid4().hex[:20],
        "amount": 2_800,
        "currency": "CNY",
        "description": "拿铁",
        **fields,
    }
    return post_json(client, "/merchant/orders", payload, {**shop, "Idempotency-Key": key or uuid.uuid4().hex})


def open_order(client: Any, shop: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = create_order(client, shop, **fields)
    assert response.status_code == 201, response.body
    return body_of(response)


def pay_order(client: Any, headers: dict[str, str], order_id: str, key: str | None = None, **body: Any) -> Any:
    return post_json(client, f"/orders/{order_id}/pay", body, {**headers, "Idempotency-Key": key or uuid.uuid4().hex})


def close_order(client: Any, shop: dict[str, str], order_id: str) -> Any:
    return post_json(client, f"/merchant/orders/{order_id}/close", {}, shop)


def get_order(client: Any, shop: dict[str, str], order_id: str) -> Any:
    return client.get(f"/merchant/orders/{order_id}", headers=shop)


def events_of(merchant_id: str) -> list[Any]:
    """The merchant's webhook events as stored (the outbox), oldest first."""
    return list(MerchantEvent.query(merchant_id, consistent_read=True))


class FakeDns:
    """Replaces name resolution (chalicelib.adapters.dns.resolve): host -> addresses; others resolve to none."""

    def __init__(self, monkeypatch: Any) -> None:
        self.names: dict[str, list[str]] = {"shop.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]}
        self.asked: list[str] = []
        monkeypatch.setattr(dns, "resolve", self._resolve)

    def _resolve(self, host: str) -> list[str]:
        self.asked.append(host)
        return list(self.names.get(host, []))
