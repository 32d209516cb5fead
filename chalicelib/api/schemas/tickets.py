"""Request and response models of the support ticket routes (chalicelib/api/support/tickets.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from chalicelib.api.schemas.common import Instant, Page, PageQuery, RequestBody, ResponseBody

TicketStatus = Literal["new", "open", "pending", "solved", "closed"]
Category = Literal["account", "transfer", "payment", "security", "kyc", "other"]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class TicketCreate(RequestBody):
    subject: Subject = Field(description="1–120 characters after trimming.")
    body: Body = Field(description="The question, 1–5000 characters; the ticket's first message.")
    category: Category
    transaction_id: Id | None = Field(default=None, description="A transaction of the caller's this is about.")


class TicketMessageCreate(RequestBody):
    body: Body


class TicketStatusChange(RequestBody):
    status: Literal["open", "pending", "solved", "closed"] = Field(
        description="`pending`: waiting for the customer; `closed` is final."
    )


class TicketMessage(ResponseBody):
    message_id: str
    author: Literal["user", "agent"]
    body: str
    created_at: Instant


class Ticket(ResponseBody):
    ticket_id: str
    subject: str
    category: Category
    status: TicketStatus = Field(
        description="`new` until the first agent reply, then `open`; `pending`: waiting for the customer; "
        "a user's message on a `pending` or `solved` ticket makes it `open` again; `closed` is final."
    )
    first_response_due: Instant = Field(description="Creation + 24 calendar hours: the first agent reply is due.")
    escalated: bool = Field(description="True once `ticket_sla` found the first response overdue.")
    created_at: Instant
    updated_at: Instant
    transaction_id: str | None = Field(default=None, description="Present when the ticket names a transaction.")


class TicketDetail(Ticket):
    messages: list[TicketMessage] = Field(description="The conversation, oldest first.")


class TicketPage(Page):
    data: list[Ticket]


class AgentTicketMessage(TicketMessage):
    author_id: str


class AgentTicket(Ticket):
    user_id: str
    first_responded_at: Instant | None = Field(description="The first agent reply; null until then.")
    assignee: str | None = Field(description="The agent who last replied.")
    overdue: bool = Field(description="`first_response_due` passed with no agent reply yet.")


class TicketEvent(ResponseBody):
    action: str = Field(description="`created`, `status_changed` (detail: from, to, cause) or `first_response`.")
    actor: str
    at: Instant
    detail: dict[str, Any] | None = None


class AgentTicketDetail(AgentTicket):
    messages: list[AgentTicketMessage] = Field(description="The conversation, oldest first.")
    events: list[TicketEvent] = Field(description="Every recorded change, oldest first.")


class AgentTicketPage(Page):
    data: list[AgentTicket]


class TicketQueueQuery(PageQuery):
    status: TicketStatus | None = Field(default=None, description="Default: the active ones, new, open and pending.")
