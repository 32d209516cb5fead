"""Request and response models of the transfer routes (chalicelib/api/wallet/transfers.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.api.schemas.common import (
    Amount,
    Currency,
    RequestBody,
    ResponseBody,
    Timestamp,
    exactly_one_of,
    examples,
    omittable,
)
from chalicelib.api.schemas.identity import Code6, Text


class RecipientRef(RequestBody):
    """Who receives: exactly one of `user_id`, `phone` (E.164; without `+`, read as +86) or `email`.
    A phone or email must be a verified contact of an active user."""

    model_config = exactly_one_of(
        "user_id",
        "phone",
        "email",
        shown=[
            {"user_id": "usr_0d2f4b6a8c1e4a3c5e7b9d1f3a5c7e9b"},
            {"phone": "+8613800138000"},
            {"email": "lisi@example.com"},
        ],
    )

    user_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    phone: Text | None = None
    email: Text | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RecipientRef:
        given = [name for name in ("user_id", "phone", "email") if getattr(self, name) is not None]
        if len(given) != 1:
            raise PydanticCustomError("format", "give exactly one of user_id, phone, email")
        return self


class Lookup(RequestBody):
    """Exactly one of `phone` (E.164; without `+`, read as +86) or `email`: a verified contact."""

    model_config = exactly_one_of("phone", "email", shown=[{"phone": "+8613800138000"}, {"email": "lisi@example.com"}])

    phone: Text | None = None
    email: Text | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Lookup:
        if (self.phone is None) == (self.email is None):
            raise PydanticCustomError("format", "give exactly one of phone, email")
        return self


class Recipient(ResponseBody):
    model_config = examples(
        {"user_id": "usr_0d2f4b6a8c1e4a3c5e7b9d1f3a5c7e9b", "masked_name": "*四", "display_name": "小李"}
    )

    user_id: str = Field(description="Pass as `recipient.user_id` to POST /transfers.")
    masked_name: str | None = Field(description="The real name masked (张三 → *三); null before verification.")
    display_name: str | None = Field(description="The name the user chose for themselves; null if none.")


class TransferRequest(RequestBody):
    model_config = examples(
        {
            "recipient": {"user_id": "usr_0d2f4b6a8c1e4a3c5e7b9d1f3a5c7e9b"},
            "amount": 12800,
            "currency": "CNY",
            "note": "午饭钱",
        },
        {"recipient": {"phone": "+8613800138000"}, "amount": 150000, "currency": "CNY"},
    )

    recipient: RecipientRef
    amount: Amount
    currency: Currency
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=140)] | None = Field(
        default=None, description="Shown to both sides (the entries' `description`); at most 140 characters."
    )


class Confirm(RequestBody):
    model_config = examples({"code": "482913", "method": "sms"}, {"code": "907214", "method": "totp"})

    code: Code6 = Field(description="The 6-digit code of the transfer's SMS, or a current authenticator-app code.")
    method: Literal["sms", "totp"] = Field(
        default="sms",
        description="Which kind of code `code` is; `sms` when left out.",
    )


class Party(ResponseBody):
    user_id: str
    masked_name: str | None = Field(description="The real name masked (张三 → *三); null if unverified at the time.")


TRANSFER_COMPLETED_EXAMPLE = {
    "transfer_id": "trf_6a8c1e3b5d7f4a2c9e1b3d5f7a9c2e4b",
    "status": "completed",
    "amount": 12800,
    "currency": "CNY",
    "payer": {"user_id": "usr_9b1d3f5a7c2e4b6d8f0a1c3e5b7d9f2a", "masked_name": "*三"},
    "recipient": {"user_id": "usr_0d2f4b6a8c1e4a3c5e7b9d1f3a5c7e9b", "masked_name": "*四"},
    "note": "午饭钱",
    "created_at": "2026-11-24T12:05:30+08:00",
    "transaction_id": "txn_7f9b1d3e5a2c4e6b8d0f2a4c6e8b1d3f",
}
TRANSFER_WAITING_EXAMPLE = {
    "transfer_id": "trf_2c4e6a8b1d3f4c5e7a9b2d4f6c8e1a3b",
    "status": "requires_confirmation",
    "amount": 150000,
    "currency": "CNY",
    "payer": {"user_id": "usr_9b1d3f5a7c2e4b6d8f0a1c3e5b7d9f2a", "masked_name": "*三"},
    "recipient": {"user_id": "usr_0d2f4b6a8c1e4a3c5e7b9d1f3a5c7e9b", "masked_name": "*四"},
    "created_at": "2026-11-24T12:10:00+08:00",
    "expires_at": "2026-11-24T12:15:00+08:00",
    "attempts_left": 5,
}
# The waiting transfer once it is over: `expires_at` and `attempts_left` are sent only while it waits.
_SETTLED = {k: v for k, v in TRANSFER_WAITING_EXAMPLE.items() if k not in ("expires_at", "attempts_left")}
TRANSFER_CONFIRMED_EXAMPLE = {
    **_SETTLED,
    "status": "completed",
    "transaction_id": "txn_3a5c7e9b1d2f4a6c8e0b2d4f6a8c1e3d",
}
TRANSFER_CANCELED_EXAMPLE = {**_SETTLED, "status": "canceled"}


class Transfer(ResponseBody):
    """The contract's `{transfer}`. `expires_at` and `attempts_left` are sent only while it is
    `requires_confirmation` (it becomes `expired` 5 minutes after it was created);
    `transaction_id` only once it is `completed`; `note` only when one was given."""

    model_config = examples(TRANSFER_COMPLETED_EXAMPLE, TRANSFER_WAITING_EXAMPLE)

    transfer_id: str
    status: Literal["requires_confirmation", "completed", "canceled", "expired"]
    amount: int = Field(description="Positive, in the currency's minor units.")
    currency: Currency
    payer: Party
    recipient: Party
    note: str = omittable(description="The payer's note; absent when none was given.")
    created_at: Timestamp
    expires_at: Timestamp = omittable()
    attempts_left: int = omittable(description="Codes that may still be tried (of 5); only while waiting for one.")
    transaction_id: str = omittable(description="The ledger transaction (GET /me/transactions/{id}); once completed.")


class CodeResent(ResponseBody):
    model_config = examples({"status": "sent"})

    status: Literal["sent"] = Field(description="A new code is on its way by SMS; the earlier one no longer works.")
