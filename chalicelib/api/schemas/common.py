"""Building blocks of request and response bodies (pydantic v2), shared by every area.

Requests are strict: unknown fields, booleans or floats where integers are due, and numeric strings
are refused. Models defer building their validators until first use, so importing the app stays
cheap.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError
from typing_extensions import TypeAliasType

from chalicelib.adapters import clock
from chalicelib.services.common.money import MAX_AMOUNT

# Named aliases become one schema each in the OpenAPI document (`#/components/schemas/Currency`),
# referenced wherever they are used, instead of a copy per field.
Currency = TypeAliasType(
    "Currency",
    Annotated[
        Literal["CNY", "HKD", "USD", "EUR", "JPY"],
        Field(description="ISO 4217 code. CNY, HKD, USD and EUR have 2 decimals, JPY none."),
    ],
)
Timestamp = TypeAliasType(
    "Timestamp",
    Annotated[
        str,
        Field(
            description="ISO 8601 date and time with offset (RFC 3339).",
            json_schema_extra={"format": "date-time", "examples": ["2026-11-24T09:30:00+08:00"]},
        ),
    ],
)
Amount = Annotated[
    int,
    Field(gt=0, le=MAX_AMOUNT, description="Positive integer in the currency's minor units (≤ 10^12)."),
]
Locale = Literal["zh-CN", "en"]
# Kept for the request side (a query's `from`/`to`): the same schema as Timestamp.
Instant = Timestamp


class RequestBody(BaseModel):
    """Base of every request body and query: strict types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid", defer_build=True)


class Query(BaseModel):
    """Base of query-string models: values arrive as strings, so numbers are parsed from them."""

    model_config = ConfigDict(strict=False, extra="ignore", defer_build=True)


class ResponseBody(BaseModel):
    """Base of response models; used for the OpenAPI document and to shape replies.

    Every field is documented as present (`required`): the server sends `null` rather than leaving a
    field out, so a generated client never has to tell "absent" from "null". A field the server
    really leaves out is declared with `omittable()`.
    """

    model_config = ConfigDict(defer_build=True, json_schema_serialization_defaults_required=True)


def check_instant(value: str | None) -> str | None:
    """A field validator for instants sent by clients: ISO 8601 the clock can read (else 400)."""
    if value is None:
        return None
    try:
        clock.parse_instant(value)
    except ValueError:
        raise PydanticCustomError("datetime", "not an ISO 8601 date and time") from None
    return value


def examples(*values: object) -> ConfigDict:
    """A model's examples, first one first: `model_config = examples({...})`. The OpenAPI document
    shows the first on every operation that takes or answers the model (and linters check it against
    the schema)."""
    return ConfigDict(json_schema_extra={"examples": list(values)})


def exactly_one_of(*names: str, shown: list[Any] | None = None) -> ConfigDict:
    """The JSON Schema of a request model whose validator wants exactly one of `names`.

    The object stays closed with every name as an optional, nullable property (absent and null are
    the same, contract section 1), and a `oneOf` adds one shape per name: that field present and not
    null. So exactly one of them is given; the others are left out or null. Validation stays the
    model's own (its `field` values do not change); only the published schema is rewritten.

    The shapes do not repeat the other names as `null` properties under their own
    `additionalProperties: false`: linters (Redocly's no-illogical-composition-keywords) then read
    the shared null properties as an overlap between the shapes.
    """

    def rewrite(schema: dict[str, Any], model: type) -> None:
        properties = schema["properties"]
        schema["oneOf"] = [
            {
                "type": "object",
                "title": f"{model.__name__}By{''.join(part.capitalize() for part in name.split('_'))}",
                "required": [name],
                "properties": {name: _present(properties[name])},
            }
            for name in names
        ]
        if shown:
            schema["examples"] = shown

    return ConfigDict(json_schema_extra=rewrite)


def _present(prop: dict[str, Any]) -> dict[str, Any]:
    """A `T | None` property as `T` alone, keeping its title and description."""
    choices = [choice for choice in prop.get("anyOf", [prop]) if choice != {"type": "null"}]
    rest = {key: value for key, value in prop.items() if key != "anyOf"}
    return {**choices[0], **rest}


def omittable(**field: object) -> object:
    """A response field the server leaves out when it has no value (not sent as null)."""
    extra = dict(field.pop("json_schema_extra", None) or {})  # type: ignore[call-overload]
    return Field(default=None, json_schema_extra={**extra, "x-omittable": True}, **field)  # type: ignore[arg-type]


class Empty(RequestBody):
    """A body with no fields (`{}` or nothing at all)."""


