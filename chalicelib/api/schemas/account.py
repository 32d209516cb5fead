"""Request and response models of the account routes (chalicelib/api/account/me.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from chalicelib.api.schemas.common import Locale, Page, RequestBody, ResponseBody, Timestamp, examples, omittable
from chalicelib.api.schemas.identity import (
    EMAIL,
    NEW_PASSWORD,
    PASSWORD,
    PHONE,
    SESSION_ID,
    USER_ID,
    Code6,
    DisplayName,
    Password,
    Text,
)

# The same `{"status": "sent"}` as the identity routes': one schema in the document.
from chalicelib.api.schemas.identity import Accepted as Accepted

Channel = Literal["email", "phone"]

_MFA_STATE = {"totp": True, "sms": True, "email": False}
_PROFILE = {
    "user_id": USER_ID,
    "email": EMAIL,
    "phone": PHONE,
    "display_name": "张三",
    "locale": "zh-CN",
    "email_verified": True,
    "phone_verified": True,
    "kyc": {"status": "approved", "level": 2},
    "mfa": _MFA_STATE,
    "password_changed_at": "2026-03-02T21:14:09+08:00",
    "password_change_recommended": False,
    "role": "user",
    "status": "active",
    "created_at": "2025-12-18T10:05:42+08:00",
}
_RECOVERY_CODES = [
    "hpzw-s9vx",
    "764p-wwvh",
    "xyb6-5amm",
    "bx6x-nz4x",
    "jtjf-7g5b",
    "usb9-udfb",
    "gqsw-vk3d",
    "55s6-qzfm",
    "prrp-2r4k",
    "23tb-t3de",
]


# --- the profile -------------------------------------------------------------------------------------


class FreezeState(ResponseBody):
    """Why, since when and by whom the account is frozen (contract v1.2, sections 9 and 11)."""

    model_config = examples(
        {"reason": "lost_device", "at": "2026-11-26T09:02:45+08:00", "by": "user"},
        {"reason": "客户来电称手机丢失，要求冻结", "at": "2026-11-26T09:02:45+08:00", "by": "agent"},
    )

    reason: str | None = Field(
        description="`lost_device`, `suspected_fraud` or `other` when the user froze it; the agent's text when an "
        "agent did."
    )
    at: Timestamp | None = Field(description="When the freeze began.")
    by: Literal["user", "agent"] = Field(description="Who froze it.")


class Kyc(ResponseBody):
    model_config = examples({"status": "approved", "level": 2}, {"status": "unverified", "level": 0})

    status: Literal["unverified", "pending", "approved", "rejected", "needs_documents"]
    level: int = Field(ge=0, le=3, description="The verified level (0 before any approval); sets the limits.")


class MfaState(ResponseBody):
    model_config = examples(_MFA_STATE, {"totp": False, "sms": False, "email": False})

    totp: bool = Field(description="An authenticator app is on (its code is asked at sign-in).")
    sms: bool = Field(description="A code by SMS is offered at sign-in.")
    email: bool = Field(description="A code by email is offered at sign-in.")


class Profile(ResponseBody):
    model_config = examples(
        _PROFILE,
        {
            **_PROFILE,
            "user_id": "usr_0b7e4d2a9c1f4e8b8d3a6c5f2e1d0a97",
            "email": "li.si@example.com",
            "phone": "+85291234567",
            "display_name": "Li Si",
            "locale": "en",
            "email_verified": False,
            "kyc": {"status": "unverified", "level": 0},
            "mfa": {"totp": False, "sms": False, "email": False},
            "password_changed_at": "2026-11-24T09:30:00+08:00",
            "status": "frozen",
            "freeze": {"reason": "lost_device", "at": "2026-11-26T09:02:45+08:00", "by": "user"},
            "created_at": "2026-11-24T09:30:00+08:00",
        },
    )

    user_id: str = Field(description="`usr_` and 32 hex digits.")
    email: str | None = Field(description="The email on the account (see `email_verified`).")
    phone: str | None = Field(description="E.164; null for an account without a phone (agents).")
    display_name: str | None
    locale: Locale = Field(description="The language of emails and SMS; set at registration, changed by `PATCH /me`.")
    email_verified: bool
    phone_verified: bool
    kyc: Kyc
    mfa: MfaState
    password_changed_at: Timestamp | None
    password_change_recommended: bool = Field(description="The password is older than 180 days (never forced).")
    role: Literal["user", "agent"]
    status: Literal["active", "frozen"] = Field(
        description="`frozen`: no money leaves the account (withdrawals, transfers, payments, conversions), and "
        "new cards, contact and MFA changes wait, until the freeze is lifted; signing in, receiving money, "
        "top-ups, history and support still work."
    )
    freeze: FreezeState = omittable(description="Sent while `status` is `frozen`.")
    created_at: Timestamp


class ProfileChange(RequestBody):
    model_config = examples({"display_name": "张三", "locale": "zh-CN"}, {"locale": "en"})

    display_name: DisplayName | None = Field(default=None, description="1–64 characters after trimming.")
    locale: Locale | None = Field(default=None, description="The language of emails and SMS.")


# --- contacts ----------------------------------------------------------------------------------------


class ContactVerify(RequestBody):
    model_config = examples({"channel": "email", "code": "572048"})

    channel: Channel
    code: Code6 = Field(description="The 6-digit code sent to the contact being verified.")


class ContactResend(RequestBody):
    model_config = examples({"channel": "email"})

    channel: Channel


class ContactChange(RequestBody):
    model_config = examples(
        {"channel": "phone", "value": "+8613912345678", "password": PASSWORD},
        {"channel": "email", "value": "zhangsan@example.cn", "password": PASSWORD},
    )

    channel: Channel
    value: Text = Field(description="The new email, or the new phone (E.164; without `+` read as +86).")
    password: Password = Field(description="The current password (re-authentication).")


class Verified(ResponseBody):
    model_config = examples({"channel": "email", "value": EMAIL, "verified": True})

    channel: Channel
    value: str = Field(description="The contact now verified on the account (a new one replaces the old).")
    verified: bool = Field(description="Always true.")


# --- password and sessions -------------------------------------------------------------------------


class PasswordChange(RequestBody):
    model_config = examples({"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    current_password: Password
    new_password: Password = Field(description="The same rules as at registration.")


class SessionItem(ResponseBody):
    """A signed-in device; `last_used_at` is its sign-in or its last token refresh, whichever is later."""

    model_config = examples(
        {
            "session_id": SESSION_ID,
            "device_name": "iPhone 15 Pro",
            "created_at": "2026-11-24T09:30:00+08:00",
            "last_used_at": "2026-11-24T10:12:47+08:00",
            "current": True,
        }
    )

    session_id: str = Field(description="`ses_` and 32 hex digits.")
    device_name: str | None = Field(description="As given at sign-in; null when none was.")
    created_at: Timestamp
    last_used_at: Timestamp
    current: bool = Field(description="The session making this request.")


class SessionPage(Page):
    model_config = examples(
        {
            "data": [
                {
                    "session_id": SESSION_ID,
                    "device_name": "iPhone 15 Pro",
                    "created_at": "2026-11-24T09:30:00+08:00",
                    "last_used_at": "2026-11-24T10:12:47+08:00",
                    "current": True,
                },
                {
                    "session_id": "ses_fb19da73459949338b00022508bc09d5",
                    "device_name": None,
                    "created_at": "2026-11-02T20:41:05+08:00",
                    "last_used_at": "2026-11-20T08:03:36+08:00",
                    "current": False,
                },
            ],
            "next_cursor": None,
        }
    )

    data: list[SessionItem]


# --- second factors and closing ----------------------------------------------------------------------


class PasswordOnly(RequestBody):
    model_config = examples({"password": PASSWORD})

    password: Password = Field(description="The current password (re-authentication).")


class TotpDisable(RequestBody):
    model_config = examples({"password": PASSWORD, "code": "307561"})

    password: Password = Field(description="The current password (re-authentication).")
    code: Code6 = Field(description="A current TOTP code, or a recovery code.")


class CodeOnly(RequestBody):
    model_config = examples({"code": "307561"})

    code: Code6 = Field(description="The authenticator app's current 6-digit code.")


class MfaChange(RequestBody):
    model_config = examples({"password": PASSWORD, "sms": True, "email": False}, {"password": PASSWORD, "email": True})

    password: Password = Field(description="The current password (re-authentication).")
    sms: bool | None = Field(default=None, description="Offer a code by SMS at sign-in; absent: unchanged.")
    email: bool | None = Field(
        default=None, description="Offer a code by email at sign-in (needs a verified email); absent: unchanged."
    )


class TotpEnrolment(ResponseBody):
    model_config = examples(
        {
            "secret": "XHVO5PH2MBSEJLA4JMNI3NO3Q7MEBZN6",
            "otpauth_uri": (
                "otpauth://totp/Okpay:%2B8613800138000?secret=XHVO5PH2MBSEJLA4JMNI3NO3Q7MEBZN6&issuer=Okpay"
            ),
        }
    )

    secret: str = Field(description="Base32 secret to type into an authenticator app.")
    otpauth_uri: str = Field(description="The same as an otpauth:// URI, for a QR code.")


class RecoveryCodesShown(ResponseBody):
    model_config = examples({"recovery_codes": _RECOVERY_CODES})

    recovery_codes: Annotated[list[str], Field(min_length=10, max_length=10)] = Field(
        description="Shown once: each works once in place of a TOTP code."
    )


class NewRecoveryCodes(ResponseBody):
    model_config = examples({"codes": _RECOVERY_CODES})

    codes: Annotated[list[str], Field(min_length=10, max_length=10)] = Field(
        description="Shown once: each works once in place of a TOTP code; the previous set no longer works."
    )
