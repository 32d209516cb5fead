"""/auth/*: registration, sign-in, second factor, refresh, sign-out, password reset."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters import clock
from chalicelib.adapters.config import get_settings
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.common import rate_limits
from chalicelib.services.identity import login, password_reset, registration, sessions

# Per client IP, on in deployed stages (configuration): sign-in and sign-up attempts.
IP_LIMIT, IP_WINDOW = 60, timedelta(minutes=10)


def _limit_ip(call: Call) -> None:
    if get_settings().per_ip_limits and call.source_ip:
        rate_limits.hit(f"ip#{call.source_ip}#auth", limit=IP_LIMIT, window=IP_WINDOW, now=clock.now())


@operation(
    "POST",
    "/auth/register/start",
    schemas="identity",
    summary="Text a sign-up code to a phone",
    tag="identity",
    body="RegisterStart",
    response="Accepted",
    status=202,
    description="Always 202: a number that already has an account gets a notice, never a code; limits apply quietly.",
)
def register_start(call: Call) -> Reply:
    registration.start(call.body.phone, locale=call.scope.accept_locale or "en", now=clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    "POST",
    "/auth/register",
    schemas="identity",
    summary="Create an account with the phone's code",
    tag="identity",
    body="Register",
    response="Tokens",
    status=201,
    errors=("weak_password", "invalid_code", "email_in_use", "phone_in_use", "rate_limited"),
)
def register(call: Call) -> Reply:
    _limit_ip(call)
    body = call.body
    account = registration.NewAccount(body.phone, body.code, body.email, body.password, body.display_name)
    pair = registration.register(account, locale=call.scope.accept_locale or "en", now=clock.now())
    return Reply(pair.as_reply(), 201)


@operation(
    "POST",
    "/auth/login",
    schemas="identity",
    summary="Sign in by phone or verified email",
    tag="identity",
    body="Login",
    response="TokensOrMfa",
    errors=("invalid_credentials", "account_locked", "rate_limited"),
)
def sign_in(call: Call) -> dict:
    _limit_ip(call)
    body = call.body
    result = login.login(
        body.login, body.password, device_id=body.device_id, device_name=body.device_name, now=clock.now()
    )
    return result.as_reply()


@operation(
    "POST",
    "/auth/mfa/send",
    schemas="identity",
    summary="Send a sign-in code by SMS or email",
    tag="identity",
    body="MfaSend",
    response="Accepted",
    status=202,
    errors=("invalid_code", "rate_limited"),
)
def mfa_send(call: Call) -> Reply:
    login.send_mfa_code(call.body.mfa_token, call.body.method, clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    "POST",
    "/auth/mfa/verify",
    schemas="identity",
    summary="Finish signing in with the second factor",
    tag="identity",
    body="MfaVerify",
    response="Tokens",
    errors=("invalid_code", "account_locked", "rate_limited"),
)
def mfa_verify(call: Call) -> dict:
    _limit_ip(call)
    return login.verify_mfa(call.body.mfa_token, call.body.method, call.body.code, clock.now()).as_reply()


@operation(
    "POST",
    "/auth/token/refresh",
    schemas="identity",
    summary="Swap a refresh token for a new pair",
    tag="identity",
    body="Refresh",
    response="Tokens",
    errors=("invalid_refresh_token", "token_reused"),
)
def refresh_tokens(call: Call) -> dict:
    return sessions.refresh(call.body.refresh_token, clock.now()).as_reply()


@operation(
    "POST",
    "/auth/logout",
    schemas="identity",
    summary="Sign out of this session",
    tag="identity",
    auth="user",
    status=204,
)
def logout(call: Call) -> Reply:
    sessions.revoke(call.user.session_id, call.user.user_id, reason="logout")
    return Reply(None, 204)


@operation(
    "POST",
    "/auth/password/forgot",
    schemas="identity",
    summary="Send a password reset code",
    tag="identity",
    body="Forgot",
    response="Accepted",
    status=202,
    description="Always 202, sent or not, in about the same time.",
)
def forgot_password(call: Call) -> Reply:
    password_reset.forgot(call.body.login, locale=call.scope.locale, now=clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    "POST",
    "/auth/password/reset",
    schemas="identity",
    summary="Set a new password with the reset code",
    tag="identity",
    body="Reset",
    status=204,
    errors=("weak_password", "invalid_code", "mfa_required", "account_locked", "rate_limited"),
)
def reset_password(call: Call) -> Reply:
    _limit_ip(call)
    body = call.body
    second = (body.second_factor.method, body.second_factor.code) if body.second_factor else None
    password_reset.reset(body.login, body.code, body.new_password, second_factor=second, now=clock.now())
    return Reply(None, 204)
