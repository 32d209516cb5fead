"""Request and response models of the dispute routes (chalicelib/api/support/disputes.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.adapters import clock
from chalicelib.api.schemas.common import Amount, Currency, Instant, Page, PageQuery, RequestBody, ResponseBody

DisputeStatus = Literal["open", "under_review", "refunded", "rejected", "withdrawn"]
Reason = Literal["unauthorized", "duplicate", "incorrect_amount", "not_received", "other"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class DisputeCreate(RequestBody):
    transaction_id: Id = Field(description="The caller's own payment, transfer or withdrawal (its debit).")
    reason: Reason
    description: Text = Field(description="What went wrong, in the user's words.")
    amount: Amount | None = Field(
        default=None, description="Minor units of the transaction's currency; default: all not yet refunded."
    )


class MessageCreate(RequestBody):
    body: Text


class Message(ResponseBody):
    message_id: str
    author: Literal["user", "agent"]
    body: str
    created_at: str


class Dispute(ResponseBody):
    dispute_id: str
    transaction_id: str
    status: DisputeStatus
    reason: Reason
    description: str
    amount: int = Field(description="Disputed amount, minor units of `currency` (the transaction's).")
    currency: Currency
    respond_by: str = Field(description="23:59:59 +08:00 on the 3rd working day after the start day.")
    resolve_by: str | None = Field(default=None, description="Set when an agent extends the investigation.")
    escalated: bool
    assignee: str | None = None
    created_at: str
    updated_at: str
    refund_amount: int | None = Field(default=None, description="Refunded amount once `refunded`.")
    refund_transaction_id: str | None = Field(default=None, description="The `refund` transaction.")
    resolution_note: str | None = None


class DisputeDetail(Dispute):
    messages: list[Message] = Field(description="The timeline, oldest first.")


class DisputePage(Page):
    data: list[Dispute]


class AgentDispute(Dispute):
    user_id: str
    transaction_type: Literal["payment", "transfer", "withdrawal"]
    agent_replied_at: str | None = None
    overdue: bool = Field(description="`respond_by` passed with no agent reply yet.")


class AgentMessage(Message):
    author_id: str


class AuditEvent(ResponseBody):
    action: str
    actor: str
    at: str
    detail: dict[str, Any] | None = None


class AgentDisputeDetail(AgentDispute):
    messages: list[AgentMessage]
    events: list[AuditEvent] = Field(description="Every recorded transition, oldest first.")


class AgentDisputePage(Page):
    data: list[AgentDispute]


class AgentQueueQuery(PageQuery):
    status: DisputeStatus | None = Field(default=None, description="Default: open and under_review.")
    overdue: bool | None = Field(default=None, description="true: `respond_by` passed with no agent reply yet.")
    assignee: Id | None = Field(default=None, description="Only disputes assigned to this agent (user id).")


class Assign(RequestBody):
    agent_id: Id | None = Field(default=None, description="An agent's user id; default: the caller.")


def _check_instant(value: str) -> str:
    try:
        clock.parse_instant(value)
    except ValueError:
        raise PydanticCustomError("datetime", "not an ISO 8601 date and time") from None
    return value


class Extend(RequestBody):
    reason: Note
    resolve_by: Instant = Field(description="Later than now and any earlier promise; at most 90 days after filing.")

    _instant = field_validator("resolve_by")(_check_instant)


class Resolve(RequestBody):
    outcome: Literal["refunded", "rejected"]
    refund_amount: Amount | None = Field(default=None, description="≤ the dispute amount (default: it).")
    note: Note
