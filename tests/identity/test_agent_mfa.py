"""/admin needs an agent session that passed TOTP at sign-in (contract v1.2, section 9): an agent
without TOTP enrolled, or whose sign-in passed another factor (or none), is `403 mfa_required` there,
while their own /me routes (TOTP enrolment included) stay open; a recovery code counts as TOTP."""

from __future__ import annotations

import itertools

from chalicelib.services.identity import agents, totp
from chalicelib.store.users import User
from localstage.seed import AGENT2_EMAIL, AGENT2_PASSWORD, AGENT2_TOTP_SECRET, AGENT_EMAIL, AGENT_PASSWORD
from tests.helpers.codes import last_code
from tests.helpers.http import assert_error, auth, body_of, post_json
from tests.helpers.mfa import next_totp, sign_in_with_totp
from tests.helpers.parallel import run_together
from tests.helpers.users import AGENT_TOTP_SECRET, PASSWORD, make_user, signed_in

ADMIN = "/admin/disputes"
_agents = itertools.count(1)


def new_agent(totp_secret: str | None = AGENT_TOTP_SECRET, **changes) -> User:
    """An agent who can sign in over HTTP by email (its claim exists), TOTP enrolled unless None."""
    agent_id, _ = agents.create_agent(f"agent{next(_agents)}@okpay.local", PASSWORD, totp_secret=totp_secret)
    agent = User.get(agent_id)
    if changes:
        agent.update(actions=[getattr(User, name).set(value) for name, value in changes.items()])
    return User.get(agent_id)


def password_only(client, login: str, password: str = PASSWORD) -> dict:
    response = post_json(client, "/auth/login", {"login": login, "password": password, "device_id": "console"})
    assert response.status_code == 200, response.body
    return body_of(response)


def challenge(client, login: str, password: str = PASSWORD) -> dict:
    body = password_only(client, login, password)
    assert body["mfa_required"] is True, body
    return body


def verified(client, mfa_token: str, method: str, code: str) -> dict:
    response = post_json(client, "/auth/mfa/verify", {"mfa_token": mfa_token, "method": method, "code": code})
    assert response.status_code == 200, response.body
    return body_of(response)


def test_the_seeded_agents_sign_in_with_totp_and_reach_admin(client, seeded):
    # the secrets the contract names (section 10)
    for email, password, secret in (
        (AGENT_EMAIL, AGENT_PASSWORD, "OKPAYLOCALAGENTTOTPSECRETKEY2345"),
        (AGENT2_EMAIL, AGENT2_PASSWORD, AGENT2_TOTP_SECRET),
    ):
        tokens = sign_in_with_totp(client, email, password, secret)
        assert client.get(ADMIN, headers=auth(tokens["access_token"])).status_code == 200


def test_an_agent_without_totp_is_403_mfa_required_on_admin_only(client, stage):
    agent = new_agent(totp_secret=None)
    tokens = password_only(client, agent.email)  # no second factor: tokens at once
    headers = auth(tokens["access_token"])
    error = assert_error(client.get(ADMIN, headers=headers), 403, "mfa_required")
    assert error["details"] == {"methods": ["totp", "recovery_code"]}
    assert_error(client.get("/admin/kyc", headers=headers), 403, "mfa_required")
    assert client.get("/me", headers=headers).status_code == 200
    # enrolment uses the ordinary routes, which stay open to them
    assert post_json(client, "/me/mfa/totp", {"password": PASSWORD}, headers).status_code == 200


def test_a_session_from_before_enrolling_stays_out_until_a_sign_in_with_totp(client, stage):
    agent = new_agent(totp_secret=None)
    before = auth(password_only(client, agent.email)["access_token"])  # a password-only session
    agent.update(actions=[User.totp_secret.set(totp.seal_secret(agent.user_id, AGENT_TOTP_SECRET))])
    assert_error(client.get(ADMIN, headers=before), 403, "mfa_required")
    tokens = sign_in_with_totp(client, agent.email, PASSWORD, AGENT_TOTP_SECRET)
    assert client.get(ADMIN, headers=auth(tokens["access_token"])).status_code == 200


def test_an_sms_second_factor_is_not_enough_for_admin(client, stage, distinct_codes):
    agent = new_agent(mfa_sms=True, phone="+8613912345678", phone_verified=True)
    pending = challenge(client, agent.email)
    assert "sms" in pending["mfa_methods"]
    sent = post_json(client, "/auth/mfa/send", {"mfa_token": pending["mfa_token"], "method": "sms"})
    assert sent.status_code == 202
    tokens = verified(client, pending["mfa_token"], "sms", last_code(agent.phone))
    headers = auth(tokens["access_token"])
    assert_error(client.get(ADMIN, headers=headers), 403, "mfa_required")
    assert client.get("/me", headers=headers).status_code == 200


def test_a_recovery_code_counts_as_totp(client, stage):
    codes, hashes = totp.new_recovery_codes()
    agent = new_agent(recovery_code_hashes=hashes)
    pending = challenge(client, agent.email)
    tokens = verified(client, pending["mfa_token"], "recovery_code", codes[0])
    assert client.get(ADMIN, headers=auth(tokens["access_token"])).status_code == 200


def test_the_role_is_checked_first_a_user_is_forbidden_not_asked_for_totp(client, stage):
    user = make_user()
    assert_error(client.get(ADMIN, headers=signed_in(user)), 403, "forbidden")
    assert_error(client.get(ADMIN), 401, "unauthorized")


def test_the_document_lists_mfa_required_as_a_403_of_every_admin_operation(client):
    document = body_of(client.get("/openapi.json"))
    for path, item in document["paths"].items():
        for method, entry in item.items():
            if path.startswith("/admin"):
                schema = entry["responses"]["403"]["content"]["application/json"]["schema"]
                mapping = schema["properties"]["error"]["discriminator"]["mapping"]
                assert {"forbidden", "mfa_required"} <= set(mapping), (method, path)
    reset = document["paths"]["/auth/password/reset"]["post"]["responses"]["422"]["content"]["application/json"]
    assert "mfa_required" in reset["schema"]["properties"]["error"]["discriminator"]["mapping"]


def test_turning_totp_off_ends_admin_for_every_session_at_once(client, stage):
    """The gate reads the account with the session on every request: once TOTP is off, no session
    reaches /admin, not even one that passed it, and a burst of requests all see it."""
    agent = new_agent()
    tokens = sign_in_with_totp(client, agent.email, PASSWORD, AGENT_TOTP_SECRET)
    headers = auth(tokens["access_token"])
    assert client.get(ADMIN, headers=headers).status_code == 200
    body = {"password": PASSWORD, "code": next_totp(AGENT_TOTP_SECRET)}
    assert post_json(client, "/me/mfa/totp/disable", body, headers).status_code == 204

    results = run_together(*[lambda: client.get(ADMIN, headers=headers) for _ in range(8)])
    for response in results:
        assert_error(response, 403, "mfa_required")
    assert client.get("/me", headers=headers).status_code == 200  # still signed in, only /admin is closed
