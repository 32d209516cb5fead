"""GET /health, /support/contact, /merchants, /fx/rates (contract, section 2)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters import clock
from chalicelib.store.catalog import CatalogItem
from localstage.seed import FX_RATES
from tests.helpers.http import assert_error, body_of


def test_health_is_ok_and_carries_a_request_id(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert body_of(response) == {"status": "ok"}
    assert len(response.headers["X-Request-Id"]) >= 16


def test_every_response_has_its_own_request_id(client):
    ids = {client.get("/health").headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3


def test_support_contact_lists_every_channel_in_the_callers_language(client):
    english = body_of(client.get("/support/contact", headers={"Accept-Language": "en-US,en;q=0.9"}))
    chinese = body_of(client.get("/support/contact", headers={"Accept-Language": "zh-TW"}))
    assert set(english) == {"phone", "email", "chat", "help_center"}
    assert english["email"] == {"address": "support@okpay.local", "response_hours": 24}
    assert english["phone"]["number"] == "+86 400 820 6729"
    assert "Beijing time" in english["phone"]["hours"]
    assert "北京时间" in chinese["phone"]["hours"]
    assert english["help_center"]["url"].startswith("https://")


def test_chat_is_available_only_in_service_hours_by_the_clock(client):
    clock.set_test_clock(datetime.fromisoformat("2026-11-24T10:00:00+08:00"))
    assert body_of(client.get("/support/contact"))["chat"]["available"] is True
    clock.set_test_clock(datetime.fromisoformat("2026-11-24T23:30:00+08:00"))
    assert body_of(client.get("/support/contact"))["chat"]["available"] is False


def test_merchants_are_listed_with_their_currencies_and_localized_names(client, seeded):
    english = body_of(client.get("/merchants"))["data"]
    chinese = body_of(client.get("/merchants", headers={"Accept-Language": "zh-CN"}))["data"]
    assert len(english) == seeded["merchants"] == 6  # five shops and billers, and mch_demo
    cafe_en = next(m for m in english if m["merchant_id"] == "mer_morning_cafe")
    cafe_zh = next(m for m in chinese if m["merchant_id"] == "mer_morning_cafe")
    assert cafe_en == {
        "merchant_id": "mer_morning_cafe",
        "name": "Morning Light Cafe",
        "category": "food_drink",
        "currencies": ["CNY"],
    }
    assert cafe_zh["name"] == "晨光咖啡"


def test_inactive_merchants_are_not_listed(client, seeded):
    item = CatalogItem.get("merchant", "mer_city_power")
    item.update(actions=[CatalogItem.active.set(False)])
    ids = [m["merchant_id"] for m in body_of(client.get("/merchants"))["data"]]
    assert "mer_city_power" not in ids and len(ids) == 5


def test_no_merchants_is_an_empty_list(client):
    assert body_of(client.get("/merchants")) == {"data": []}


def test_fx_rates_are_decimal_strings_per_cny(client, seeded):
    body = body_of(client.get("/fx/rates"))
    assert body["base"] == "CNY"
    assert body["rates"] == FX_RATES
    assert all(isinstance(rate, str) for rate in body["rates"].values())
    assert datetime.fromisoformat(body["as_of"]).utcoffset() is not None


def test_fx_rates_not_yet_published_is_a_retryable_503(client):
    response = client.get("/fx/rates")
    assert_error(response, 503, "try_again")
    assert int(response.headers["Retry-After"]) > 0
