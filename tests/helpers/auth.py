"""Registering and signing in over HTTP: the /auth endpoints, /me, and a fresh account in one call."""

from __future__ import annotations

from typing import Any

from tests.helpers.codes import last_code
from tests.helpers.http import auth, body_of, post_json
from tests.helpers.users import PASSWORD, new_email, new_phone


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

        tokens = register_user(client)                    # a fresh account, email verified
        tokens["phone"], tokens["email"], tokens["password"]  # what it was registered with
        login(client, tokens["phone"], tokens["password"])    # the raw response
        client.get("/me", headers=auth(tokens["access_token"]))
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
