"""Request and response models of the agents' customer tools (chalicelib/api/account/agent_users.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.api.schemas.account import _PROFILE, FreezeState, Kyc, Profile
from chalicelib.api.schemas.common import Query, ResponseBody, Timestamp, examples, omittable

# The customer's history takes the same query and answers the same page as `GET /me/transactions`.
from chalicelib.api.schemas.history import HistoryQuery as HistoryQuery
from chalicelib.api.schemas.history import TransactionPage as TransactionPage
from chalicelib.api.schemas.wallet import BalanceItem, LimitItem
from chalicelib.store import security_events

AccountStatus = Literal["active", "frozen", "closed"]
SecurityEventType = Literal[security_events.TYPES]  # the log's one list of types
_Search = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]

_USER_ID = _PROFILE["user_id"]
_ROW = {
    "user_id": _USER_ID,
    "display_name": _PROFILE["display_name"],
    "phone": _PROFILE["phone"],
    "email": _PROFILE["email"],
    "kyc": {"status": "approved", "level": 2},
    "status": "active",
    "created_at": _PROFILE["created_at"],
}
_BALANCES = [
    {"currency": "CNY", "available": 1280050},
    {"currency": "HKD", "available": 0},
    {"currency": "USD", "available": 1380},
    {"currency": "EUR", "available": 0},
    {"currency": "JPY", "available": 0},
]
_LIMITS = [
    {"window": "year", "cap": 10000000, "used": 254300, "remaining": 9745700, "resets_at": "2027-01-01T00:00:00+08:00"}
]
_EVENTS = [
    {
        "event_id": "evt_2b4d6f8a0c1e3a5c7e9b1d3f5a7c9e0b",
        "type": "login",
        "at": "2026-11-26T08:41:07+08:00",
        "device_name": "iPhone 15",
    },
    {
        "event_id": "evt_7e9b1d3f5a7c9e0b2b4d6f8a0c1e3a5c",
        "type": "login_failed",
        "at": "2026-11-26T08:40:31+08:00",
        "device_name": "iPhone 15",
    },
]


class UserSearchQuery(Query):
    """Exactly one of `phone`, `email` or `user_id`, matched exactly."""

    phone: _Search | None = Field(default=None, description="E.164; without `+`, read as a +86 number.")
    email: _Search | None = Field(default=None, description="A verified email, in any case.")
    user_id: _Search | None = Field(default=None, description="`usr_…`.")

    @model_validator(mode="after")
    def _exactly_one(self) -> UserSearchQuery:
        given = [name for name in ("phone", "email", "user_id") if getattr(self, name) is not None]
        if len(given) != 1:
            raise PydanticCustomError("format", "give exactly one of phone, email, user_id")
        return self


class UserRow(ResponseBody):
    model_config = examples(_ROW)

    user_id: str
    display_name: str | None
    phone: str | None = Field(description="E.164.")
    email: str | None = Field(description="The email on the account (verified or not).")
    kyc: Kyc
    status: AccountStatus
    created_at: Timestamp


class UserSearch(ResponseBody):
    model_config = examples({"data": [_ROW]}, {"data": []})

    data: list[UserRow] = Field(description="The one exact match, or nothing.")


class OpenCases(ResponseBody):
    model_config = examples(
        {"disputes": ["dsp_7c1e5b0a9d2f4e6b8a3c5d7e9f1a2b3c"], "tickets": ["tkt_1a3c5e7b9d2f4a6c8e0b"], "chats": []}
    )

    disputes: list[str] = Field(description="Open, under review or awaiting approval.")
    tickets: list[str] = Field(description="Neither solved nor closed.")
    chats: list[str] = Field(description="Waiting or live chats.")


class SecurityEvent(ResponseBody):
    event_id: str
    type: SecurityEventType
    at: Timestamp
    device_name: str = omittable()
    ip: str = omittable()
    detail: str = omittable()


class CustomerView(Profile):
    """The customer panel: the profile as `GET /me` shows it, with the wallet, the freeze, open cases and the
    security log."""

    model_config = examples(
        {
            **_PROFILE,
            "status": "active",
            "balances": _BALANCES,
            "limits": _LIMITS,
            "open_cases": {"disputes": [], "tickets": [], "chats": []},
            "security_events": _EVENTS,
        },
        {
            **_PROFILE,
            "status": "frozen",
            "freeze": {"reason": "客户来电称手机丢失", "at": "2026-11-26T09:02:45+08:00", "by": "agent"},
            "balances": _BALANCES,
            "limits": _LIMITS,
            "open_cases": {"disputes": [], "tickets": ["tkt_1a3c5e7b9d2f4a6c8e0b"], "chats": []},
            "security_events": _EVENTS,
        },
    )

    status: AccountStatus = Field(description="As stored: `closed` too.")
    freeze: FreezeState = omittable(description="Sent while `status` is `frozen`.")
    balances: list[BalanceItem] = Field(description="Every supported currency, as `GET /me/wallet` shows them.")
    limits: list[LimitItem] = Field(description="What the KYC level still lets the user send, as `GET /me/wallet`.")
    open_cases: OpenCases
    security_events: list[SecurityEvent] = Field(description="The last 20, newest first.")
