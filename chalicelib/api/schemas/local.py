"""Request and response models of the local routes (chalicelib/api/local.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.adapters import clock
from chalicelib.api.schemas.common import Instant, Query, RequestBody, ResponseBody


def _check_instant(value: str) -> str:
    try:
        clock.parse_instant(value)
    except ValueError:
        raise PydanticCustomError("datetime", "not an ISO 8601 date and time") from None
    return value


class OutboxQuery(Query):
    to: str | None = Field(default=None, description="An email address or phone number (URL-encoded).")


class OutboxItem(ResponseBody):
    channel: Literal["email", "sms"]
    to: str
    subject: str | None = None
    body: str
    sent_at: str


class OutboxList(ResponseBody):
    data: list[OutboxItem]


class JobRun(RequestBody):
    now: Instant | None = Field(
        default=None, description="Run the job at this moment; else the test clock, else real time."
    )

    _instant = field_validator("now")(_check_instant)


class JobResult(ResponseBody):
    job: str
    result: dict[str, Any]


class ClockSet(RequestBody):
    now: Instant

    _instant = field_validator("now")(_check_instant)


class ClockState(ResponseBody):
    now: str
    test_clock: bool = Field(description="True while a test clock is set.")
