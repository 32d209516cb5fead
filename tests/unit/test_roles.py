"""Roles: agent-only operations answer 403 forbidden to users, 401 to strangers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chalicelib.adapters import clock
from chalicelib.api.auth import authenticate
from chalicelib.api.request_context import RequestScope
from chalicelib.api.routing import Operation
from chalicelib.errors import OkpayError
from chalicelib.localstage.seed import AGENT_EMAIL
from chalicelib.services import sessions
from chalicelib.store.users import User, email_claim, find_claim_owner

AGENT_ONLY = Operation(method="GET", path="/admin/example", summary="x", tag="admin", auth="agent")


def call_with(token):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return SimpleNamespace(headers=headers, scope=RequestScope("req", None), user=None)


def token_for(user):
    return sessions.start_session(user, device_id="d", device_name=None, now=clock.now()).access_token


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
