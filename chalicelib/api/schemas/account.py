"""Request and response models of the account routes (chalicelib/api/account/me.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from chalicelib.api.schemas.common import Locale, Page, RequestBody, ResponseBody
from chalicelib.api.schemas.identity import Code6, DisplayName, Password, Text


class Kyc(ResponseBody):
    status: Literal["unverified", "pending", "approved", "rejected", "needs_documents"]
    level: int


class MfaState(ResponseBody):
    totp: bool
    sms: bool
    email: bool


class Profile(ResponseBody):
    user_id: str
    email: str | None
    phone: str | None
    display_name: str | None
    locale: Locale
    email_verified: bool
    phone_verified: bool
    kyc: Kyc
    mfa: MfaState
    password_changed_at: str | None
    password_change_recommended: bool
    role: Literal["user", "agent"]
    created_at: str


class ProfileChange(RequestBody):
    display_name: DisplayName | None = None
    locale: Locale | None = None


class ContactVerify(RequestBody):
    channel: Literal["email", "phone"]
    code: Code6


class ContactResend(RequestBody):
    channel: Literal["email", "phone"]


class ContactChange(RequestBody):
    channel: Literal["email", "phone"]
    value: Text
    password: Password


class PasswordChange(RequestBody):
    current_password: Password
    new_password: Password


class SessionItem(ResponseBody):
    session_id: str
    device_name: str | None
    created_at: str
    last_used_at: str
    current: bool


class SessionPage(Page):
    data: list[SessionItem]


class PasswordOnly(RequestBody):
    password: Password


class TotpDisable(RequestBody):
    password: Password
    code: Code6


class CodeOnly(RequestBody):
    code: Code6


class MfaChange(RequestBody):
    password: Password
    sms: bool | None = None
    email: bool | None = None


class TotpEnrolment(ResponseBody):
    secret: str = Field(description="Base32 secret to type into an authenticator app.")
    otpauth_uri: str = Field(description="The same as an otpauth:// URI, for a QR code.")


class RecoveryCodesShown(ResponseBody):
    recovery_codes: Annotated[list[str], Field(min_length=10, max_length=10)]


class NewRecoveryCodes(ResponseBody):
    codes: Annotated[list[str], Field(min_length=10, max_length=10)]


class Accepted(ResponseBody):
    status: Literal["sent"]


class Verified(ResponseBody):
    channel: Literal["email", "phone"]
    value: str
    verified: bool
