"""The signed-in user's account: GET/PATCH /me, POST /me/password, POST /me/close, languages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from chalicelib.adapters import clock, outbox
from tests.helpers.auth import login, login_tokens, me, refresh, register, register_user, start_registration
from tests.helpers.clock import move_clock
from tests.helpers.codes import last_code
from tests.helpers.http import assert_error, auth, body_of, post_json
from tests.helpers.outbox import moto_emails, notice_texts
from tests.helpers.parallel import run_together
from tests.helpers.users import OTHER_PASSWORD, PASSWORD, new_email

PROFILE_KEYS = {
    "user_id",
    "email",
    "phone",
    "display_name",
    "locale",
    "email_verified",
    "phone_verified",
    "kyc",
    "mfa",
    "password_changed_at",
    "password_change_recommended",
    "role",
    "status",  # v1.2: "active" | "frozen" (`freeze` is added only while frozen)
    "created_at",
}


def patch_me(client, user, payload, headers=None):
    return client.patch(
        "/me",
        body=payload if isinstance(payload, (bytes, str)) else json.dumps(payload),
        headers={"Content-Type": "application/json", **auth(user["access_token"]), **(headers or {})},
    )


def change_password(client, user, current, new, headers=None):
    payload = {"current_password": current, "new_password": new}
    return post_json(client, "/me/password", payload, {**auth(user["access_token"]), **(headers or {})})


def close(client, user, password=PASSWORD):
    return post_json(client, "/me/close", {"password": password}, auth(user["access_token"]))


def instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() is not None, text
    return moment


# --- GET /me ----------------------------------------------------------------------------------


def test_me_has_every_field_of_the_contract(client, user):
    response = me(client, user["access_token"])
    assert response.status_code == 200
    profile = body_of(response)
    assert set(profile) == PROFILE_KEYS
    assert profile["user_id"] == user["user_id"]
    assert profile["email"] == user["email"] and profile["phone"] == user["phone"]
    assert profile["display_name"] == "Test User"
    assert profile["locale"] == "en"
    assert profile["email_verified"] is True and profile["phone_verified"] is True
    assert profile["kyc"] == {"status": "unverified", "level": 0}
    assert profile["mfa"] == {"totp": False, "sms": False, "email": False}
    assert profile["password_change_recommended"] is False
    assert profile["role"] == "user"
    assert profile["status"] == "active"
    created = instant(profile["created_at"])
    changed = instant(profile["password_changed_at"])
    assert abs((clock.now() - created).total_seconds()) < 60
    assert abs((changed - created).total_seconds()) < 5


def test_me_of_a_fresh_account_has_an_unverified_email(client):
    account = register_user(client, verify_email=False)
    assert body_of(me(client, account["access_token"]))["email_verified"] is False


def test_me_needs_a_valid_access_token(client, user):
    assert_error(client.get("/me"), 401, "unauthorized")
    assert_error(me(client, user["access_token"] + "x"), 401, "unauthorized")
    assert_error(me(client, user["refresh_token"]), 401, "unauthorized")


# --- PATCH /me --------------------------------------------------------------------------------


def test_patch_changes_the_display_name_and_locale(client, user):
    response = patch_me(client, user, {"display_name": "  Wang Xiaoming ", "locale": "zh-CN"})
    assert response.status_code == 200
    profile = body_of(response)
    assert set(profile) == PROFILE_KEYS
    assert profile["display_name"] == "Wang Xiaoming" and profile["locale"] == "zh-CN"
    assert body_of(me(client, user["access_token"])) == profile


def test_patch_with_one_field_leaves_the_other(client, user):
    assert body_of(patch_me(client, user, {"locale": "zh-CN"}))["display_name"] == "Test User"
    profile = body_of(patch_me(client, user, {"display_name": "小明", "locale": None}))
    assert profile["display_name"] == "小明" and profile["locale"] == "zh-CN"
    assert body_of(patch_me(client, user, {})) == profile


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"locale": "fr"}, "locale"),
        ({"locale": "zh-TW"}, "locale"),
        ({"locale": 1}, "locale"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "x" * 65}, "display_name"),
        ({"display_name": 5}, "display_name"),
        ({"displayname": "typo"}, "displayname"),
        ({"email": "new@example.com"}, "email"),
        ({"role": "agent"}, "role"),
    ],
)
def test_patch_with_a_bad_field_is_400(client, user, payload, field):
    assert_error(patch_me(client, user, payload), 400, "validation_error", field=field)
    profile = body_of(me(client, user["access_token"]))
    assert profile["locale"] == "en" and profile["role"] == "user" and profile["display_name"] == "Test User"


def test_patch_with_a_body_that_is_not_an_object_is_400(client, user):
    assert_error(patch_me(client, user, b"[]"), 400, "validation_error")


def test_patch_needs_a_session(client):
    assert_error(client.patch("/me", body=b"{}", headers={"Content-Type": "application/json"}), 401, "unauthorized")


# --- languages --------------------------------------------------------------------------------


def test_messages_follow_the_stored_locale_without_accept_language(client):
    account = register_user(client, headers={"Accept-Language": "zh-CN"})
    assert body_of(me(client, account["access_token"]))["locale"] == "zh-CN"
    error = assert_error(
        change_password(client, account, "Not-The-Password-1", OTHER_PASSWORD), 422, "invalid_password"
    )
    assert error["message"] == "密码错误。"
    # Accept-Language wins over the stored locale
    response = change_password(client, account, "Not-The-Password-1", OTHER_PASSWORD, {"Accept-Language": "en"})
    assert assert_error(response, 422, "invalid_password")["message"] == "The password is incorrect."


def test_a_validation_message_follows_the_stored_locale(client):
    account = register_user(client, headers={"Accept-Language": "zh-CN"})
    error = assert_error(patch_me(client, account, {"locale": "fr"}), 400, "validation_error", field="locale")
    assert any("\u4e00" <= char <= "\u9fff" for char in error["message"]), error


def test_changing_the_locale_changes_messages_and_notices(client, user):
    error = assert_error(change_password(client, user, "Not-The-Password-1", OTHER_PASSWORD), 422, "invalid_password")
    assert error["message"] == "The password is incorrect."
    patch_me(client, user, {"locale": "zh-CN"})
    error = assert_error(change_password(client, user, "Not-The-Password-1", OTHER_PASSWORD), 422, "invalid_password")
    assert error["message"] == "密码错误。"
    # a session started later has it too
    tokens = login_tokens(client, user["phone"], device_id="device-2")
    error = assert_error(change_password(client, tokens, "Not-The-Password-1", OTHER_PASSWORD), 422, "invalid_password")
    assert error["message"] == "密码错误。"
    # and the notices are in Chinese
    assert change_password(client, user, PASSWORD, OTHER_PASSWORD).status_code == 204
    assert "您的密码已修改" in notice_texts(user["email"])
    assert "您的密码已修改" in notice_texts(user["phone"])


# --- password age -----------------------------------------------------------------------------


def test_an_old_password_is_recommended_for_a_change_but_never_blocks_login(client):
    clock.set_test_clock(clock.now() - timedelta(days=181))
    account = register_user(client)
    clock.clear_test_clock()
    tokens = login_tokens(client, account["phone"])
    profile = body_of(me(client, tokens["access_token"]))
    assert profile["password_change_recommended"] is True
    # changing it clears the recommendation
    assert change_password(client, tokens, PASSWORD, OTHER_PASSWORD).status_code == 204
    assert body_of(me(client, tokens["access_token"]))["password_change_recommended"] is False


def test_a_password_of_179_days_is_not_old(client):
    clock.set_test_clock(clock.now() - timedelta(days=179))
    account = register_user(client)
    clock.clear_test_clock()
    tokens = login_tokens(client, account["phone"])
    assert body_of(me(client, tokens["access_token"]))["password_change_recommended"] is False


def test_password_change_is_recommended_181_days_on_the_test_clock(client, user, frozen_clock):
    move_clock(timedelta(days=181))
    tokens = login_tokens(client, user["phone"])  # never blocked by age
    profile = body_of(me(client, tokens["access_token"]))
    assert profile["password_change_recommended"] is True


def test_login_is_not_blocked_181_days_on(client, user, frozen_clock):
    move_clock(timedelta(days=181))
    assert "access_token" in login_tokens(client, user["phone"])


# --- POST /me/password ------------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["short1!", "woaini1314", "password1234", "qwertyuiop"])
def test_a_weak_new_password_is_400(client, user, weak):
    error = assert_error(change_password(client, user, PASSWORD, weak), 400, "weak_password", field="new_password")
    assert error["message"]
    login_tokens(client, user["phone"], PASSWORD)


def test_a_new_password_with_the_email_local_part_is_weak(client, user):
    local = user["email"].split("@")[0]
    response = change_password(client, user, PASSWORD, f"Violet-{local}-Harbor")
    assert_error(response, 400, "weak_password", field="new_password")


def test_a_wrong_current_password_is_422_and_the_session_stays(client, user):
    response = change_password(client, user, "Not-The-Password-1", OTHER_PASSWORD)
    assert_error(response, 422, "invalid_password")
    assert me(client, user["access_token"]).status_code == 200
    login_tokens(client, user["phone"], PASSWORD)


def test_change_password_needs_both_fields(client, user):
    response = post_json(client, "/me/password", {"new_password": OTHER_PASSWORD}, auth(user["access_token"]))
    assert_error(response, 400, "validation_error", field="current_password")


def test_change_password_keeps_this_session_and_ends_the_others(client, user):
    other = login_tokens(client, user["phone"], device_id="device-2")
    before = body_of(me(client, user["access_token"]))["password_changed_at"]
    response = change_password(client, user, PASSWORD, OTHER_PASSWORD)
    assert response.status_code == 204 and not response.body

    profile = body_of(me(client, user["access_token"]))
    assert instant(profile["password_changed_at"]) >= instant(before)
    assert refresh(client, user["refresh_token"]).status_code == 200
    assert_error(me(client, other["access_token"]), 401, "unauthorized")
    assert_error(refresh(client, other["refresh_token"]), 401, "invalid_refresh_token")
    assert_error(login(client, user["phone"], PASSWORD), 401, "invalid_credentials")
    login_tokens(client, user["email"], OTHER_PASSWORD)
    assert "Your password was changed" in notice_texts(user["email"])
    assert "Your password was changed" in notice_texts(user["phone"])
    assert any("Your password was changed" in m.subject for m in moto_emails(user["email"]))


def test_wrong_current_passwords_end_the_session_not_the_owners_sign_in(client, user):
    # v1.2: re-auth failures count per session; the 5th revokes it and never locks the sign-in.
    for _ in range(5):
        assert_error(change_password(client, user, "Not-The-Password-1", OTHER_PASSWORD), 422, "invalid_password")
    assert_error(me(client, user["access_token"]), 401, "unauthorized")
    assert login(client, user["phone"]).status_code == 200


# --- POST /me/close ---------------------------------------------------------------------------


def test_close_with_a_wrong_password_is_422(client, user):
    assert_error(close(client, user, "Not-The-Password-1"), 422, "invalid_password")
    assert me(client, user["access_token"]).status_code == 200
    login_tokens(client, user["phone"])


def test_close_needs_the_password(client, user):
    assert_error(
        post_json(client, "/me/close", {}, auth(user["access_token"])), 400, "validation_error", field="password"
    )


def test_close_ends_every_session_and_sign_in(client, user):
    other = login_tokens(client, user["phone"], device_id="device-2")
    response = close(client, user)
    assert response.status_code == 204 and not response.body
    for session in (user, other):
        assert_error(me(client, session["access_token"]), 401, "unauthorized")
        assert_error(refresh(client, session["refresh_token"]), 401, "invalid_refresh_token")
    assert_error(login(client, user["phone"]), 401, "invalid_credentials")
    assert_error(login(client, user["email"]), 401, "invalid_credentials")
    assert "account was closed" in notice_texts(user["email"])
    assert "account was closed" in notice_texts(user["phone"])


def test_a_closed_accounts_phone_and_email_can_open_a_new_account(client, user, frozen_clock):
    assert close(client, user).status_code == 204
    move_clock(61)  # one sign-up code a minute per number
    assert start_registration(client, user["phone"]).status_code == 202
    response = register(client, phone=user["phone"], code=last_code(user["phone"]), email=user["email"])
    assert response.status_code == 201, response.body
    fresh = body_of(response)
    assert fresh["user_id"] != user["user_id"]
    # the released email can be verified again, on the new account
    verify = post_json(
        client,
        "/me/contacts/verify",
        {"channel": "email", "code": last_code(user["email"])},
        auth(fresh["access_token"]),
    )
    assert verify.status_code == 200, verify.body
    assert login_tokens(client, user["email"])["user_id"] == fresh["user_id"]
    assert login_tokens(client, user["phone"])["user_id"] == fresh["user_id"]


def test_a_closed_account_cannot_reset_its_password(client, user):
    assert close(client, user).status_code == 204
    post_json(client, "/auth/password/forgot", {"login": user["email"]})
    post_json(client, "/auth/password/forgot", {"login": user["phone"]})
    assert not [m for m in outbox.messages() if "reset your password" in m.body]


def test_closing_an_account_leaves_other_accounts_alone(client, user):
    other = register_user(client, email=new_email())
    assert close(client, user).status_code == 204
    assert me(client, other["access_token"]).status_code == 200
    login_tokens(client, other["phone"])


def test_two_concurrent_closes_close_once(client, user):
    results = run_together(lambda: close(client, user), lambda: close(client, user))
    statuses = sorted(r.status_code for r in results)
    assert statuses[0] == 204 and statuses[1] in (204, 401), [r.body for r in results]
    closed = [m for m in outbox.messages(user["phone"]) if "account was closed" in m.body]
    assert len(closed) == statuses.count(204)
