"""Request and response models of the payments routes (chalicelib/api/wallet/payments.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.api.schemas.common import Amount, Currency, RequestBody, exactly_one_of, examples
from chalicelib.api.schemas.identity import Code6, Password
from chalicelib.api.schemas.wallet import (  # noqa: F401 (the routes' `{transaction}` reply and its examples)
    CONVERSION_EXAMPLE,
    PAYMENT_EXAMPLE,
    WITHDRAWAL_EXAMPLE,
    Transaction,
)

# The reply to PaymentRequest's first example, which gives its own `description` (Transaction's
# PAYMENT_EXAMPLE shows the standard text).
PAYMENT_REPLY_EXAMPLE = {**PAYMENT_EXAMPLE, "description": "拿铁 大杯"}


class StepUpAuthorization(RequestBody):
    """Exactly one of `password` (the account password) or `totp` (a current authenticator-app code)."""

    model_config = exactly_one_of(
        "password", "totp", shown=[{"password": "correct horse battery staple"}, {"totp": "907214"}]
    )

    password: Password | None = None
    totp: Code6 | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> StepUpAuthorization:
        if (self.password is None) == (self.totp is None):
            raise PydanticCustomError("format", "give exactly one of password, totp")
        return self


StepUp = Annotated[
    StepUpAuthorization | None,
    Field(
        default=None,
        description="Needed past the day's 1,000 CNY step-up budget (else 403 step_up_required); a wrong one is "
        "422 invalid_password / invalid_code. Never stored or logged, and not part of the Idempotency-Key "
        "fingerprint.",
    ),
]


class PaymentRequest(RequestBody):
    model_config = examples(
        {
            "merchant_id": "mer_morning_cafe",
            "amount": 2800,
            "currency": "CNY",
            "order_reference": "MLC-20261124-0042",
            "description": "拿铁 大杯",
        },
        {
            "merchant_id": "mer_global_travel",
            "amount": 268000,
            "currency": "CNY",
            "order_reference": "GT-7731902",
            "authorization": {"password": "correct horse battery staple"},
        },
    )

    merchant_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="A merchant of GET /merchants."
    )
    amount: Amount
    currency: Currency = Field(description="One of the merchant's `currencies` (else 422 currency_not_accepted).")
    order_reference: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")] = (
        Field(description="The merchant's order; paid once per payer and merchant (409 already_paid).")
    )
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=140)] | None = Field(
        default=None, description="The entry's `description`; without it, a standard text naming the merchant."
    )
    authorization: StepUp = None


class WithdrawalRequest(RequestBody):
    model_config = examples(
        {"funding_source_id": "fs_3f9c2a7e1b5d4c8e9a0b1c2d3e4f5a6b", "amount": 100000, "currency": "CNY"},
        {
            "funding_source_id": "fs_3f9c2a7e1b5d4c8e9a0b1c2d3e4f5a6b",
            "amount": 500000,
            "currency": "CNY",
            "authorization": {"totp": "907214"},
        },
    )

    funding_source_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="One of the user's cards, whose holder is the verified real name."
    )
    amount: Amount
    currency: Currency
    authorization: StepUp = None


class ConversionRequest(RequestBody):
    model_config = examples({"from_currency": "CNY", "to_currency": "USD", "amount": 10000})

    from_currency: Currency
    to_currency: Currency = Field(description="Must differ from `from_currency` (else 400 validation_error).")
    amount: Amount = Field(description="Debited in from_currency, in its minor units.")

    @field_validator("to_currency")
    @classmethod
    def _another_currency(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("from_currency") == value:
            raise PydanticCustomError("format", "to_currency must differ from from_currency")
        return value
