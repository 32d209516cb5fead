"""People for the support-desk tests: KYC-approved customers with money, agents who are also customers."""

from __future__ import annotations

from chalicelib.store.kyc import KycRecord
from chalicelib.store.users import User
from tests.helpers.http import auth
from tests.helpers.users import PASSWORD, make_user, signed_in
from tests.helpers.wallet import add_card, top_up


def customer(client, *, amount: int = 100_000, currency: str = "CNY", locale: str = "en", email_verified=True):
    """A signed-in, KYC level 2 user with `amount` in their wallet: (user, headers)."""
    user = make_user(locale=locale, email_verified=email_verified)
    headers = signed_in(user)
    KycRecord(user.user_id, "current", status="approved", level=2, approved_real_name="张三").save()
    card = add_card(client, headers)
    assert top_up(client, headers, card, amount, currency).status_code == 201
    return user, headers


def agent_as_customer(client, email: str = "agent.customer@okpay.local") -> tuple[User, dict[str, str]]:
    """A second agent who also uses Okpay as a customer, signed in over HTTP with their password and TOTP."""
    from chalicelib.services.identity.agents import create_agent
    from tests.helpers.mfa import sign_in_with_totp
    from tests.helpers.users import AGENT_TOTP_SECRET

    agent_id, _ = create_agent(email, PASSWORD, display_name="客服 小李", totp_secret=AGENT_TOTP_SECRET)
    tokens = sign_in_with_totp(client, email, PASSWORD, AGENT_TOTP_SECRET)
    return User.get(agent_id), auth(tokens["access_token"])
