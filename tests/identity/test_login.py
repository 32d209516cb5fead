"""POST /auth/login: by phone or verified email, uniform failures, lockout, new-device notices."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.store.users import User
from tests.helpers.auth import login, login_tokens, me, register_user
from tests.helpers.clock import move_clock
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.outbox import messages, moto_emails, moto_sms
from tests.helpers.users import OTHER_PASSWORD, PASSWORD, new_email, new_phone


def _without_request_id(response) -> dict:
    body = body_of(response)
    body["error"].pop("request_id")
    return body


# --- signing in -------------------------------------------------------------------------------


def test_login_by_phone_returns_tokens(client, user):
    response = login(client, user["phone"], device_name="Pixel 8")
    assert response.status_code == 200, response.body
    body = body_of(response)
    assert set(body) >= {"user_id", "access_token", "refresh_token", "token_type", "expires_in", "session_id"}
    assert body["user_id"] == user["user_id"]
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 900
    assert body["session_id"] != user["session_id"]
    assert "mfa_required" not in body or not body["mfa_required"]
    assert body_of(me(client, body["access_token"]))["user_id"] == user["user_id"]


@pytest.mark.parametrize(
    "spelling",
    ["{national}", "+86{national}", "+86 {a} {b} {c}", "  {national}  ", "{a}-{b}-{c}", "(+86) {national}"],
)
def test_login_by_phone_in_any_spelling(client, spelling):
    national = "13912345678"
    user = register_user(client, phone=f"+86{national}")
    text = spelling.format(national=national, a=national[:3], b=national[3:7], c=national[7:])
    assert login_tokens(client, text)["user_id"] == user["user_id"]


def test_login_by_verified_email_in_any_case(client, user):
    assert login_tokens(client, user["email"])["user_id"] == user["user_id"]
    assert login_tokens(client, f"  {user['email'].upper()} ")["user_id"] == user["user_id"]


def test_login_by_unverified_email_is_401(client):
    user = register_user(client, verify_email=False)
    assert_error(login(client, user["email"]), 401, "invalid_credentials")
    # the phone works
    assert login_tokens(client, user["phone"])["user_id"] == user["user_id"]


def test_wrong_password_is_401(client, user):
    assert_error(login(client, user["phone"], OTHER_PASSWORD), 401, "invalid_credentials")
    assert_error(login(client, user["email"], OTHER_PASSWORD), 401, "invalid_credentials")


def test_the_password_is_compared_exactly(client, user):
    assert_error(login(client, user["phone"], PASSWORD.upper()), 401, "invalid_credentials")
    assert_error(login(client, user["phone"], PASSWORD + " "), 401, "invalid_credentials")


def test_unknown_account_and_wrong_password_answer_alike(client, user):
    wrong = login(client, user["phone"], OTHER_PASSWORD, headers={"Accept-Language": "zh-CN"})
    unknown_phone = login(client, new_phone(), OTHER_PASSWORD, headers={"Accept-Language": "zh-CN"})
    unknown_email = login(client, new_email(), OTHER_PASSWORD, headers={"Accept-Language": "zh-CN"})
    gibberish = login(client, "no-such-login", OTHER_PASSWORD, headers={"Accept-Language": "zh-CN"})
    for response in (wrong, unknown_phone, unknown_email, gibberish):
        assert_error(response, 401, "invalid_credentials")
    assert _without_request_id(wrong) == _without_request_id(unknown_phone)
    assert _without_request_id(wrong) == _without_request_id(unknown_email)
    assert _without_request_id(wrong) == _without_request_id(gibberish)
    assert set(wrong.headers) == set(unknown_phone.headers)


@pytest.mark.parametrize("kind", ["known", "unknown phone", "unknown email", "neither"])
def test_every_failed_login_verifies_one_password_hash(client, user, monkeypatch, kind):
    from argon2 import PasswordHasher

    calls = []
    original = PasswordHasher.verify

    def counting(self, hash_, password):
        calls.append(hash_)
        return original(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    login_id = {"known": user["phone"], "unknown phone": new_phone(), "unknown email": new_email()}.get(kind, "nobody")
    assert_error(login(client, login_id, OTHER_PASSWORD), 401, "invalid_credentials")
    assert len(calls) == 1
    assert calls[0].startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_device_id_is_required(client, user):
    assert_error(login(client, user["phone"], device_id=None), 400, "validation_error", field="device_id")
    assert_error(login(client, user["phone"], device_id="   "), 400, "validation_error", field="device_id")


@pytest.mark.parametrize(
    "payload",
    [
        {"password": PASSWORD, "device_id": "d"},
        {"login": "+8613900000000", "device_id": "d"},
        {"login": "+8613900000000", "password": PASSWORD, "device_id": "d", "devcie_name": "typo"},
        {"login": 13900000000, "password": PASSWORD, "device_id": "d"},
    ],
)
def test_malformed_login_is_400(client, payload):
    assert_error(post_json(client, "/auth/login", payload), 400, "validation_error")


def test_an_old_hash_is_upgraded_on_login(client, user):
    from argon2 import PasswordHasher, Type

    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID).hash(PASSWORD)
    User(user["user_id"]).update(actions=[User.password_hash.set(weak)])
    login_tokens(client, user["phone"])
    stored = User.get(user["user_id"]).password_hash
    assert stored != weak and "m=19456,t=2,p=1" in stored
    login_tokens(client, user["phone"])


# --- sign-in notices --------------------------------------------------------------------------


def _notices(to: str) -> list[str]:
    return [m.body for m in messages(to) if "sign-in" in m.body.lower() or "登录" in m.body]


def test_a_new_device_gets_a_notice_by_email_and_sms(client, user):
    sms_before, mail_before = len(moto_sms(user["phone"])), len(moto_emails(user["email"]))
    login_tokens(client, user["phone"], device_id="install-a", device_name="Pixel 8")
    assert len(_notices(user["phone"])) == 1
    assert len(_notices(user["email"])) == 1
    assert "Pixel 8" in _notices(user["email"])[0]
    assert len(moto_sms(user["phone"])) == sms_before + 1
    assert len(moto_emails(user["email"])) == mail_before + 1
    # the same device again: no notice
    login_tokens(client, user["email"], device_id="install-a", device_name="Pixel 8")
    assert len(_notices(user["phone"])) == 1 and len(_notices(user["email"])) == 1
    # another device: a notice again
    login_tokens(client, user["phone"], device_id="install-b")
    assert len(_notices(user["phone"])) == 2 and len(_notices(user["email"])) == 2


def test_the_sign_in_notice_is_in_the_users_language(client):
    user = register_user(client, headers={"Accept-Language": "zh-CN"})
    login_tokens(client, user["phone"], device_id="install-zh")
    assert "新设备登录" in messages(user["phone"])[0].body
    assert "新设备登录" in messages(user["email"])[0].body


def test_a_device_of_another_user_is_new_for_this_one(client, user):
    other = register_user(client)
    login_tokens(client, user["phone"], device_id="shared-install")
    login_tokens(client, other["phone"], device_id="shared-install")
    assert len(_notices(other["phone"])) == 1


def test_no_notice_is_sent_for_a_failed_login(client, user):
    count = len(messages(user["phone"]))
    login(client, user["phone"], OTHER_PASSWORD, device_id="install-x")
    assert len(messages(user["phone"])) == count


# --- lockout ----------------------------------------------------------------------------------


def _fail(client, login_id: str, times: int = 1) -> None:
    for _ in range(times):
        assert_error(login(client, login_id, OTHER_PASSWORD), 401, "invalid_credentials")


def _locked(response, seconds: int) -> dict:
    error = assert_error(response, 423, "account_locked")
    assert response.headers["Retry-After"] == str(seconds), response.headers
    return error


def test_five_failures_lock_for_one_second_even_for_the_right_password(client, user, frozen_clock):
    _fail(client, user["phone"], 5)
    _locked(login(client, user["phone"]), 1)
    _locked(login(client, user["phone"], OTHER_PASSWORD), 1)
    # every spelling of the number is the same identifier
    _locked(login(client, user["phone"].removeprefix("+86")), 1)


def test_the_lock_grows_and_is_capped_at_fifteen_minutes(client, user, frozen_clock):
    _fail(client, user["phone"], 5)
    expected = [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    wait = 1
    for seconds in expected:
        move_clock(wait + 0.5)
        _fail(client, user["phone"])
        _locked(login(client, user["phone"]), seconds)
        wait = seconds
    move_clock(900.5)
    assert login_tokens(client, user["phone"])["user_id"] == user["user_id"]


def test_refused_attempts_do_not_extend_the_lock(client, user, frozen_clock):
    _fail(client, user["phone"], 5)
    move_clock(1.5)
    _fail(client, user["phone"])  # the 6th failure: 2 s
    for _ in range(3):
        _locked(login(client, user["phone"], OTHER_PASSWORD), 2)
    move_clock(1.2)
    _locked(login(client, user["phone"]), 1)
    move_clock(1.0)
    assert login_tokens(client, user["phone"])["user_id"] == user["user_id"]


def test_after_the_lock_the_right_password_works_and_resets_the_count(client, user, frozen_clock):
    _fail(client, user["phone"], 5)
    move_clock(1.5)
    login_tokens(client, user["phone"])
    # the streak starts again from zero: four more failures do not lock
    _fail(client, user["phone"], 4)
    login_tokens(client, user["phone"])
    _fail(client, user["phone"], 4)
    assert login(client, user["phone"]).status_code == 200


def test_a_completed_login_resets_the_count(client, user):
    _fail(client, user["phone"], 4)
    login_tokens(client, user["phone"])
    _fail(client, user["phone"], 4)
    _fail(client, user["phone"])  # the 5th consecutive one locks
    _locked(login(client, user["phone"]), 1)


def test_a_streak_older_than_a_day_is_forgotten(client, user, frozen_clock):
    _fail(client, user["phone"], 4)
    move_clock(timedelta(hours=25))
    _fail(client, user["phone"])  # the first of a new streak, not the 5th
    _fail(client, user["phone"], 3)
    assert login(client, user["phone"]).status_code == 200


def test_a_streak_within_a_day_is_kept(client, user, frozen_clock):
    _fail(client, user["phone"], 4)
    move_clock(timedelta(hours=23))
    _fail(client, user["phone"])
    _locked(login(client, user["phone"]), 1)


def test_failures_count_per_identifier(client, user):
    # the phone's streak does not lock the email, and vice versa
    _fail(client, user["phone"], 5)
    _locked(login(client, user["phone"]), 1)
    assert login_tokens(client, user["email"])["user_id"] == user["user_id"]


def test_failures_count_across_spellings(client, user):
    national = user["phone"].removeprefix("+86")
    for spelling in (national, f"+86 {national}", user["phone"], f"{national[:3]} {national[3:]}", f" {national}"):
        _fail(client, spelling)
    _locked(login(client, user["phone"]), 1)


def test_email_failures_count_in_any_case(client, user):
    for spelling in (user["email"], user["email"].upper(), f" {user['email']} ", user["email"].title(), user["email"]):
        _fail(client, spelling)
    _locked(login(client, user["email"]), 1)


def test_unknown_accounts_lock_too(client, frozen_clock):
    phone = new_phone()
    _fail(client, phone, 5)
    locked = login(client, phone)
    _locked(locked, 1)
    move_clock(1.5)
    _fail(client, phone)
    _locked(login(client, phone), 2)
    email = new_email()
    _fail(client, email.upper(), 5)
    _locked(login(client, email), 1)


def test_locked_known_and_unknown_accounts_answer_alike(client, user, frozen_clock):  # one Retry-After second
    phone = new_phone()
    _fail(client, user["phone"], 5)
    _fail(client, phone, 5)
    known, unknown = login(client, user["phone"]), login(client, phone)
    assert _without_request_id(known) == _without_request_id(unknown)
    assert known.headers["Retry-After"] == unknown.headers["Retry-After"]


def test_lock_message_follows_accept_language(client, user):
    _fail(client, user["phone"], 5)
    error = _locked(login(client, user["phone"], headers={"Accept-Language": "zh-CN"}), 1)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])


def test_lock_passes_on_the_test_clock(client, user, frozen_clock):
    _fail(client, user["phone"], 5)
    _locked(login(client, user["phone"]), 1)
    move_clock(timedelta(seconds=2))
    assert login(client, user["phone"]).status_code == 200


def test_the_document_tells_tokens_from_an_mfa_challenge():
    """A generated client gets a union for `200`: the tokens, or `mfa_required: true` with its token and methods."""
    from chalicelib.api import openapi

    schemas = openapi.document(local=True)["components"]["schemas"]
    assert schemas["TokensOrMfa"]["oneOf"] == [
        {"$ref": "#/components/schemas/Tokens"},
        {"$ref": "#/components/schemas/MfaChallenge"},
    ]
    assert schemas["MfaChallenge"]["required"] == ["mfa_required", "mfa_token", "mfa_methods"]
    assert schemas["MfaChallenge"]["properties"]["mfa_required"]["const"] is True
    assert set(schemas["Tokens"]["required"]).isdisjoint(schemas["MfaChallenge"]["required"])
