"""Request and response models of the transfer routes (chalicelib/api/wallet/transfers.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.api.schemas.common import Amount, Currency, RequestBody, ResponseBody
from chalicelib.api.schemas.identity import Code6, Text


class RecipientRef(RequestBody):
    """Exactly one of user_id, phone, email."""

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
    phone: Text | None = None
    email: Text | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Lookup:
        if (self.phone is None) == (self.email is None):
            raise PydanticCustomError("format", "give exactly one of phone, email")
        return self


class Recipient(ResponseBody):
    user_id: str
    masked_name: str | None = Field(description="The real name masked (张三 → *三); null before verification.")
    display_name: str | None


class TransferRequest(RequestBody):
    recipient: RecipientRef
    amount: Amount
    currency: Currency
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=140)] | None = None


class Confirm(RequestBody):
    code: Code6
    method: Literal["sms", "totp"] = "sms"


class Party(ResponseBody):
    user_id: str
    masked_name: str | None


class Transfer(ResponseBody):
    transfer_id: str
    status: Literal["requires_confirmation", "completed", "canceled", "expired"]
    amount: int
    currency: Currency
    payer: Party
    recipient: Party
    note: str | None = None
    created_at: str
    expires_at: str | None = None
    attempts_left: int | None = None
    transaction_id: str | None = None
