"""Shared fixtures and helpers for the identity tests (registration, login, sessions, MFA, reset).

Everything goes through HTTP on the `client` fixture (chalice.test.Client, local stage, moto);
codes are read from the local outbox, exactly as a tester would with `GET /_local/outbox`.

    tokens = register_user(client)                    # a fresh account, email verified
    tokens["phone"], tokens["email"], tokens["password"]  # what it was registered with
    login(client, tokens["phone"], tokens["password"])    # the raw response
    client.get("/me", headers=auth(tokens["access_token"]))
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters import clock, outbox
from tests.api.helpers import body_of, post_json

# A password that passes the policy (zxcvbn ≥ 3, not common, no email/phone parts).
PASSWORD = "Plum-Orbit-Canvas-93!"
OTHER_PASSWORD = "Quartz-Meadow-Lantern-57?"

REGION = "ap-southeast-1"
_numbers = itertools.count(1)
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def new_phone() -> str:
    """A fresh, valid mainland mobile number in E.164, unique within the test run."""
    return f"+86139{next(_numbers):08d}"


def new_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_numbers)}@example.com"


def auth(token: str) -> dict[str, str]:
    """The Authorization header for an access token."""
    return {"Authorization": f"Bearer {token}"}


def messages(to: str, channel: str | None = None) -> list[outbox.OutboxMessage]:
    """Messages sent to `to` (E.164 phone or email), newest first."""
    return [m for m in outbox.messages(to) if channel is None or m.channel == channel]


def codes_sent(to: str) -> list[str]:
    """Every 6-digit code sent to `to`, newest first (notices carry none)."""
    found = []
    for message in outbox.messages(to):
        match = _CODE.search(message.body)
        if match and ("code" in message.body.lower() or "验证码" in message.body):
            found.append(match.group(1))
    return found


def last_code(to: str) -> str:
    """The newest code sent to `to`; fails the test when none was sent."""
    found = codes_sent(to)
    assert found, f"no code sent to {to}: {[m.body for m in outbox.messages(to)]}"
    return found[0]


def moto_sms(phone: str) -> list[str]:
    """Bodies of the SMS moto's SNS recorded for `phone` (in sending order)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return [body for number, body in sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values() if number == phone]


def moto_emails(address: str) -> list[Any]:
    """The emails moto's SES recorded for `address` (in sending order): .subject, .body."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [
        message
        for message in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
        if address in message.destinations.get("ToAddresses", [])
    ]


def move_clock(by: timedelta | float) -> datetime:
    """Move the test clock forward (seconds or a timedelta) from wherever it is now; returns the new now."""
    delta = by if isinstance(by, timedelta) else timedelta(seconds=by)
    moment = clock.now() + delta
    clock.set_test_clock(moment)
    return moment


def start_registration(client: Any, phone: str, headers: dict[str, str] | None = None) -> Any:
    return post_json(client, "/auth/register/start", {"phone": phone}, headers)


def register(
    client: Any,
    *,
    phone: str,
    code: str,
    email: str,
    password: str = PASSWORD,
    display_name: str = "Test User",
    headers: dict[str, str] | None = None,
) -> Any:
    """POST /auth/register; the raw response."""
    payload = {"phone": phone, "code": code, "email": email, "password": password, "display_name": display_name}
    return post_json(client, "/auth/register", payload, headers)


def confirm_email(client: Any, access_token: str, email: str) -> None:
    """Verify the account's email with the newest code sent to it."""
    response = post_json(
        client, "/me/contacts/verify", {"channel": "email", "code": last_code(email)}, auth(access_token)
    )
    assert response.status_code == 200, (response.status_code, response.body)


def register_user(
    client: Any,
    phone: str | None = None,
    email: str | None = None,
    *,
    password: str = PASSWORD,
    display_name: str = "Test User",
    verify_email: bool = True,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Register a fresh account over HTTP; the 201 body plus phone, email, password (and device_id None).

    With verify_email=True (default) the email code is used, so the email can sign in.
    """
    phone = phone or new_phone()
    email = email or new_email()
    response = start_registration(client, phone, headers)
    assert response.status_code == 202, (response.status_code, response.body)
    response = register(
        client,
        phone=phone,
        code=last_code(phone),
        email=email,
        password=password,
        display_name=display_name,
        headers=headers,
    )
    assert response.status_code == 201, (response.status_code, response.body)
    tokens = body_of(response)
    if verify_email:
        confirm_email(client, tokens["access_token"], email)
    return {**tokens, "phone": phone, "email": email, "password": password}


def login(
    client: Any,
    login_id: str,
    password: str = PASSWORD,
    *,
    device_id: str | None = "device-1",
    device_name: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST /auth/login; the raw response. device_id=None leaves it out of the body."""
    payload: dict[str, Any] = {"login": login_id, "password": password}
    if device_id is not None:
        payload["device_id"] = device_id
    if device_name is not None:
        payload["device_name"] = device_name
    return post_json(client, "/auth/login", payload, headers)


def login_tokens(client: Any, login_id: str, password: str = PASSWORD, **kwargs: Any) -> dict[str, Any]:
    """Log in and return the 200 token body (fails on anything else, including mfa_required)."""
    response = login(client, login_id, password, **kwargs)
    assert response.status_code == 200, (response.status_code, response.body)
    body = body_of(response)
    assert "access_token" in body, body
    return body


def refresh(client: Any, refresh_token: str) -> Any:
    return post_json(client, "/auth/token/refresh", {"refresh_token": refresh_token})


def me(client: Any, access_token: str) -> Any:
    return client.get("/me", headers=auth(access_token))


def run_together(*calls: Any) -> list[Any]:
    """Run the callables in threads released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def runner(index: int, call: Any) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=runner, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def user(client):
    """A registered account with a verified email: the register_user() dict."""
    return register_user(client)


@pytest.fixture
def distinct_codes(monkeypatch):
    """One-time codes that never repeat within a test, so "the old code no longer works" is always
    checked (two random codes are equal once in a million runs)."""
    from chalicelib.services import one_time_codes

    sequence = itertools.count(123_457)
    monkeypatch.setattr(one_time_codes, "new_code", lambda: f"{next(sequence) % 10**6:06d}")


@pytest.fixture
def frozen_clock(monkeypatch):
    """The app's clock stands still at now; only move_clock(seconds) moves it.

    A test clock that ran on would let a one-second lock window run out on a busy machine.
    (TOTP follows real time, as the contract says, and is not affected.)
    """
    state = {"now": clock.now()}
    monkeypatch.setattr(clock, "now", lambda: state["now"])
    monkeypatch.setattr(clock, "set_test_clock", lambda moment: state.update(now=moment.astimezone(clock.UTC)))
    return state["now"]


def parsed(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]
