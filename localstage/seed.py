"""Demo data for the local stage: the contract's two support agents (TOTP enrolled on the secrets
the contract names, section 10), merchants and FX rates."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.services.identity.agents import create_agent
from chalicelib.services.wallet import merchants
from chalicelib.store import catalog

AGENT_EMAIL = "agent@okpay.local"
AGENT_PASSWORD = "Agent-Local-Pass-2026!"  # noqa: S105 (the contract's local-stage agent)
AGENT_TOTP_SECRET = "OKPAYLOCALAGENTTOTPSECRETKEY2345"  # noqa: S105
# The second agent, for four-eyes approvals and one-winner checks.
AGENT2_EMAIL = "agent2@okpay.local"
AGENT2_PASSWORD = "Agent2-Local-Pass-2026!"  # noqa: S105
AGENT2_TOTP_SECRET = "OKPAYLOCALAGENTTWOTOTPSECRET2345"  # noqa: S105

MERCHANTS = [
    # merchant_id, English name, Chinese name, category, currencies
    ("mer_morning_cafe", "Morning Light Cafe", "晨光咖啡", "food_drink", ["CNY"]),
    ("mer_city_power", "City Power (electricity bills)", "城市电力（电费）", "utilities", ["CNY"]),
    ("mer_city_telecom", "City Telecom (mobile top-up)", "城市通信（话费充值）", "telecom", ["CNY", "HKD"]),
    ("mer_harbour_books", "Harbour Books", "香江书店", "retail", ["HKD", "CNY"]),
    ("mer_global_travel", "Global Travel", "环球旅行", "travel", ["CNY", "USD", "EUR", "JPY", "HKD"]),
    ("mch_demo", "Okpay Demo Shop", "Okpay 演示商店", "retail", ["CNY", "HKD", "USD"]),
]
# The demo merchant's API key (contract, section 10): online checkout against the local stage.
DEMO_MERCHANT = "mch_demo"
DEMO_KEY = merchants.IssuedKey(
    key_id="key_demo",
    secret_key="sk_test_okpay_local_demo",  # noqa: S106 (the contract's local-stage key)
    webhook_secret="whsec_okpay_local_demo",  # noqa: S106
)

# Units of each currency per 1 CNY.
FX_RATES = {"CNY": "1", "HKD": "1.0850", "USD": "0.1380", "EUR": "0.1290", "JPY": "21.0500"}


def seed() -> dict[str, object]:
    agent_id, created = create_agent(
        AGENT_EMAIL, AGENT_PASSWORD, display_name="Okpay 客服", totp_secret=AGENT_TOTP_SECRET
    )
    create_agent(AGENT2_EMAIL, AGENT2_PASSWORD, display_name="Okpay 客服 2", totp_secret=AGENT2_TOTP_SECRET)
    for merchant_id, name_en, name_zh, category, currencies in MERCHANTS:
        catalog.put_merchant(merchant_id, name_en=name_en, name_zh=name_zh, category=category, currencies=currencies)
    catalog.put_latest_rates(FX_RATES, clock.isoformat(clock.now()))
    if merchants.active_key(DEMO_MERCHANT, DEMO_KEY.key_id) is None:
        merchants.install_key(DEMO_MERCHANT, DEMO_KEY, clock.now())
    return {"agent_id": agent_id, "agent_created": created, "merchants": len(MERCHANTS)}
