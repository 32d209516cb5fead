"""Auth events are logged with user id and request id; no log line holds a password, code, token or secret."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.helpers.auth import confirm_email, login, login_tokens, refresh, register, start_registration
from tests.helpers.clock import move_clock
from tests.helpers.codes import codes_sent, last_code
from tests.helpers.http import assert_error, auth, body_of, post_json
from tests.helpers.mfa import enable_totp, mfa_challenge, mfa_verify, steady_step, totp_code, wrong
from tests.helpers.users import OTHER_PASSWORD, PASSWORD, new_email, new_phone

NEW_PASSWORD = "Saffron-Harbor-Telescope-41%"
WRONG_PASSWORD = "Wrong-Horse-Battery-88!"


class Journal:
    """Remembers every secret the test handles and the request id of every call."""

    def __init__(self) -> None:
        self.secrets: set[str] = {PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, OTHER_PASSWORD}

    def keep(self, *values: str) -> None:
        for value in values:
            if value:
                self.secrets.add(value)
                if "." in value and value.startswith("ses_"):  # a refresh token's secret part
                    self.secrets.add(value.split(".", 1)[1])

    def keep_tokens(self, body: dict) -> dict:
        self.keep(body.get("access_token"), body.get("refresh_token"), body.get("mfa_token"))
        return body


def _events(lines: list[str]) -> list[dict]:
    return [record for record in map(json.loads, lines) if record.get("event")]


def _event(lines: list[str], name: str, response) -> dict:
    """The one `name` event logged while answering `response`."""
    request_id = response.headers["X-Request-Id"]
    found = [e for e in _events(lines) if e["event"] == name and e.get("request_id") == request_id]
    assert len(found) == 1, (name, request_id, _events(lines))
    return found[0]


def test_auth_events_are_logged_without_secrets(client, log_lines):
    journal = Journal()
    phone, email = new_phone(), new_email()

    # sign-up: the phone code, the email code
    start_registration(client, phone)
    sign_up_code = last_code(phone)
    response = register(client, phone=phone, code=wrong(sign_up_code), email=email)
    assert_error(response, 422, "invalid_code")
    response = register(client, phone=phone, code=sign_up_code, email=email)
    user = journal.keep_tokens(body_of(response))
    user_id = user["user_id"]
    assert _event(log_lines(), "register", response)["user_id"] == user_id
    email_code = last_code(email)
    confirm_email(client, user["access_token"], email)
    journal.keep(sign_up_code, wrong(sign_up_code), email_code)

    # login: a failure (known and unknown), a success
    response = login(client, phone, WRONG_PASSWORD)
    assert _event(log_lines(), "login_failed", response)["user_id"] == user_id
    response = login(client, new_phone(), WRONG_PASSWORD)
    assert _event(log_lines(), "login_failed", response)
    response = login(client, email, device_id="laptop")
    tokens = journal.keep_tokens(body_of(response))
    logged = _event(log_lines(), "login", response)
    assert logged["user_id"] == user_id and logged["session_id"] == tokens["session_id"]

    # refresh, and reuse of an old refresh token
    response = refresh(client, tokens["refresh_token"])
    rotated = journal.keep_tokens(body_of(response))
    assert _event(log_lines(), "token_refreshed", response)["user_id"] == user_id
    journal.keep_tokens(body_of(refresh(client, rotated["refresh_token"])))
    response = refresh(client, tokens["refresh_token"])
    assert_error(response, 401, "token_reused")
    assert _event(log_lines(), "token_reused", response)["user_id"] == user_id
    assert _event(log_lines(), "session_revoked", response)["user_id"] == user_id

    # MFA: the TOTP secret, recovery codes, a wrong and a right TOTP code
    user_tokens = journal.keep_tokens(login_tokens(client, phone))
    totp = enable_totp(client, user_tokens)
    journal.keep(totp["secret"], *totp["recovery_codes"])
    journal.keep(totp_code(totp["secret"], totp["step"] - 1))
    challenge = journal.keep_tokens(mfa_challenge(client, phone, device_id="tablet"))
    step = steady_step()
    right = totp_code(totp["secret"], step)
    journal.keep(right, wrong(right))
    response = mfa_verify(client, challenge["mfa_token"], "totp", wrong(right))
    assert_error(response, 422, "invalid_code")
    assert _event(log_lines(), "mfa_failed", response)["user_id"] == user_id
    response = mfa_verify(client, challenge["mfa_token"], "totp", right)
    mfa_tokens = journal.keep_tokens(body_of(response))
    assert _event(log_lines(), "mfa_passed", response)["user_id"] == user_id
    assert _event(log_lines(), "login", response)["user_id"] == user_id

    # revoking one session, logging out
    response = client.delete(f"/me/sessions/{user_tokens['session_id']}", headers=auth(mfa_tokens["access_token"]))
    assert response.status_code == 204
    assert _event(log_lines(), "session_revoked", response)["user_id"] == user_id
    response = client.post("/auth/logout", headers=auth(mfa_tokens["access_token"]))
    assert response.status_code == 204
    logged = _event(log_lines(), "session_revoked", response)
    assert logged["user_id"] == user_id and logged["reason"] == "logout"

    # password reset: a wrong code, then the right one with a recovery code
    response = post_json(client, "/auth/password/forgot", {"login": phone})
    assert _event(log_lines(), "reset_requested", response)["user_id"] == user_id
    reset_code = codes_sent(phone)[0]
    journal.keep(reset_code, wrong(reset_code))
    reset = {"login": phone, "code": wrong(reset_code), "new_password": NEW_PASSWORD}
    response = post_json(client, "/auth/password/reset", reset)
    assert_error(response, 422, "invalid_code")
    assert _event(log_lines(), "reset_failed", response)["user_id"] == user_id
    reset["code"] = reset_code
    reset["second_factor"] = {"method": "recovery_code", "code": totp["recovery_codes"][0]}
    response = post_json(client, "/auth/password/reset", reset)
    assert response.status_code == 204, response.body
    assert _event(log_lines(), "password_reset", response)["user_id"] == user_id

    # every event line carries the user and the request; no line carries a secret
    lines = log_lines()
    for record in _events(lines):
        assert record.get("request_id"), record
        if record["event"] != "login_failed":  # an unknown login has no user
            assert record.get("user_id"), record
    leaks = [(secret, line) for line in lines for secret in journal.secrets if secret in line]
    assert not leaks, leaks[:3]
    assert len(journal.secrets) > 20


def test_every_request_line_carries_its_request_id(client, log_lines):
    response = login(client, new_phone(), WRONG_PASSWORD)
    request_id = response.headers["X-Request-Id"]
    mine = [json.loads(line) for line in log_lines() if request_id in line]
    assert {record["message"] for record in mine} >= {"login failed", "request"}
    request_line = next(record for record in mine if record["message"] == "request")
    assert request_line["status_code"] == 401 and request_line["error_code"] == "invalid_credentials"


def test_lockout_and_rate_limits_leave_no_secret(client, log_lines, frozen_clock):
    phone = new_phone()
    for _ in range(6):
        login(client, phone, WRONG_PASSWORD)
    start_registration(client, phone)
    start_registration(client, phone)
    move_clock(timedelta(seconds=61))
    start_registration(client, phone)
    text = "\n".join(log_lines())
    assert WRONG_PASSWORD not in text
    for code in codes_sent(phone):
        assert code not in text
