"""Demo data for the local stage: the contract's support agent, merchants and FX rates."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.services.identity.agents import create_agent
from chalicelib.store import catalog

AGENT_EMAIL = "agent@okpay.local"
AGENT_PASSWORD = "Agent-Local-Pass-2026!"  # noqa: S105 (the contract's local-stage agent)

MERCHANTS = [
    # merchant_id, English name, Chinese name, category, currencies
    ("mer_morning_cafe", "Morning Light Cafe", "晨光咖啡", "food_drink", ["CNY"]),
    ("mer_city_power", "City Power (electricity bills)", "城市电力（电费）", "utilities", ["CNY"]),
    ("mer_city_telecom", "City Telecom (mobile top-up)", "城市通信（话费充值）", "telecom", ["CNY", "HKD"]),
    ("mer_harbour_books", "Harbour Books", "香江书店", "retail", ["HKD", "CNY"]),
    ("mer_global_travel", "Global Travel", "环球旅行", "travel", ["CNY", "USD", "EUR", "JPY", "HKD"]),
]

# Units of each currency per 1 CNY.
FX_RATES = {"CNY": "1", "HKD": "1.0850", "USD": "0.1380", "EUR": "0.1290", "JPY": "21.0500"}


def seed() -> dict[str, object]:
    agent_id, created = create_agent(AGENT_EMAIL, AGENT_PASSWORD, display_name="Okpay 客服")
    for merchant_id, name_en, name_zh, category, currencies in MERCHANTS:
        catalog.put_merchant(merchant_id, name_en=name_en, name_zh=name_zh, category=category, currencies=currencies)
    catalog.put_latest_rates(FX_RATES, clock.isoformat(clock.now()))
    return {"agent_id": agent_id, "agent_created": created, "merchants": len(MERCHANTS)}
