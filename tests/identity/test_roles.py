"""Roles: agent-only operations answer 403 forbidden to users, 401 to strangers; a change of role
revokes every session of the person (contract section 1, Agents)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chalicelib.adapters import clock
from chalicelib.api.authentication import authenticate
from chalicelib.api.request_context import RequestScope
from chalicelib.api.routing import Operation
from chalicelib.errors import OkpayError
from chalicelib.services.identity import agents, sessions
from chalicelib.store.users import User, email_claim, find_claim_owner
from localstage.seed import AGENT_EMAIL, AGENT_PASSWORD, AGENT_TOTP_SECRET
from tests.helpers.auth import register_user
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.mfa import sign_in_with_totp

AGENT_ONLY = Operation(method="GET", path="/admin/example", summary="x", tag="admin", auth="agent")


def call_with(token):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return SimpleNamespace(headers=headers, scope=RequestScope("req", None), user=None)


def token_for(user, second_factor="totp"):
    return sessions.start_session(
        user, device_id="d", device_name=None, now=clock.now(), second_factor=second_factor
    ).access_token


def test_agents_pass_and_users_are_forbidden(seeded):
    agent = User.get(find_claim_owner(email_claim(AGENT_EMAIL)))
    call = call_with(token_for(agent))
    authenticate(AGENT_ONLY, call)
    assert call.user.role == "agent"

    user = User("usr_plain", created_at=clock.stamp(clock.now()), role="user", locale="zh-CN")
    user.save()
    call = call_with(token_for(user))
    with pytest.raises(OkpayError) as caught:
        authenticate(AGENT_ONLY, call)
    assert caught.value.code == "forbidden"
    assert call.scope.locale == "zh-CN"  # the stored locale reaches messages


@pytest.mark.parametrize("token", [None, "not-a-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_strangers_are_unauthorized(stage, token):
    with pytest.raises(OkpayError) as caught:
        authenticate(AGENT_ONLY, call_with(token))
    assert caught.value.code == "unauthorized"


# --- a change of role revokes the user's sessions (contract section 1, Agents) -------------------


def _signed_in(client, login_id: str, password: str, device_id: str = "d1") -> dict:
    if login_id == AGENT_EMAIL:  # the seeded agent has TOTP: the console signs in with it
        return sign_in_with_totp(client, login_id, password, AGENT_TOTP_SECRET, device_id=device_id)
    response = post_json(client, "/auth/login", {"login": login_id, "password": password, "device_id": device_id})
    assert response.status_code == 200, response.body
    return body_of(response)


def _me(client, tokens: dict):
    return client.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})


def _assert_signed_out(client, tokens: dict) -> None:
    assert_error(_me(client, tokens), 401, "unauthorized")
    response = post_json(client, "/auth/token/refresh", {"refresh_token": tokens["refresh_token"]})
    assert_error(response, 401, "invalid_refresh_token")


@pytest.fixture
def lagging_index(monkeypatch):
    """GSI by_user lists nobody's sessions yet: revocation must not depend on it."""
    from chalicelib.store.sessions import Session

    monkeypatch.setattr(Session.by_user, "query", lambda *args, **kwargs: iter(()))


@pytest.mark.parametrize("index_lags", [False, True], ids=["index-current", "index-lagging"])
def test_promoting_a_user_revokes_their_sessions(client, request, index_lags):
    account = register_user(client)
    tablet = _signed_in(client, account["email"], account["password"], device_id="tablet")
    if index_lags:
        request.getfixturevalue("lagging_index")
    assert agents.set_role(account["user_id"], "agent") is True

    for tokens in (account, tablet):
        _assert_signed_out(client, tokens)
    again = _signed_in(client, account["email"], account["password"])
    assert body_of(_me(client, again))["role"] == "agent"


@pytest.mark.parametrize("index_lags", [False, True], ids=["index-current", "index-lagging"])
def test_demoting_an_agent_revokes_their_sessions(client, seeded, request, index_lags):
    console = _signed_in(client, AGENT_EMAIL, AGENT_PASSWORD, device_id="console")
    admin = {"Authorization": f"Bearer {console['access_token']}"}
    assert client.get("/admin/disputes", headers=admin).status_code == 200
    if index_lags:
        request.getfixturevalue("lagging_index")
    assert agents.set_role(seeded["agent_id"], "user") is True

    # the old token is not a user's token now: it is no token at all
    assert_error(client.get("/admin/disputes", headers=admin), 401, "unauthorized")
    _assert_signed_out(client, console)
    again = _signed_in(client, AGENT_EMAIL, AGENT_PASSWORD)
    assert body_of(_me(client, again))["role"] == "user"
    headers = {"Authorization": f"Bearer {again['access_token']}"}
    assert_error(client.get("/admin/disputes", headers=headers), 403, "forbidden")


def test_the_role_and_the_revocation_are_one_write(seeded):
    before = User.get(seeded["agent_id"])
    token = token_for(before)
    assert agents.set_role(seeded["agent_id"], "user") is True
    after = User.get(seeded["agent_id"])
    assert after.role == "user"
    assert int(after.session_generation or 0) == int(before.session_generation or 0) + 1
    with pytest.raises(OkpayError) as caught:
        authenticate(AGENT_ONLY, call_with(token))
    assert caught.value.code == "unauthorized"


def test_setting_the_role_someone_has_changes_nothing(client, seeded):
    console = _signed_in(client, AGENT_EMAIL, AGENT_PASSWORD, device_id="console")
    assert agents.set_role(seeded["agent_id"], "agent") is False
    assert _me(client, console).status_code == 200


@pytest.mark.parametrize(
    ("user_id", "role", "code"),
    [
        ("usr_nobody", "agent", "not_found"),
        ("not-a-user-id", "user", "not_found"),
        ("usr_x", "admin", "validation_error"),
    ],
)
def test_a_role_change_needs_a_user_and_a_known_role(stage, user_id, role, code):
    with pytest.raises(OkpayError) as caught:
        agents.set_role(user_id, role)
    assert caught.value.code == code


def test_a_closed_account_is_not_made_an_agent(stage):
    User("usr_closed", created_at=clock.stamp(clock.now()), status="closed").save()
    with pytest.raises(OkpayError) as caught:
        agents.set_role("usr_closed", "agent")
    assert caught.value.code == "not_found"
    assert User.get("usr_closed").role == "user"
