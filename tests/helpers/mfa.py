"""Second factors in tests: TOTP codes for explicit time steps, MFA settings and challenges, password reset."""

from __future__ import annotations

import time
from typing import Any

import pyotp

from tests.helpers.auth import login
from tests.helpers.codes import last_code
from tests.helpers.http import auth, body_of, post_json, put_json
from tests.helpers.users import PASSWORD

# TOTP follows real time, not the test clock, so codes are made for explicit time steps: a test
# takes `steady_step()` (the current 30 s step, after waiting out the last seconds of a step so the
# server still sees the same step) and asks for codes of `step - 1`, `step`, `step + 1`.
STEP = 30


def steady_step(margin: float = 3.0) -> int:
    """The current TOTP step, with at least `margin` seconds of it left (waits for the next one if not)."""
    now = time.time()
    left = STEP - (now % STEP)
    if left < margin:
        time.sleep(left + 0.05)
    return int(time.time() // STEP)


def totp_code(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).at(step * STEP)


def wrong(code: str) -> str:
    """A 6-digit code that is not `code`."""
    return f"{(int(code) + 1) % 10**6:06d}"


def begin_totp(client: Any, user: dict, password: str = PASSWORD) -> Any:
    return post_json(client, "/me/mfa/totp", {"password": password}, auth(user["access_token"]))


def activate_totp(client: Any, user: dict, code: str) -> Any:
    return post_json(client, "/me/mfa/totp/activate", {"code": code}, auth(user["access_token"]))


def enable_totp(client: Any, user: dict) -> dict:
    """Turn TOTP on with the code of step S-1; S and S+1 stay free for the test.

    Returns {"secret", "recovery_codes", "step": S}.
    """
    response = begin_totp(client, user)
    assert response.status_code == 200, (response.status_code, response.body)
    secret = body_of(response)["secret"]
    step = steady_step()
    response = activate_totp(client, user, totp_code(secret, step - 1))
    assert response.status_code == 200, (response.status_code, response.body)
    return {"secret": secret, "recovery_codes": body_of(response)["recovery_codes"], "step": step}


def set_mfa(client: Any, user: dict, password: str = PASSWORD, **flags: bool) -> Any:
    return put_json(client, "/me/mfa", {"password": password, **flags}, auth(user["access_token"]))


def mfa_challenge(client: Any, login_id: str, password: str = PASSWORD, **kwargs: Any) -> dict:
    """Log in to an account with a second factor; the 200 `mfa_required` body."""
    response = login(client, login_id, password, **kwargs)
    assert response.status_code == 200, (response.status_code, response.body)
    body = body_of(response)
    assert body.get("mfa_required") is True, body
    return body


def mfa_send(client: Any, mfa_token: str, method: str) -> Any:
    return post_json(client, "/auth/mfa/send", {"mfa_token": mfa_token, "method": method})


def mfa_verify(client: Any, mfa_token: str, method: str, code: str) -> Any:
    return post_json(client, "/auth/mfa/verify", {"mfa_token": mfa_token, "method": method, "code": code})


def sent_mfa_code(client: Any, mfa_token: str, method: str, to: str) -> str:
    response = mfa_send(client, mfa_token, method)
    assert response.status_code == 202, (response.status_code, response.body)
    return last_code(to)


def forgot(client: Any, login_id: str, headers: dict[str, str] | None = None) -> Any:
    return post_json(client, "/auth/password/forgot", {"login": login_id}, headers)


def reset(
    client: Any, login_id: str, code: str, new_password: str, second_factor: dict | None = None, **extra: Any
) -> Any:
    payload: dict[str, Any] = {"login": login_id, "code": code, "new_password": new_password, **extra}
    if second_factor is not None:
        payload["second_factor"] = second_factor
    return post_json(client, "/auth/password/reset", payload)


# The last TOTP step each secret was used for in this process: a code works once, so a test that
# signs the same agent in twice needs the next step's code the second time.
_last_step: dict[str, int] = {}


def next_totp(secret: str) -> str:
    """A code the server has not seen for `secret`: the earliest step from now − 1 after the last used."""
    while True:
        current = steady_step()
        step = max(current - 1, _last_step.get(secret, current - 2) + 1)
        if step <= current + 1:
            _last_step[secret] = step
            return totp_code(secret, step)
        time.sleep(STEP / 2)  # three sign-ins within one step: wait for the window to move


def sign_in_with_totp(client: Any, login: str, password: str, secret: str, device_id: str = "console") -> dict:
    """Sign in as an agent does: password, then the MFA challenge answered with TOTP; the tokens."""
    response = post_json(client, "/auth/login", {"login": login, "password": password, "device_id": device_id})
    assert response.status_code == 200, response.body
    challenge = body_of(response)
    assert challenge.get("mfa_required") is True and "totp" in challenge["mfa_methods"], challenge
    body = {"mfa_token": challenge["mfa_token"], "method": "totp", "code": next_totp(secret)}
    response = post_json(client, "/auth/mfa/verify", body)
    assert response.status_code == 200, response.body
    return body_of(response)
