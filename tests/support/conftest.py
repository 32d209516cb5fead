"""Support test helpers: customers with a paid transaction to dispute, and the seeded agent."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.adapters import clock
from chalicelib.services import sessions
from chalicelib.store.kyc import KycRecord
from chalicelib.store.users import User, email_claim, find_claim_owner
from localstage.seed import AGENT_EMAIL
from tests.api.helpers import body_of, post_json
from tests.wallet.conftest import PASSWORD, add_card, make_user, top_up

CAFE = "mer_morning_cafe"  # seeded merchant, CNY
TRAVEL = "mer_global_travel"  # seeded merchant, CNY USD EUR JPY HKD


def customer(client, *, amount: int = 100_000, currency: str = "CNY", locale: str = "en", email_verified=True):
    """A signed-in, KYC level 2 user with `amount` in their wallet."""
    user, headers = make_user(locale)
    if not email_verified:
        user.email_verified = False
        user.save()
    KycRecord(user.user_id, "current", status="approved", level=2, approved_real_name="张三").save()
    card = add_card(client, headers)
    assert top_up(client, headers, card, amount, currency).status_code == 201
    return user, headers


def pay(client, headers, amount: int = 5_000, currency: str = "CNY", merchant: str = CAFE) -> str:
    """A completed payment by the caller; its transaction id."""
    payload = {"merchant_id": merchant, "amount": amount, "currency": currency, "order_reference": uuid.uuid4().hex}
    response = post_json(client, "/payments", payload, {**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.body
    return body_of(response)["transaction_id"]


def sign_in(user: User) -> dict[str, str]:
    token = sessions.start_session(user, device_id="console", device_name=None, now=clock.now()).access_token
    return {"Authorization": f"Bearer {token}"}


def agent_as_customer(client, email: str = "agent.customer@okpay.local") -> tuple[User, dict[str, str]]:
    """A second agent who also uses Okpay as a customer, signed in over HTTP with their password."""
    from chalicelib.services.agents import create_agent

    agent_id, _ = create_agent(email, PASSWORD, display_name="客服 小李")
    response = post_json(client, "/auth/login", {"login": email, "password": PASSWORD, "device_id": "console"})
    assert response.status_code == 200, response.body
    return User.get(agent_id), {"Authorization": f"Bearer {body_of(response)['access_token']}"}


def submit_kyc(client, headers, number: str = "11010519491231002X") -> None:
    payload = {"real_name": "张三", "id_type": "cn_resident_id", "id_number": number}
    response = post_json(client, "/me/kyc", payload, headers)
    assert response.status_code == 202, response.body


@pytest.fixture
def agent(seeded):
    """The seeded support agent and its headers."""
    user = User.get(find_claim_owner(email_claim(AGENT_EMAIL)))
    return user, sign_in(user)