class PageQuery(Query):
    """The contract's lists: `?limit=` (1–100, default 20) and an opaque `?cursor=`."""

    limit: Annotated[int, Field(ge=1, le=100)] = Field(default=20, description="Items per page, 1–100 (default 20).")
    cursor: Annotated[str, Field(min_length=1, max_length=2048)] | None = Field(
        default=None, description="The `next_cursor` of the previous page; leave out for the first page."
    )


class Page(ResponseBody):
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at the end.")


# --- the error envelope: the schema of each code's `details` ---------------------------------


class MoneyAmount(ResponseBody):
    model_config = examples({"amount": 50000, "currency": "CNY"})

    amount: int
    currency: Currency


class LimitExceededDetails(ResponseBody):
    model_config = examples(
        {"remaining": {"amount": 120000, "currency": "CNY"}, "window": "year", "resets_at": "2027-01-01T00:00:00+08:00"}
    )

    remaining: MoneyAmount = Field(description="What can still be sent in the window, in CNY.")
    window: Literal["lifetime", "year"]
    resets_at: Timestamp | None = Field(description="When the window starts again; null for `lifetime`.")


class InvalidCodeDetails(ResponseBody):
    model_config = examples({"attempts_left": 3})

    attempts_left: int = Field(description="Tries left before the code (or the session) is void.")


class MethodsDetails(ResponseBody):
    model_config = examples({"methods": ["password", "totp"]})

    methods: list[Literal["totp", "sms", "email", "recovery_code", "password"]] = Field(
        description="The ways the caller can prove it is them."
    )


class StatusDetails(ResponseBody):
    model_config = examples({"status": "completed"})

    status: str = Field(description="The object's current status.")


class DisputeExistsDetails(ResponseBody):
    model_config = examples({"dispute_id": "dsp_7c1e5b0a9d2f4e6b8a3c5d7e9f1a2b3c"})

    dispute_id: str = Field(description="The transaction's open dispute.")


class ChatExistsDetails(ResponseBody):
    model_config = examples({"chat_id": "chat_5e7a9c1b3d5f7a9c2e4b6d8f0a1c3e5b"})

    chat_id: str = Field(description="The caller's chat that is still waiting or active.")


class OrderExistsDetails(ResponseBody):
    model_config = examples({"order_id": "ord_2b4d6f8a0c1e3a5b7d9f1b3d5f7a9c1e"})

    order_id: str = Field(description="The merchant's order that already has this `out_order_no`.")


class RefundExistsDetails(ResponseBody):
    model_config = examples({"refund_id": "rfd_7a1c3e5b9d2f4a6c8e0b1d3f5a7c9e2b"})

    refund_id: str = Field(description="The merchant's refund that already has this `out_refund_no`.")


class RefundableDetails(ResponseBody):
    model_config = examples({"refundable": {"amount": 2500, "currency": "CNY"}})

    refundable: MoneyAmount = Field(
        description="What can still be disputed or refunded: the amount not yet refunded (all refunds counted)."
    )


class RetryDetails(ResponseBody):
    model_config = examples({"retry_after": 30})

    retry_after: int = Field(description="Seconds; also in the Retry-After header.")


class AvailableAtDetails(ResponseBody):
    model_config = examples({"available_at": "2026-11-26T10:02:45+08:00"})

    available_at: Timestamp = Field(description="The earliest time the request can succeed.")


class MissingDetails(ResponseBody):
    model_config = examples({"missing": ["id_back", "selfie"]})

    missing: list[str] = Field(description="The document kinds still to upload (KYC submission).")


# error code -> the schema of its `details`, for the OpenAPI document
DETAILS_SCHEMAS: dict[str, type[ResponseBody]] = {
    "validation_error": MissingDetails,
    "limit_exceeded": LimitExceededDetails,
    "invalid_code": InvalidCodeDetails,
    "mfa_required": MethodsDetails,
    "step_up_required": MethodsDetails,
    "transfer_not_pending": StatusDetails,
    "kyc_not_pending": StatusDetails,
    "dispute_exists": DisputeExistsDetails,
    "order_exists": OrderExistsDetails,
    "order_not_open": StatusDetails,
    "refund_exists": RefundExistsDetails,
    "chat_exists": ChatExistsDetails,
    "dispute_closed": StatusDetails,
    "dispute_not_awaiting_approval": StatusDetails,
    "ticket_closed": StatusDetails,
    "amount_exceeds_refundable": RefundableDetails,
    "account_locked": RetryDetails,
    "rate_limited": RetryDetails,
    "try_again": RetryDetails,
    "freeze_too_recent": AvailableAtDetails,
}
# Codes whose `details` are sent only sometimes (a validation error has them only for missing documents).
DETAILS_OPTIONAL = frozenset({"validation_error"})
