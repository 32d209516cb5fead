"""Request and response models of a user's own account protection (contract v1.2, section 11):
chalicelib/api/account/protection.py (`/me/freeze`, `/me/unfreeze*`, `/me/security-events`) and
chalicelib/api/identity/freeze.py (`/auth/freeze*`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.api.schemas.agent_users import SecurityEvent
from chalicelib.api.schemas.common import Page, RequestBody, ResponseBody, Timestamp, examples
from chalicelib.api.schemas.identity import Code6, Password, Text

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Token = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class SelfFreezeRequest(RequestBody):
    model_config = examples(
        {"reason": "lost_device", "note": "手机在地铁上丢了"}, {"reason": "suspected_fraud"}, {"reason": "other"}
    )

    reason: Literal["lost_device", "suspected_fraud", "other"] = Field(
        description="`lost_device`, `suspected_fraud` (lifted only by support after a review) or `other`."
    )
    note: Note | None = Field(
        default=None,
        description="Anything to tell support (up to 500 characters); kept on the security ticket, never logged.",
    )


class SelfFreezeResult(ResponseBody):
    model_config = examples({"status": "frozen", "frozen_at": "2026-11-26T09:02:45+08:00", "reason": "lost_device"})

    status: Literal["frozen"]
    frozen_at: Timestamp
    reason: Literal["lost_device", "suspected_fraud", "other"]


class FreezeCodeRequest(RequestBody):
    model_config = examples({"login": "+8613800138000"}, {"login": "li.lei@example.com"})

    login: Text = Field(description="The account's phone or verified email.")


class FreezeCodeConfirm(RequestBody):
    model_config = examples({"login": "+8613800138000", "code": "482913"})

    login: Text = Field(description="The same login as for `POST /auth/freeze`.")
    code: Code6


class FreezeLink(RequestBody):
    model_config = examples({"token": "pV3kq8Zt0b7yH1mQ2nR4sT6uW8xA0cE2gI4kM6oQ8sU"})

    token: Token = Field(description="The `token` of the notice email's \"this wasn't me\" link.")


class Frozen(ResponseBody):
    model_config = examples({"status": "frozen"})

    status: Literal["frozen"]


class Sent(ResponseBody):
    model_config = examples({"status": "sent"})

    status: Literal["sent"] = Field(description="Always `sent`, whether or not anything was sent.")


class SelfUnfreezeRequest(RequestBody):
    model_config = examples(
        {"password": "Plum-Orbit-Canvas-93!", "code": "482913", "method": "sms"},
        {"password": "Plum-Orbit-Canvas-93!", "code": "307561", "method": "totp"},
    )

    password: Password = Field(description="The current password (re-authentication).")
    code: Code6
    method: Literal["sms", "totp"] = Field(
        description="`sms`: the code of `POST /me/unfreeze/start`; `totp`: the authenticator app's code."
    )


class Unfrozen(ResponseBody):
    model_config = examples({"status": "active"})

    status: Literal["active"]


class SecurityEventPage(Page):
    model_config = examples(
        {
            "data": [
                {
                    "event_id": "evt_2b4d6f8a0c1e3a5c7e9b1d3f5a7c9e0b",
                    "type": "new_device",
                    "at": "2026-11-26T08:41:07+08:00",
                    "device_name": "iPhone 15",
                    "ip": "203.0.113.24",
                },
                {
                    "event_id": "evt_7e9b1d3f5a7c9e0b2b4d6f8a0c1e3a5c",
                    "type": "login_failed",
                    "at": "2026-11-26T08:40:31+08:00",
                    "device_name": "iPhone 15",
                    "ip": "203.0.113.24",
                },
            ],
            "next_cursor": None,
        }
    )

    data: list[SecurityEvent]
