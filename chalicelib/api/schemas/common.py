"""Building blocks of request and response bodies (pydantic v2), shared by every area.

Requests are strict: unknown fields, booleans or floats where integers are due, and numeric strings
are refused. Models defer building their validators until first use, so importing the app stays
cheap.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.services.common.money import MAX_AMOUNT

Currency = Literal["CNY", "HKD", "USD", "EUR", "JPY"]
Amount = Annotated[
    int,
    Field(gt=0, le=MAX_AMOUNT, description="Positive integer in the currency's minor units (≤ 10^12)."),
]
Locale = Literal["zh-CN", "en"]
Instant = Annotated[
    str, Field(description="ISO 8601 date and time with offset.", examples=["2026-11-24T09:30:00+08:00"])
]


class RequestBody(BaseModel):
    """Base of every request body and query: strict types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid", defer_build=True)


class Query(BaseModel):
    """Base of query-string models: values arrive as strings, so numbers are parsed from them."""

    model_config = ConfigDict(strict=False, extra="ignore", defer_build=True)


class ResponseBody(BaseModel):
    """Base of response models; used for the OpenAPI document and to shape replies."""

    model_config = ConfigDict(defer_build=True)


class Empty(RequestBody):
    """A body with no fields (`{}` or nothing at all)."""


class PageQuery(Query):
    """The contract's lists: `?limit=` (1–100, default 20) and an opaque `?cursor=`."""

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, Field(min_length=1, max_length=2048)] | None = None


class Page(ResponseBody):
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at the end.")


# --- the error envelope ---------------------------------------------------------------------


class ErrorObject(ResponseBody):
    code: str = Field(description="Stable snake_case error code.")
    message: str = Field(description="Human text in the caller's language.")
    request_id: str
    field: str | None = Field(default=None, description="The request field at fault, for 400 errors.")
    details: dict[str, Any] | None = Field(default=None, description="Per-code details (see components).")


class ErrorEnvelope(ResponseBody):
    error: ErrorObject


class MoneyAmount(ResponseBody):
    amount: int
    currency: Currency


class LimitExceededDetails(ResponseBody):
    remaining: MoneyAmount
    window: Literal["lifetime", "year"]
    resets_at: str | None


class InvalidCodeDetails(ResponseBody):
    attempts_left: int


class MethodsDetails(ResponseBody):
    methods: list[str]


class StatusDetails(ResponseBody):
    status: str


class DisputeExistsDetails(ResponseBody):
    dispute_id: str = Field(description="The transaction's open dispute.")


class RefundableDetails(ResponseBody):
    refundable: MoneyAmount = Field(description="What can still be disputed: the amount not yet refunded.")


class RetryDetails(ResponseBody):
    retry_after: int = Field(description="Seconds; also in the Retry-After header.")


# error code -> the schema of its `details`, for the OpenAPI document
DETAILS_SCHEMAS: dict[str, type[ResponseBody]] = {
    "limit_exceeded": LimitExceededDetails,
    "invalid_code": InvalidCodeDetails,
    "mfa_required": MethodsDetails,
    "step_up_required": MethodsDetails,
    "transfer_not_pending": StatusDetails,
    "dispute_exists": DisputeExistsDetails,
    "dispute_closed": StatusDetails,
    "ticket_closed": StatusDetails,
    "amount_exceeds_refundable": RefundableDetails,
    "account_locked": RetryDetails,
    "rate_limited": RetryDetails,
    "try_again": RetryDetails,
}
