"""Request and response models of the payments routes (chalicelib/api/wallet/payments.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.api.schemas.common import Amount, Currency, RequestBody
from chalicelib.api.schemas.identity import Code6, Password
from chalicelib.api.schemas.wallet import Transaction  # noqa: F401 (the routes' `{transaction}` reply)


class StepUpAuthorization(RequestBody):
    """Exactly one of `password` or `totp` (a current authenticator-app code)."""

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
        description="Needed past the day's 1,000 CNY step-up budget (else 403 step_up_required); "
        "never stored or logged, and not part of the Idempotency-Key fingerprint.",
    ),
]


class PaymentRequest(RequestBody):
    merchant_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    amount: Amount
    currency: Currency
    order_reference: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")] = (
        Field(description="The merchant's order; paid once per payer and merchant (409 already_paid).")
    )
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=140)] | None = None
    authorization: StepUp = None


class WithdrawalRequest(RequestBody):
    funding_source_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    amount: Amount
    currency: Currency
    authorization: StepUp = None


class ConversionRequest(RequestBody):
    from_currency: Currency
    to_currency: Currency
    amount: Amount = Field(description="Debited in from_currency, in its minor units.")

    @field_validator("to_currency")
    @classmethod
    def _another_currency(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("from_currency") == value:
            raise PydanticCustomError("format", "to_currency must differ from from_currency")
        return value
