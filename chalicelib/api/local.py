"""Local-stage tools: the outbox, running jobs on demand, and the test clock.

Registered in every stage so the route table is the same everywhere; outside `local` each answers
`404 not_found` before looking at anything else (routing.run's local-only gate).
"""

from __future__ import annotations

from typing import Any, Literal

from chalice import Blueprint
from pydantic import Field, field_validator

from chalicelib.adapters import clock, outbox
from chalicelib.api.routing import Call, operation
from chalicelib.api.schemas import Instant, Query, RequestBody, ResponseBody
from chalicelib.errors import OkpayError
from chalicelib.jobs.registry import JOBS, run_job
from chalicelib.services.phones import normalize_phone

bp = Blueprint(__name__)


def _check_instant(value: str) -> str:
    try:
        clock.parse_instant(value)
    except ValueError:
        from pydantic_core import PydanticCustomError

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


@operation(
    bp,
    "GET",
    "/_local/outbox",
    summary="Emails and SMS sent (local stage)",
    tag="local",
    query=OutboxQuery,
    response=OutboxList,
    local_only=True,
    errors=("not_found",),
)
def read_outbox(call: Call) -> dict:
    to = call.query.to
    if to is not None:
        to = to.strip()
        to = to.lower() if "@" in to else _phone_or_raw(to)
    return {"data": [message.as_dict() for message in outbox.messages(to)]}


@operation(
    bp,
    "POST",
    "/_local/jobs/{job}",
    summary="Run a scheduled job now (local stage)",
    tag="local",
    body=JobRun,
    response=JobResult,
    local_only=True,
    errors=("not_found", "validation_error"),
)
def run_local_job(call: Call) -> dict:
    job = call.params["job"]
    if job not in JOBS:
        raise OkpayError("not_found")
    moment = clock.parse_instant(call.body.now) if call.body.now else clock.now()
    return {"job": job, "result": run_job(job, moment)}


@operation(
    bp,
    "GET",
    "/_local/clock",
    summary="The clock the app reads (local stage)",
    tag="local",
    response=ClockState,
    local_only=True,
    errors=("not_found",),
)
def read_clock(call: Call) -> dict:
    return _clock_state()


@operation(
    bp,
    "PUT",
    "/_local/clock",
    summary="Set the test clock (local stage)",
    tag="local",
    body=ClockSet,
    response=ClockState,
    local_only=True,
    errors=("not_found", "validation_error"),
    description="Every rule that reads the time reads this clock; it runs on from `now`.",
)
def set_clock(call: Call) -> dict:
    clock.set_test_clock(clock.parse_instant(call.body.now))
    return _clock_state()


@operation(
    bp,
    "DELETE",
    "/_local/clock",
    summary="Back to real time (local stage)",
    tag="local",
    response=ClockState,
    local_only=True,
    errors=("not_found",),
)
def clear_clock(call: Call) -> dict:
    clock.clear_test_clock()
    return _clock_state()


def _clock_state() -> dict:
    return {"now": clock.isoformat(clock.now()), "test_clock": clock.test_clock_is_set()}


def _phone_or_raw(value: str) -> str:
    try:
        return normalize_phone(value, field="to")
    except OkpayError:
        return value
