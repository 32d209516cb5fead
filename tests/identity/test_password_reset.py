"""Forgotten passwords: POST /auth/password/forgot and POST /auth/password/reset."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from chalicelib.adapters import clock
from tests.helpers.auth import login, login_tokens, me, refresh, register_user
from tests.helpers.clock import move_clock
from tests.helpers.codes import codes_sent, last_code
from tests.helpers.http import assert_error, body_of
from tests.helpers.mfa import enable_totp, forgot, reset, totp_code, wrong
from tests.helpers.outbox import messages, moto_emails, moto_sms, notice_texts, notices
from tests.helpers.parallel import run_together
from tests.helpers.users import PASSWORD, new_email, new_phone

NEW_PASSWORD = "Saffron-Kettle-Drift-88"


def reset_code(client, login_id: str, to: str | None = None) -> str:
    response = forgot(client, login_id)
    assert response.status_code == 202, (response.status_code, response.body)
    return last_code(to or login_id)


# --- POST /auth/password/forgot ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["phone", "email"])
def test_forgot_answers_the_same_for_known_and_unknown_logins(client, user, kind):
    known = forgot(client, user[kind])
    unknown = forgot(client, new_phone() if kind == "phone" else new_email())
    nonsense = forgot(client, "not a login at all")
    for response in (known, unknown, nonsense):
        assert response.status_code == 202
        assert body_of(response) == {"status": "sent"}
        assert response.headers["Content-Type"] == known.headers["Content-Type"]


def test_forgot_pads_known_and_unknown_logins_to_the_same_floor(client, user, monkeypatch):
    # Timing itself is measured in `make bench` (timing uniformity); here, that both kinds of login
    # wait out the same floor, on a clock that does not move.
    from chalicelib.services.identity import password_reset

    slept = []
    fake_time = SimpleNamespace(monotonic=lambda: 100.0, sleep=slept.append)
    monkeypatch.setattr(password_reset, "time", fake_time)
    assert forgot(client, user["email"]).status_code == 202
    assert forgot(client, new_email()).status_code == 202
    assert forgot(client, new_phone()).status_code == 202
    assert slept == [password_reset.FORGOT_MIN_SECONDS] * 3


def test_forgot_by_email_sends_a_code_by_ses(client, user):
    forgot(client, user["email"].upper())
    code = last_code(user["email"])
    # as a tester sees it in the local stage
    listed = body_of(client.get(f"/_local/outbox?to={quote(user['email'])}"))["data"]
    assert listed[0]["channel"] == "email" and code in listed[0]["body"]
    assert len(code) == 6 and code.isdigit()
    (email,) = [m for m in messages(user["email"], "email") if code in m.body]
    assert "reset your password" in email.body and "15 minutes" in email.body
    assert any(code in m.body for m in moto_emails(user["email"]))
    assert not codes_sent(user["phone"])[1:]  # only the registration code went to the phone


def test_forgot_by_phone_sends_a_code_by_sms(client, user):
    forgot(client, user["phone"])
    code = last_code(user["phone"])
    assert "reset your password" in messages(user["phone"], "sms")[0].body
    assert any(code in body for body in moto_sms(user["phone"]))
    assert not [m for m in messages(user["email"]) if code in m.body]


def test_forgot_by_an_unverified_email_sends_nothing(client):
    account = register_user(client, verify_email=False)
    before = len(messages(account["email"]))
    assert forgot(client, account["email"]).status_code == 202
    assert len(messages(account["email"])) == before


def test_forgot_for_an_unknown_login_sends_nothing(client):
    phone, email = new_phone(), new_email()
    forgot(client, phone)
    forgot(client, email)
    assert messages(phone) == [] and messages(email) == []
    assert moto_sms(phone) == [] and moto_emails(email) == []


def test_forgot_is_quiet_when_sms_is_rate_limited(client, user):
    forgot(client, user["phone"])
    first = last_code(user["phone"])
    response = forgot(client, user["phone"])  # within 60 s: nothing sent, same answer
    assert response.status_code == 202 and body_of(response) == {"status": "sent"}
    assert last_code(user["phone"]) == first


# --- POST /auth/password/reset ----------------------------------------------------------------


def test_reset_sets_the_new_password_and_ends_every_session(client, user):
    other = login_tokens(client, user["phone"], device_id="device-2")
    code = reset_code(client, user["email"])
    response = reset(client, user["email"], code, NEW_PASSWORD)
    assert response.status_code == 204 and not response.body

    for session in (user, other):
        assert_error(me(client, session["access_token"]), 401, "unauthorized")
        assert_error(refresh(client, session["refresh_token"]), 401, "invalid_refresh_token")
    assert_error(login(client, user["phone"], PASSWORD), 401, "invalid_credentials")
    login_tokens(client, user["phone"], NEW_PASSWORD)
    # a notice to both contacts
    assert "Your password was reset" in notice_texts(user["email"])
    assert "Your password was reset" in notice_texts(user["phone"])
    assert any("Your password was reset" in m.subject for m in moto_emails(user["email"]))


def test_reset_by_phone(client, user):
    code = reset_code(client, user["phone"])
    assert reset(client, user["phone"], code, NEW_PASSWORD).status_code == 204
    login_tokens(client, user["email"], NEW_PASSWORD)
    assert notices(user["phone"]) and notices(user["email"])


def test_reset_moves_password_changed_at(client):
    clock.set_test_clock(clock.now() - timedelta(days=200))  # an account with an old password
    account = register_user(client)
    clock.clear_test_clock()
    code = reset_code(client, account["phone"])
    assert reset(client, account["phone"], code, NEW_PASSWORD).status_code == 204
    tokens = login_tokens(client, account["phone"], NEW_PASSWORD)
    profile = body_of(me(client, tokens["access_token"]))
    changed_at = datetime.fromisoformat(profile["password_changed_at"])
    assert changed_at - datetime.fromisoformat(profile["created_at"]) >= timedelta(days=199)
    assert profile["password_change_recommended"] is False


def test_a_reset_code_works_once(client, user):
    code = reset_code(client, user["email"])
    assert reset(client, user["email"], code, NEW_PASSWORD).status_code == 204
    error = assert_error(reset(client, user["email"], code, "Another-Long-Pass-Phrase-7"), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 0}
    login_tokens(client, user["email"], NEW_PASSWORD)


def test_a_reset_code_expires_after_fifteen_minutes(client, user, frozen_clock):
    code = reset_code(client, user["email"])
    move_clock(15 * 60 + 1)
    assert_error(reset(client, user["email"], code, NEW_PASSWORD), 422, "invalid_code")
    login_tokens(client, user["email"], PASSWORD)


def test_a_reset_code_still_works_within_fifteen_minutes(client, user, frozen_clock):
    code = reset_code(client, user["email"])
    move_clock(14 * 60)
    assert reset(client, user["email"], code, NEW_PASSWORD).status_code == 204


def test_a_code_for_one_account_does_not_reset_another(client, user, distinct_codes):
    other = register_user(client)
    code = reset_code(client, user["email"])
    reset_code(client, other["email"])
    assert code != last_code(other["email"])
    assert_error(reset(client, other["email"], code, NEW_PASSWORD), 422, "invalid_code")
    login_tokens(client, other["email"], PASSWORD)


def test_a_code_sent_by_email_resets_a_login_by_phone(client, user):
    code = reset_code(client, user["email"])
    assert reset(client, user["phone"], code, NEW_PASSWORD).status_code == 204


def test_reset_without_a_code_sent_is_422(client, user):
    error = assert_error(reset(client, user["email"], "123456", NEW_PASSWORD), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 0}


def test_reset_of_an_unknown_login_is_422(client):
    assert_error(reset(client, new_email(), "123456", NEW_PASSWORD), 422, "invalid_code")


def test_five_wrong_guesses_void_the_reset(client, user, frozen_clock):
    code = reset_code(client, user["email"])
    for left in (4, 3, 2, 1, 0):
        error = assert_error(reset(client, user["email"], wrong(code), NEW_PASSWORD), 422, "invalid_code")
        assert error["details"] == {"attempts_left": left}
    move_clock(5)  # past the lockout the five failures caused
    error = assert_error(reset(client, user["email"], code, NEW_PASSWORD), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 0}
    move_clock(60)
    login_tokens(client, user["email"], PASSWORD)


def test_a_new_code_does_not_reset_the_attempt_count(client, user, frozen_clock):
    first = reset_code(client, user["email"])
    for _ in range(3):
        assert_error(reset(client, user["email"], wrong(first), NEW_PASSWORD), 422, "invalid_code")
    second = reset_code(client, user["email"])
    assert second != first or len(codes_sent(user["email"])) >= 3
    error = assert_error(reset(client, user["email"], wrong(second), NEW_PASSWORD), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 1}
    error = assert_error(reset(client, user["email"], wrong(second), NEW_PASSWORD), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 0}
    move_clock(5)
    assert_error(reset(client, user["email"], second, NEW_PASSWORD), 422, "invalid_code")
    # while the void code lives, asking again sends nothing
    sent = len(codes_sent(user["email"]))
    assert forgot(client, user["email"]).status_code == 202
    assert len(codes_sent(user["email"])) == sent


def test_a_fresh_code_is_sent_once_the_void_one_expired(client, user, frozen_clock):
    code = reset_code(client, user["email"])
    for _ in range(5):
        reset(client, user["email"], wrong(code), NEW_PASSWORD)
    move_clock(16 * 60)
    fresh = reset_code(client, user["email"])
    assert reset(client, user["email"], fresh, NEW_PASSWORD).status_code == 204


@pytest.mark.parametrize(
    ("weak", "says"),
    [
        ("short1!", "at least 8"),
        ("woaini1314", "most common"),
        ("5201314", "at least 8"),
        ("password123", "most common"),
        ("aaaaaaaaaaaa", "easy to guess"),
        ("x" * 129, "at most 128"),
    ],
)
def test_a_weak_new_password_is_400_and_neither_uses_nor_counts_the_code(client, user, weak, says):
    code = reset_code(client, user["email"])
    for _ in range(6):
        error = assert_error(reset(client, user["email"], code, weak), 400, "weak_password", field="new_password")
        assert says in error["message"], error
    # six refusals: not a guess, not a lockout, and the code still works
    assert reset(client, user["email"], code, NEW_PASSWORD).status_code == 204


def test_a_new_password_with_the_phone_number_is_weak(client, user):
    code = reset_code(client, user["email"])
    national = user["phone"][3:]
    assert_error(reset(client, user["email"], code, f"Zebra{national}Quilt"), 400, "weak_password")
    assert reset(client, user["email"], code, NEW_PASSWORD).status_code == 204


def test_reset_with_a_malformed_body_is_400(client, user):
    code = reset_code(client, user["email"])
    assert_error(
        reset(client, user["email"], code, NEW_PASSWORD, pasword="x"), 400, "validation_error", field="pasword"
    )
    response = reset(client, user["email"], code, NEW_PASSWORD, second_factor={"method": "sms", "code": "123456"})
    assert_error(response, 400, "validation_error")
    assert reset(client, user["email"], code, NEW_PASSWORD).status_code == 204


# --- accounts with TOTP -----------------------------------------------------------------------


def test_a_totp_account_must_give_a_second_factor(client, user):
    totp = enable_totp(client, user)
    code = reset_code(client, user["email"])
    error = assert_error(reset(client, user["email"], code, NEW_PASSWORD), 422, "mfa_required")
    assert error["details"] == {"methods": ["totp", "recovery_code"]}
    # the code was not used up by the refusal
    factor = {"method": "totp", "code": totp_code(totp["secret"], totp["step"])}
    assert reset(client, user["email"], code, NEW_PASSWORD, factor).status_code == 204
    challenge = body_of(login(client, user["phone"], NEW_PASSWORD))
    assert challenge["mfa_required"] is True  # TOTP stays on


def test_a_totp_account_can_reset_with_a_recovery_code(client, user):
    totp = enable_totp(client, user)
    code = reset_code(client, user["phone"])
    factor = {"method": "recovery_code", "code": totp["recovery_codes"][0]}
    assert reset(client, user["phone"], code, NEW_PASSWORD, factor).status_code == 204
    assert body_of(login(client, user["phone"], NEW_PASSWORD))["mfa_required"] is True


def test_a_wrong_second_factor_is_422_and_keeps_the_code(client, user):
    totp = enable_totp(client, user)
    code = reset_code(client, user["email"])
    right = totp_code(totp["secret"], totp["step"])
    factor = {"method": "totp", "code": wrong(right)}
    error = assert_error(reset(client, user["email"], code, NEW_PASSWORD, factor), 422, "invalid_code")
    # the tries left before the login is locked (wrong second factors count there)
    assert error["details"] == {"attempts_left": 4}
    # a replayed TOTP code (the one that activated it) is as wrong
    factor = {"method": "totp", "code": totp_code(totp["secret"], totp["step"] - 1)}
    error = assert_error(reset(client, user["email"], code, NEW_PASSWORD, factor), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 3}
    factor = {"method": "recovery_code", "code": "aaaa-bbbb"}
    error = assert_error(reset(client, user["email"], code, NEW_PASSWORD, factor), 422, "invalid_code")
    assert error["details"] == {"attempts_left": 2}
    factor = {"method": "totp", "code": right}
    assert reset(client, user["email"], code, NEW_PASSWORD, factor).status_code == 204


def test_wrong_second_factors_lock_the_reset(client, user, frozen_clock):
    totp = enable_totp(client, user)
    code = reset_code(client, user["email"])
    right = totp_code(totp["secret"], totp["step"])
    for _ in range(5):
        factor = {"method": "totp", "code": wrong(right)}
        assert_error(reset(client, user["email"], code, NEW_PASSWORD, factor), 422, "invalid_code")
    factor = {"method": "totp", "code": right}
    assert_error(reset(client, user["email"], code, NEW_PASSWORD, factor), 423, "account_locked")


def test_the_reset_code_is_checked_before_the_second_factor(client, user):
    totp = enable_totp(client, user)
    code = reset_code(client, user["email"])
    factor = {"method": "totp", "code": totp_code(totp["secret"], totp["step"])}
    assert_error(reset(client, user["email"], wrong(code), NEW_PASSWORD), 422, "invalid_code")
    assert_error(reset(client, user["email"], wrong(code), NEW_PASSWORD, factor), 422, "invalid_code")
    # the TOTP code was not spent on a reset with a wrong code
    assert reset(client, user["email"], code, NEW_PASSWORD, factor).status_code == 204


# --- races and lockout ------------------------------------------------------------------------


def test_two_concurrent_resets_with_one_code_succeed_once(client, user):
    code = reset_code(client, user["email"])
    results = run_together(
        lambda: reset(client, user["email"], code, NEW_PASSWORD),
        lambda: reset(client, user["email"], code, NEW_PASSWORD),
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [204, 422], [r.body for r in results]
    assert_error(next(r for r in results if r.status_code == 422), 422, "invalid_code")
    login_tokens(client, user["email"], NEW_PASSWORD)


def test_reset_failures_lock_reset_and_login(client, user, frozen_clock):
    code = reset_code(client, user["phone"])
    for _ in range(5):
        assert_error(reset(client, user["phone"], wrong(code), NEW_PASSWORD), 422, "invalid_code")
    response = reset(client, user["phone"], code, NEW_PASSWORD)
    assert_error(response, 423, "account_locked")
    assert int(response.headers["Retry-After"]) >= 1
    assert_error(login(client, user["phone"]), 423, "account_locked")


def test_a_locked_login_refuses_the_right_reset_code(client, user, frozen_clock):
    for _ in range(5):
        assert_error(login(client, user["email"], "Not-The-Password-1"), 401, "invalid_credentials")
    code = reset_code(client, user["email"])
    assert_error(reset(client, user["email"], code, NEW_PASSWORD), 423, "account_locked")


def test_the_reset_notice_is_in_the_users_language(client):
    account = register_user(client, headers={"Accept-Language": "zh-CN"})
    forgot(client, account["phone"])
    code = last_code(account["phone"])
    assert "重置密码" in messages(account["phone"])[0].body
    assert reset(client, account["phone"], code, NEW_PASSWORD).status_code == 204
    assert "您的密码已重置" in notice_texts(account["phone"])
    assert "您的密码已重置" in notice_texts(account["email"])
