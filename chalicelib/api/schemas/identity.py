"""Request and response models of the identity routes (chalicelib/api/identity/auth.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.api.schemas.common import RequestBody, ResponseBody

Code6 = Annotated[str, StringConstraints(min_length=1, max_length=32), Field(description="The code received.")]


Text = Annotated[str, StringConstraints(min_length=1, max_length=320)]


Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


DeviceId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


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
