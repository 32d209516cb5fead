"""Access tokens, refresh rotation and reuse, logout, and the signed-in devices list."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from tests.helpers.auth import login_tokens, me, refresh, register_user
from tests.helpers.clock import move_clock
from tests.helpers.http import assert_error, auth, body_of, post_json
from tests.helpers.parallel import run_together

TOKEN_FIELDS = {"user_id", "access_token", "refresh_token", "token_type", "expires_in", "session_id"}


def _sessions(client, token: str, query: str = ""):
    return client.get(f"/me/sessions{query}", headers=auth(token))


# --- access tokens ----------------------------------------------------------------------------


def test_me_with_a_valid_token(client, user):
    response = me(client, user["access_token"])
    assert response.status_code == 200
    assert body_of(response)["user_id"] == user["user_id"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Token abc"},
    ],
)
def test_me_without_a_usable_token_is_401(client, headers):
    assert_error(client.get("/me", headers=headers), 401, "unauthorized")


def test_a_token_signed_with_another_key_is_401(client, user):
    import jwt

    claims = jwt.decode(user["access_token"], options={"verify_signature": False})
    forged = jwt.encode(claims, "not-our-key-" * 4, algorithm="HS256")
    assert_error(me(client, forged), 401, "unauthorized")


def test_a_token_with_alg_none_is_401(client, user):
    import jwt

    claims = jwt.decode(user["access_token"], options={"verify_signature": False})
    forged = jwt.encode(claims, None, algorithm="none")
    assert_error(me(client, forged), 401, "unauthorized")


def test_a_tampered_token_is_401(client, user):
    other = register_user(client, verify_email=False)
    header, payload, signature = user["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = other["user_id"]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert_error(me(client, f"{header}.{forged_payload}.{signature}"), 401, "unauthorized")


def test_the_scheme_is_case_insensitive(client, user):
    response = client.get("/me", headers={"Authorization": f"bearer {user['access_token']}"})
    assert response.status_code == 200


def test_an_access_token_expires_after_fifteen_minutes(client, user, frozen_clock):
    move_clock(timedelta(minutes=14))
    assert me(client, user["access_token"]).status_code == 200
    move_clock(timedelta(minutes=2))
    assert_error(me(client, user["access_token"]), 401, "unauthorized")
    # the refresh token still works and gives a token that does
    pair = body_of(refresh(client, user["refresh_token"]))
    assert me(client, pair["access_token"]).status_code == 200


def test_a_token_minted_under_a_test_clock_ahead_of_real_time_works(client, user):
    from chalicelib.adapters import clock

    clock.set_test_clock(clock.now() + timedelta(days=2))
    tokens = login_tokens(client, user["phone"])
    assert me(client, tokens["access_token"]).status_code == 200


def test_401_message_follows_accept_language(client):
    error = assert_error(client.get("/me", headers={"Accept-Language": "zh-CN"}), 401, "unauthorized")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])


# --- logout -----------------------------------------------------------------------------------


def test_logout_ends_the_session_on_the_next_request(client, user):
    assert me(client, user["access_token"]).status_code == 200
    response = client.post("/auth/logout", headers=auth(user["access_token"]))
    assert response.status_code == 204
    assert response.body in (b"", "", None)
    assert_error(me(client, user["access_token"]), 401, "unauthorized")
    assert_error(refresh(client, user["refresh_token"]), 401, "invalid_refresh_token")
    assert_error(client.post("/auth/logout", headers=auth(user["access_token"])), 401, "unauthorized")


def test_logout_ends_only_its_own_session(client, user):
    other_device = login_tokens(client, user["phone"], device_id="tablet")
    assert client.post("/auth/logout", headers=auth(user["access_token"])).status_code == 204
    assert me(client, other_device["access_token"]).status_code == 200


def test_logout_without_a_token_is_401(client):
    assert_error(client.post("/auth/logout"), 401, "unauthorized")


# --- refresh ----------------------------------------------------------------------------------


def test_refresh_rotates_the_pair(client, user):
    response = refresh(client, user["refresh_token"])
    assert response.status_code == 200, response.body
    pair = body_of(response)
    assert set(pair) == TOKEN_FIELDS
    assert pair["token_type"] == "Bearer" and 0 < pair["expires_in"] <= 900
    assert pair["session_id"] == user["session_id"] and pair["user_id"] == user["user_id"]
    assert pair["refresh_token"] != user["refresh_token"]
    assert pair["access_token"] != user["access_token"]
    assert me(client, pair["access_token"]).status_code == 200
    # and the new refresh token rotates again
    again = body_of(refresh(client, pair["refresh_token"]))
    assert again["refresh_token"] not in (pair["refresh_token"], user["refresh_token"])


def test_the_previous_refresh_token_returns_the_same_pair_for_30_seconds(client, user, frozen_clock):
    first = body_of(refresh(client, user["refresh_token"]))
    move_clock(20)
    retry = refresh(client, user["refresh_token"])
    assert retry.status_code == 200
    assert body_of(retry) == first
    move_clock(9)
    assert body_of(refresh(client, user["refresh_token"])) == first
    # the session is fine: the new pair works
    assert me(client, first["access_token"]).status_code == 200


def test_the_previous_refresh_token_after_30_seconds_revokes_the_session(client, user, frozen_clock):
    first = body_of(refresh(client, user["refresh_token"]))
    move_clock(31)
    assert_error(refresh(client, user["refresh_token"]), 401, "token_reused")
    # the whole session is gone: its newest access and refresh tokens stop working
    assert_error(me(client, first["access_token"]), 401, "unauthorized")
    assert_error(me(client, user["access_token"]), 401, "unauthorized")
    assert_error(refresh(client, first["refresh_token"]), 401, "invalid_refresh_token")


def test_a_token_two_rotations_back_is_reuse_at_once(client, user):
    first = body_of(refresh(client, user["refresh_token"]))
    second = body_of(refresh(client, first["refresh_token"]))
    assert_error(refresh(client, user["refresh_token"]), 401, "token_reused")
    assert_error(me(client, second["access_token"]), 401, "unauthorized")
    assert_error(refresh(client, second["refresh_token"]), 401, "invalid_refresh_token")


def test_a_much_older_token_is_reuse(client, user):
    tokens = [user["refresh_token"]]
    for _ in range(5):
        tokens.append(body_of(refresh(client, tokens[-1]))["refresh_token"])
    assert_error(refresh(client, tokens[1]), 401, "token_reused")
    assert_error(refresh(client, tokens[-1]), 401, "invalid_refresh_token")


def test_recent_tokens_are_remembered_after_many_rotations(client, user):
    import hashlib

    from chalicelib.store.sessions import Session

    tokens = [user["refresh_token"]]
    for _ in range(60):
        tokens.append(body_of(refresh(client, tokens[-1]))["refresh_token"])
    # the newest 40 retired tokens (2 to 41 rotations back) are all still known as used
    stored = " ".join(Session.get(user["session_id"]).retired_hashes or ())
    for back in range(2, 42):
        digest = hashlib.sha256(tokens[-1 - back].split(".", 1)[1].encode()).hexdigest()
        assert digest in stored, back
    assert_error(refresh(client, tokens[-3]), 401, "token_reused")


def test_reuse_revokes_only_that_session(client, user):
    other = login_tokens(client, user["phone"], device_id="tablet")
    refresh(client, user["refresh_token"])
    refresh(client, body_of(refresh(client, user["refresh_token"]))["refresh_token"])
    assert_error(refresh(client, user["refresh_token"]), 401, "token_reused")
    assert me(client, other["access_token"]).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "ses_",
        "ses_doesnotexist.abcdef",
        "ses_0123456789abcdef0123456789abcdef.secret",
        "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        "a.b.c",
        ".",
    ],
)
def test_unknown_refresh_token_is_401(client, token):
    assert_error(refresh(client, token), 401, "invalid_refresh_token")


def test_a_refresh_token_with_the_right_session_and_a_wrong_secret_is_401(client, user):
    session_id = user["refresh_token"].split(".")[0]
    assert_error(refresh(client, f"{session_id}.not-the-secret"), 401, "invalid_refresh_token")
    # and the real one still works
    assert refresh(client, user["refresh_token"]).status_code == 200


def test_an_access_token_is_not_a_refresh_token(client, user):
    assert_error(refresh(client, user["access_token"]), 401, "invalid_refresh_token")


@pytest.mark.parametrize("payload", [{}, {"refresh_token": ""}, {"refresh_token": 1}, {"refresh_token": "x" * 600}])
def test_malformed_refresh_is_400(client, payload):
    assert_error(post_json(client, "/auth/token/refresh", payload), 400, "validation_error")


def test_refresh_of_an_idle_session_expires(client, user, frozen_clock):
    move_clock(timedelta(days=31))
    assert_error(refresh(client, user["refresh_token"]), 401, "invalid_refresh_token")


def test_refresh_keeps_the_session_alive(client, user, frozen_clock):
    token = user["refresh_token"]
    for _ in range(3):
        move_clock(timedelta(days=20))
        token = body_of(refresh(client, token))["refresh_token"]


def test_concurrent_refreshes_with_one_token_get_the_same_pair(client, user):
    results = run_together(*[lambda: refresh(client, user["refresh_token"])] * 3)
    assert [r.status_code for r in results] == [200, 200, 200], [r.body for r in results]
    pairs = [body_of(r) for r in results]
    assert pairs[0] == pairs[1] == pairs[2]
    assert me(client, pairs[0]["access_token"]).status_code == 200
    assert refresh(client, pairs[0]["refresh_token"]).status_code == 200


# --- the devices list -------------------------------------------------------------------------


def test_sessions_lists_devices_newest_first_with_current(client, user, frozen_clock):
    move_clock(1)
    pixel = login_tokens(client, user["phone"], device_id="pixel", device_name="Pixel 8")
    move_clock(1)
    iphone = login_tokens(client, user["email"], device_id="iphone", device_name="iPhone 15")
    response = _sessions(client, pixel["access_token"])
    assert response.status_code == 200, response.body
    body = body_of(response)
    assert body["next_cursor"] is None
    ids = [item["session_id"] for item in body["data"]]
    assert ids == [iphone["session_id"], pixel["session_id"], user["session_id"]]
    for item in body["data"]:
        assert set(item) == {"session_id", "device_name", "created_at", "last_used_at", "current"}
        assert item["current"] is (item["session_id"] == pixel["session_id"])
        assert item["created_at"].endswith("+08:00")
    assert [item["device_name"] for item in body["data"][:2]] == ["iPhone 15", "Pixel 8"]


def test_sessions_paginate(client, user):
    for index in range(4):
        login_tokens(client, user["phone"], device_id=f"device-{index}")
    seen = []
    cursor = None
    pages = 0
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = body_of(_sessions(client, user["access_token"], query))
        assert len(body["data"]) <= 2
        seen += [item["session_id"] for item in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    full = [item["session_id"] for item in body_of(_sessions(client, user["access_token"]))["data"]]
    assert seen == full


def test_a_cursor_from_another_users_list_is_400(client, user):
    other = register_user(client, verify_email=False)
    login_tokens(client, other["phone"], device_id="a")
    login_tokens(client, other["phone"], device_id="b")
    cursor = body_of(_sessions(client, other["access_token"], "?limit=1"))["next_cursor"]
    assert cursor
    assert_error(_sessions(client, user["access_token"], f"?cursor={cursor}"), 400, "invalid_cursor")
    assert_error(_sessions(client, user["access_token"], "?cursor=not-a-cursor"), 400, "invalid_cursor")
    assert _sessions(client, other["access_token"], f"?cursor={cursor}").status_code == 200


@pytest.mark.parametrize("query", ["?limit=0", "?limit=101", "?limit=abc", "?limit=1.5", "?limit=", "?cursor="])
def test_bad_list_parameters_are_400(client, user, query):
    assert_error(_sessions(client, user["access_token"], query), 400, "validation_error")


def test_sessions_needs_a_token(client):
    assert_error(client.get("/me/sessions"), 401, "unauthorized")


def test_refresh_moves_last_used_at(client, user, frozen_clock):
    before = body_of(_sessions(client, user["access_token"]))["data"][0]
    move_clock(timedelta(minutes=5))
    pair = body_of(refresh(client, user["refresh_token"]))
    after = body_of(_sessions(client, pair["access_token"]))["data"][0]
    assert after["created_at"] == before["created_at"]
    assert after["last_used_at"] > before["last_used_at"]


def test_ended_sessions_are_not_listed(client, user, frozen_clock):
    gone = login_tokens(client, user["phone"], device_id="gone")
    client.post("/auth/logout", headers=auth(gone["access_token"]))
    listed = [item["session_id"] for item in body_of(_sessions(client, user["access_token"]))["data"]]
    assert listed == [user["session_id"]]
    # nor those that expired from idleness
    move_clock(timedelta(days=31))
    fresh = login_tokens(client, user["phone"], device_id="new")
    listed = [item["session_id"] for item in body_of(_sessions(client, fresh["access_token"]))["data"]]
    assert listed == [fresh["session_id"]]


# --- revoking ---------------------------------------------------------------------------------


def test_revoking_one_session(client, user):
    other = login_tokens(client, user["phone"], device_id="old-phone")
    response = client.delete(f"/me/sessions/{other['session_id']}", headers=auth(user["access_token"]))
    assert response.status_code == 204
    assert_error(me(client, other["access_token"]), 401, "unauthorized")
    assert_error(refresh(client, other["refresh_token"]), 401, "invalid_refresh_token")
    assert me(client, user["access_token"]).status_code == 200
    listed = [item["session_id"] for item in body_of(_sessions(client, user["access_token"]))["data"]]
    assert other["session_id"] not in listed


def test_revoking_the_current_session(client, user):
    response = client.delete(f"/me/sessions/{user['session_id']}", headers=auth(user["access_token"]))
    assert response.status_code == 204
    assert_error(me(client, user["access_token"]), 401, "unauthorized")


def test_another_users_session_is_404(client, user):
    other = register_user(client, verify_email=False)
    response = client.delete(f"/me/sessions/{other['session_id']}", headers=auth(user["access_token"]))
    assert_error(response, 404, "not_found")
    assert me(client, other["access_token"]).status_code == 200


def test_an_unknown_session_is_404(client, user):
    response = client.delete("/me/sessions/ses_0123456789abcdef0123456789abcdef", headers=auth(user["access_token"]))
    assert_error(response, 404, "not_found")


def test_revoking_needs_a_token(client, user):
    assert_error(client.delete(f"/me/sessions/{user['session_id']}"), 401, "unauthorized")
    assert_error(client.delete("/me/sessions"), 401, "unauthorized")
    assert me(client, user["access_token"]).status_code == 200


def test_revoking_every_other_session(client, user):
    others = [login_tokens(client, user["phone"], device_id=f"d{index}") for index in range(3)]
    other_user = register_user(client, verify_email=False)
    response = client.delete("/me/sessions", headers=auth(others[0]["access_token"]))
    assert response.status_code == 204
    assert me(client, others[0]["access_token"]).status_code == 200
    for tokens in (user, others[1], others[2]):
        assert_error(me(client, tokens["access_token"]), 401, "unauthorized")
        assert_error(refresh(client, tokens["refresh_token"]), 401, "invalid_refresh_token")
    listed = body_of(_sessions(client, others[0]["access_token"]))["data"]
    assert [(item["session_id"], item["current"]) for item in listed] == [(others[0]["session_id"], True)]
    # nobody else's sessions are touched
    assert me(client, other_user["access_token"]).status_code == 200
