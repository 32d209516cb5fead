"""SMS limits per phone number (60 s per purpose and object, 10 codes an hour) and per-IP limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters import clock
from chalicelib.api.identity import auth as identity
from tests.helpers.auth import login, login_tokens, register, register_user, start_registration
from tests.helpers.clock import move_clock
from tests.helpers.codes import codes_sent
from tests.helpers.http import assert_error, auth, body_of, post_json, put_json
from tests.helpers.outbox import messages, moto_sms
from tests.helpers.users import PASSWORD, new_phone


def _mfa_by_sms(client, user) -> None:
    response = put_json(client, "/me/mfa", {"password": PASSWORD, "sms": True}, auth(user["access_token"]))
    assert response.status_code == 200, response.body


def _mfa_token(client, user, device_id: str = "device-1") -> str:
    body = body_of(login(client, user["phone"], device_id=device_id))
    assert body.get("mfa_required") is True, body
    return body["mfa_token"]


def _send_sms_code(client, mfa_token: str):
    return post_json(client, "/auth/mfa/send", {"mfa_token": mfa_token, "method": "sms"})


# --- register/start: quiet --------------------------------------------------------------------


def test_one_sign_up_code_a_minute(client, frozen_clock):
    phone = new_phone()
    assert start_registration(client, phone).status_code == 202
    move_clock(30)
    second = start_registration(client, phone)
    assert second.status_code == 202 and body_of(second) == {"status": "sent"}
    assert len(codes_sent(phone)) == 1
    assert len(moto_sms(phone)) == 1
    move_clock(29)
    start_registration(client, phone)
    assert len(codes_sent(phone)) == 1
    move_clock(2)  # 61 s after the first
    assert start_registration(client, phone).status_code == 202
    assert len(codes_sent(phone)) == 2
    assert len(moto_sms(phone)) == 2


def test_a_new_code_replaces_the_old_one(client, frozen_clock, distinct_codes):
    phone = new_phone()
    start_registration(client, phone)
    old = codes_sent(phone)[0]
    move_clock(61)
    start_registration(client, phone)
    new = codes_sent(phone)[0]
    assert old != new
    assert_error(register(client, phone=phone, code=old, email="a@example.com"), 422, "invalid_code")
    assert register(client, phone=phone, code=new, email="b@example.com").status_code == 201


def test_ten_sign_up_codes_an_hour_then_nothing(client, frozen_clock):
    phone = new_phone()
    first_sent = clock.now()
    for _ in range(10):
        assert start_registration(client, phone).status_code == 202
        move_clock(61)
    assert len(codes_sent(phone)) == 10
    response = start_registration(client, phone)
    assert response.status_code == 202 and body_of(response) == {"status": "sent"}
    assert len(codes_sent(phone)) == 10
    assert len(moto_sms(phone)) == 10
    # an hour after the first, there is room again
    clock.set_test_clock(first_sent + timedelta(hours=1, seconds=1))
    start_registration(client, phone)
    assert len(codes_sent(phone)) == 11


def test_limits_are_per_number(client, frozen_clock):
    phone, other = new_phone(), new_phone()
    start_registration(client, phone)
    start_registration(client, phone)
    start_registration(client, other)
    assert len(codes_sent(phone)) == 1 and len(codes_sent(other)) == 1


def test_every_spelling_of_a_number_shares_its_limit(client):
    start_registration(client, "+8613800138000")
    start_registration(client, "13800138000")
    start_registration(client, "138 0013 8000")
    assert len(codes_sent("+8613800138000")) == 1


def test_already_registered_notices_are_capped_quietly(client, user):
    before = len(messages(user["phone"]))
    for _ in range(6):
        assert start_registration(client, user["phone"]).status_code == 202
    notices = len(messages(user["phone"])) - before
    assert 1 <= notices <= 3


def _with_settings(monkeypatch, modules, **changes) -> None:
    """Settings with `changes` as `modules` read them (the test client resets the environment per request)."""
    import dataclasses

    from chalicelib.adapters.config import get_settings

    def changed():
        return dataclasses.replace(get_settings(), **changes)

    for module in modules:
        monkeypatch.setattr(module, "get_settings", changed)


def test_sms_to_other_configured_country_codes(client, monkeypatch):
    from chalicelib.adapters import notify

    us = "+14155552671"
    assert_error(start_registration(client, us), 400, "validation_error", field="phone")
    _with_settings(monkeypatch, [notify], sms_country_codes=("86", "852", "853", "886", "1"))  # notify.can_text
    assert start_registration(client, us).status_code == 202
    assert codes_sent(us) and moto_sms(us)


# --- codes on routes that answer 429 ----------------------------------------------------------


def test_the_same_sign_in_code_twice_within_a_minute_is_429(client, user, frozen_clock):
    _mfa_by_sms(client, user)
    token = _mfa_token(client, user)
    assert _send_sms_code(client, token).status_code == 202
    move_clock(20)
    response = _send_sms_code(client, token)
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 40
    move_clock(41)
    assert _send_sms_code(client, token).status_code == 202


def test_codes_for_different_objects_need_no_gap_but_count_per_hour(client, user, frozen_clock):
    _mfa_by_sms(client, user)
    sign_up_code = 1  # the code that proved the phone at registration, an hour ago
    move_clock(timedelta(hours=1, seconds=1))
    sent = 0
    for index in range(10):
        token = _mfa_token(client, user, device_id=f"device-{index}")
        assert _send_sms_code(client, token).status_code == 202, index
        sent += 1
    assert len(codes_sent(user["phone"])) == sign_up_code + sent
    token = _mfa_token(client, user)
    response = _send_sms_code(client, token)
    error = assert_error(response, 429, "rate_limited")
    assert 3500 <= int(response.headers["Retry-After"]) <= 3600, (response.headers, error)
    assert len(codes_sent(user["phone"])) == 11
    move_clock(timedelta(hours=1))
    assert _send_sms_code(client, _mfa_token(client, user)).status_code == 202


def test_notices_do_not_count(client, user, frozen_clock):
    _mfa_by_sms(client, user)
    move_clock(timedelta(hours=1, seconds=1))
    for _ in range(3):  # "already registered" notices
        start_registration(client, user["phone"])
    for index in range(10):
        token = _mfa_token(client, user, device_id=f"new-device-{index}")
        assert _send_sms_code(client, token).status_code == 202, index


def test_sign_up_codes_and_other_codes_share_the_hour(client, frozen_clock):
    user = register_user(client)  # one code: the sign-up one
    _mfa_by_sms(client, user)
    for index in range(9):
        token = _mfa_token(client, user, device_id=f"device-{index}")
        assert _send_sms_code(client, token).status_code == 202, index
    assert_error(_send_sms_code(client, _mfa_token(client, user)), 429, "rate_limited")


def test_forgot_password_is_quiet_too(client, user, frozen_clock):
    forgot = {"login": user["phone"]}
    first = post_json(client, "/auth/password/forgot", forgot)
    second = post_json(client, "/auth/password/forgot", forgot)
    assert first.status_code == second.status_code == 202
    assert body_of(first) == body_of(second) == {"status": "sent"}
    assert len(codes_sent(user["phone"])) == 2  # the sign-up code and one reset code


# --- per client IP (configuration) ------------------------------------------------------------


@pytest.fixture
def per_ip_limits(monkeypatch):
    _with_settings(monkeypatch, [identity], per_ip_limits=True)
    monkeypatch.setattr(identity, "IP_LIMIT", 3)
    # the start of a fixed window, so the test cannot straddle two
    window = int(identity.IP_WINDOW.total_seconds())
    start = (int(clock.real_now().timestamp()) // window + 1) * window
    clock.set_test_clock(datetime.fromtimestamp(start + 1, tz=UTC))


def test_per_ip_limits_are_off_in_the_local_stage(client, user, monkeypatch):
    monkeypatch.setattr(identity, "IP_LIMIT", 3)
    for _ in range(5):
        login_tokens(client, user["phone"])


def test_per_ip_limit_answers_429_with_retry_after(client, user, per_ip_limits):
    for _ in range(3):
        assert login(client, user["phone"]).status_code == 200
    response = login(client, user["phone"])
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 600
    move_clock(identity.IP_WINDOW)
    assert login(client, user["phone"]).status_code == 200
