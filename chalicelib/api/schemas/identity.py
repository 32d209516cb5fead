"""Request and response models of the identity routes (chalicelib/api/identity/auth.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, RootModel, StringConstraints

from chalicelib.api.schemas.common import RequestBody, ResponseBody, examples

Code6 = Annotated[str, StringConstraints(min_length=1, max_length=32), Field(description="The code received.")]


Text = Annotated[str, StringConstraints(min_length=1, max_length=320)]


Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


DeviceId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]

MfaMethod = Literal["totp", "sms", "email", "recovery_code"]

# Realistic values, shared with the account models' examples (ids as the services make them).
USER_ID = "usr_f36a266ef092496fa30b7f43a54abe74"
SESSION_ID = "ses_ae278500486d4d978da90434dda7f0ae"
PHONE = "+8613800138000"
EMAIL = "zhang.san@example.com"
PASSWORD = "lantern-harbour-7342"  # noqa: S105 (an example)
NEW_PASSWORD = "maple-river-quietly-81"  # noqa: S105 (an example)
_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJva3BheSIsImF1ZCI6Im9rcGF5LWFwcCIsInN1YiI6InVzcl9mMzZhMjY2ZWYw"
    "OTI0OTZmYTMwYjdmNDNhNTRhYmU3NCIsInNpZCI6InNlc19hZTI3ODUwMDQ4NmQ0ZDk3OGRhOTA0MzRkZGE3ZjBhZSIsInJvbGUiOiJ1c2Vy"
    "IiwiaWF0IjoxNzk1NDgzODAwLCJleHAiOjE3OTU0ODQ3MDAsImp0aSI6IjVhNWFhYjhmNjg2NzQ2OGRiY2U0ZjFhYmJkYjY4ZGM5In0."
    "zw6yDRJNoHBrtzy8ipKyFpm-aadksk1Ib5KpBoVRUd4"
)
_REFRESH_TOKEN = f"{SESSION_ID}.3wVO2-1660fvJNARhcjkOBePUrLomznQfnkUsPuWyYs"
_MFA_TOKEN = "WoUJucdstT7lfqrv7tyLUe22WWzs6L9c7KI2TYuvFCo"  # noqa: S105 (an example)
_TOKENS = {
    "user_id": USER_ID,
    "access_token": _JWT,
    "refresh_token": _REFRESH_TOKEN,
    "token_type": "Bearer",
    "expires_in": 900,
    "session_id": SESSION_ID,
}
_CHALLENGE = {"mfa_required": True, "mfa_token": _MFA_TOKEN, "mfa_methods": ["totp", "sms", "recovery_code"]}


# --- responses ---------------------------------------------------------------------------------------


class Accepted(ResponseBody):
    model_config = examples({"status": "sent"})

    status: Literal["sent"] = Field(description="Always `sent`, whether or not anything was sent.")


class Tokens(ResponseBody):
    model_config = examples(_TOKENS)

    user_id: str = Field(description="The signed-in user (`usr_` and 32 hex digits).")
    access_token: str = Field(
        description="A JWT for `Authorization: Bearer …`; checked with its session on every request."
    )
    refresh_token: str = Field(description="Single use: swap it at `/auth/token/refresh` for a new pair.")
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds the access token is valid (≤ 900).")
    session_id: str = Field(description="This sign-in (`ses_…`), as `GET /me/sessions` lists it.")


class MfaChallenge(ResponseBody):
    model_config = examples(_CHALLENGE, {**_CHALLENGE, "mfa_methods": ["sms", "email"]})

    mfa_required: Literal[True]
    mfa_token: str = Field(description="Names this sign-in at `/auth/mfa/send` and `/auth/mfa/verify`; 10 minutes.")
    mfa_methods: list[MfaMethod] = Field(
        description="The second factors the account has on; `sms` and `email` need `/auth/mfa/send` first."
    )


class TokensOrMfa(RootModel[Tokens | MfaChallenge]):
    """Tokens, or an MFA challenge when the account has a second factor on."""

    model_config = ConfigDict(defer_build=True, **examples(_TOKENS, _CHALLENGE))


# --- requests ----------------------------------------------------------------------------------------


class RegisterStart(RequestBody):
    model_config = examples({"phone": PHONE}, {"phone": "13800138000"})

    phone: Text = Field(description="E.164; a number without `+` is read as +86.")


class Register(RequestBody):
    model_config = examples(
        {"phone": PHONE, "code": "482913", "email": EMAIL, "password": PASSWORD, "display_name": "张三"}
    )

    phone: Text = Field(description="The number the code was sent to.")
    code: Code6 = Field(description="The 6-digit code from the SMS.")
    email: Text = Field(description="Gets a verification code; needed verified to sign in by email.")
    password: Password = Field(
        description="8–128 characters, not a common one, not containing the email's local part or the phone number."
    )
    display_name: DisplayName = Field(description="1–64 characters after trimming.")


class Login(RequestBody):
    model_config = examples(
        {
            "login": PHONE,
            "password": PASSWORD,
            "device_id": "6f1d2c4e-8a3b-4f7e-9c0d-1b2a3c4d5e6f",
            "device_name": "iPhone 15 Pro",
        },
        {"login": EMAIL, "password": PASSWORD, "device_id": "android-7c9e0b2d4f6a8c1e"},
    )

    login: Text = Field(description="Phone number or verified email.")
    password: Password
    device_id: DeviceId = Field(description="The app install's id; a new one triggers a sign-in notice.")
    device_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None = Field(
        default=None, description="Shown in `GET /me/sessions` and in the sign-in notice."
    )


class MfaSend(RequestBody):
    model_config = examples({"mfa_token": _MFA_TOKEN, "method": "sms"})

    mfa_token: Text = Field(description="From the login's MFA challenge.")
    method: Literal["sms", "email"] = Field(description="One of the challenge's `mfa_methods`.")


class MfaVerify(RequestBody):
    model_config = examples(
        {"mfa_token": _MFA_TOKEN, "method": "totp", "code": "307561"},
        {"mfa_token": _MFA_TOKEN, "method": "recovery_code", "code": "hpzw-s9vx"},
    )

    mfa_token: Text = Field(description="From the login's MFA challenge.")
    method: MfaMethod = Field(description="One of the challenge's `mfa_methods`.")
    code: Code6 = Field(description="The 6-digit code (TOTP, SMS or email), or a recovery code.")


class Refresh(RequestBody):
    model_config = examples({"refresh_token": _REFRESH_TOKEN})

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)] = Field(
        description="The latest `refresh_token` of the session."
    )


class Forgot(RequestBody):
    model_config = examples({"login": EMAIL}, {"login": PHONE})

    login: Text = Field(description="Verified email (the code goes by email) or phone (by SMS).")


class SecondFactor(RequestBody):
    model_config = examples({"method": "totp", "code": "307561"})

    method: Literal["totp", "recovery_code"]
    code: Code6 = Field(description="A current TOTP code or an unused recovery code.")


class Reset(RequestBody):
    model_config = examples(
        {"login": EMAIL, "code": "604218", "new_password": NEW_PASSWORD},
        {
            "login": PHONE,
            "code": "604218",
            "new_password": NEW_PASSWORD,
            "second_factor": {"method": "recovery_code", "code": "hpzw-s9vx"},
        },
    )

    login: Text = Field(description="The login the code was sent for.")
    code: Code6 = Field(description="The 6-digit reset code.")
    new_password: Password = Field(description="The same rules as at registration.")
    second_factor: SecondFactor | None = Field(
        default=None, description="Required when the account has TOTP on (else `422 mfa_required`)."
    )
