"""/auth/*: registration, sign-in, second factor, refresh, sign-out, password reset."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from chalice import Blueprint
from pydantic import Field, StringConstraints

from chalicelib.adapters import clock
from chalicelib.adapters.config import get_settings
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.api.schemas import RequestBody, ResponseBody
from chalicelib.services import login, password_reset, rate_limits, registration, sessions

bp = Blueprint(__name__)

Code6 = Annotated[str, StringConstraints(min_length=1, max_length=32), Field(description="The code received.")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=320)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
DeviceId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]

# Per client IP, on in deployed stages (configuration): sign-in and sign-up attempts.
IP_LIMIT, IP_WINDOW = 60, timedelta(minutes=10)


class Accepted(ResponseBody):
    status: Literal["sent"]


class Tokens(ResponseBody):
    user_id: str
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds the access token is valid (≤ 900).")
    session_id: str


class TokensOrMfa(ResponseBody):
    user_id: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    token_type: Literal["Bearer"] | None = None
    expires_in: int | None = None
    session_id: str | None = None
    mfa_required: bool | None = None
    mfa_token: str | None = None
    mfa_methods: list[Literal["totp", "sms", "email", "recovery_code"]] | None = None


class RegisterStart(RequestBody):
    phone: Text


class Register(RequestBody):
    phone: Text
    code: Code6
    email: Text
    password: Password
    display_name: DisplayName


class Login(RequestBody):
    login: Text = Field(description="Phone number or verified email.")
    password: Password
    device_id: DeviceId = Field(description="The app install's id; a new one triggers a sign-in notice.")
    device_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None = None


class MfaSend(RequestBody):
    mfa_token: Text
    method: Literal["sms", "email"]


class MfaVerify(RequestBody):
    mfa_token: Text
    method: Literal["totp", "sms", "email", "recovery_code"]
    code: Code6


class Refresh(RequestBody):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class Forgot(RequestBody):
    login: Text


class SecondFactor(RequestBody):
    method: Literal["totp", "recovery_code"]
    code: Code6


class Reset(RequestBody):
    login: Text
    code: Code6
    new_password: Password
    second_factor: SecondFactor | None = None


def _limit_ip(call: Call) -> None:
    if get_settings().per_ip_limits and call.source_ip:
        rate_limits.hit(f"ip#{call.source_ip}#auth", limit=IP_LIMIT, window=IP_WINDOW, now=clock.now())


@operation(
    bp,
    "POST",
    "/auth/register/start",
    summary="Text a sign-up code to a phone",
    tag="identity",
    body=RegisterStart,
    response=Accepted,
    status=202,
    description="Always 202: a number that already has an account gets a notice, never a code; limits apply quietly.",
)
def register_start(call: Call) -> Reply:
    registration.start(call.body.phone, locale=call.scope.accept_locale or "en", now=clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    bp,
    "POST",
    "/auth/register",
    summary="Create an account with the phone's code",
    tag="identity",
    body=Register,
    response=Tokens,
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
    bp,
    "POST",
    "/auth/login",
    summary="Sign in by phone or verified email",
    tag="identity",
    body=Login,
    response=TokensOrMfa,
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
    bp,
    "POST",
    "/auth/mfa/send",
    summary="Send a sign-in code by SMS or email",
    tag="identity",
    body=MfaSend,
    response=Accepted,
    status=202,
    errors=("invalid_code", "rate_limited"),
)
def mfa_send(call: Call) -> Reply:
    login.send_mfa_code(call.body.mfa_token, call.body.method, clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    bp,
    "POST",
    "/auth/mfa/verify",
    summary="Finish signing in with the second factor",
    tag="identity",
    body=MfaVerify,
    response=Tokens,
    errors=("invalid_code", "account_locked", "rate_limited"),
)
def mfa_verify(call: Call) -> dict:
    _limit_ip(call)
    return login.verify_mfa(call.body.mfa_token, call.body.method, call.body.code, clock.now()).as_reply()


@operation(
    bp,
    "POST",
    "/auth/token/refresh",
    summary="Swap a refresh token for a new pair",
    tag="identity",
    body=Refresh,
    response=Tokens,
    errors=("invalid_refresh_token", "token_reused"),
)
def refresh_tokens(call: Call) -> dict:
    return sessions.refresh(call.body.refresh_token, clock.now()).as_reply()


@operation(bp, "POST", "/auth/logout", summary="Sign out of this session", tag="identity", auth="user", status=204)
def logout(call: Call) -> Reply:
    sessions.revoke(call.user.session_id, call.user.user_id, reason="logout")
    return Reply(None, 204)


@operation(
    bp,
    "POST",
    "/auth/password/forgot",
    summary="Send a password reset code",
    tag="identity",
    body=Forgot,
    response=Accepted,
    status=202,
    description="Always 202, sent or not, in about the same time.",
)
def forgot_password(call: Call) -> Reply:
    password_reset.forgot(call.body.login, locale=call.scope.locale, now=clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    bp,
    "POST",
    "/auth/password/reset",
    summary="Set a new password with the reset code",
    tag="identity",
    body=Reset,
    status=204,
    errors=("weak_password", "invalid_code", "mfa_required", "account_locked", "rate_limited"),
)
def reset_password(call: Call) -> Reply:
    _limit_ip(call)
    body = call.body
    second = (body.second_factor.method, body.second_factor.code) if body.second_factor else None
    password_reset.reset(body.login, body.code, body.new_password, second_factor=second, now=clock.now())
    return Reply(None, 204)
