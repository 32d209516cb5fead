"""Request and response models of the support ticket routes (chalicelib/api/support/tickets.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.api.schemas.common import (
    Page,
    PageQuery,
    RequestBody,
    ResponseBody,
    Timestamp,
    examples,
    omittable,
)
from chalicelib.api.schemas.disputes import (
    AGENT_ID,
    CURSOR,
    TRANSACTION_ID,
    USER_ID,
    CaseEvent,
    SlaEscalationEvent,
    SlaReminderEvent,
)

TicketStatus = Literal["new", "open", "pending", "solved", "closed", "quarantined"]
Category = Literal["account", "transfer", "payment", "security", "kyc", "other"]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]

_TICKET_ID = "tkt_8e0a2c4e6b1d3f5a7c9e0b2d4f6a8c1e"
_SUBJECT = "转账显示成功但对方没有收到"
_QUESTION = "我昨天给朋友转了 500 元，App 显示转账成功，但对方说没有收到，请帮忙查一下。"
_USER_MESSAGE = {
    "message_id": "msg_6b8d0f2a4c1e3b5d7f9a0c2e4b6d8f1a",
    "author": "user",
    "body": _QUESTION,
    "created_at": "2026-11-24T09:30:00+08:00",
}
_AGENT_MESSAGE = {
    "message_id": "msg_f1a3c5e7b9d0f2a4c6e8b1d3f5a7c9e0",
    "author": "agent",
    "body": "您好，这笔转账已于昨天 18:02 到账对方钱包，请对方在“交易记录”中查看。",
    "created_at": "2026-11-24T14:05:31+08:00",
}
_NEW = {
    "ticket_id": _TICKET_ID,
    "subject": _SUBJECT,
    "category": "transfer",
    "status": "new",
    "source": "app",
    "first_response_due": "2026-11-25T09:30:00+08:00",
    "escalated": False,
    "created_at": "2026-11-24T09:30:00+08:00",
    "updated_at": "2026-11-24T09:30:00+08:00",
    "transaction_id": TRANSACTION_ID,
}
_ANSWERED = {**_NEW, "status": "open", "updated_at": "2026-11-24T14:05:31+08:00"}
_NEW_FOR_AGENT = {**_NEW, "user_id": USER_ID, "first_responded_at": None, "assignee": None, "overdue": False}
_ANSWERED_FOR_AGENT = {
    **_ANSWERED,
    "user_id": USER_ID,
    "first_responded_at": "2026-11-24T14:05:31+08:00",
    "assignee": AGENT_ID,
    "overdue": False,
}
# The reply to TicketStatusChange's first example (by name in the routes).
AGENT_TICKET_SOLVED_EXAMPLE = {**_ANSWERED_FOR_AGENT, "status": "solved", "updated_at": "2026-11-24T16:48:09+08:00"}


# --- requests --------------------------------------------------------------------------------------


class TicketCreate(RequestBody):
    model_config = examples(
        {"subject": _SUBJECT, "body": _QUESTION, "category": "transfer", "transaction_id": TRANSACTION_ID},
        {
            "subject": "如何修改绑定的手机号？",
            "body": "我换了新手机号，想把账户绑定的号码改过来。",
            "category": "account",
        },
    )

    subject: Subject = Field(description="1–120 characters after trimming.")
    body: Body = Field(description="The question, 1–5000 characters; the ticket's first message.")
    category: Category
    transaction_id: Id | None = Field(default=None, description="A transaction of the caller's this is about.")


class TicketMessageCreate(RequestBody):
    model_config = examples({"body": "对方刚刚确认收到了，谢谢！"})

    body: Body = Field(description="1–5000 characters after trimming.")


class TicketStatusChange(RequestBody):
    model_config = examples({"status": "solved"}, {"status": "pending"})

    status: Literal["open", "pending", "solved", "closed"] = Field(
        description="`pending`: waiting for the customer; `solved` emails the user; `closed` is final."
    )


class TicketQueueQuery(PageQuery):
    status: TicketStatus | None = Field(
        default=None,
        description="Default: the active ones, new, open and pending. `quarantined`: email tickets held back as "
        "spam or failing DMARC with a reject policy.",
    )


# --- the ticket and its conversation -----------------------------------------------------------------


class TicketMessage(ResponseBody):
    model_config = examples(_USER_MESSAGE, _AGENT_MESSAGE)

    message_id: str
    author: Literal["user", "agent"]
    body: str
    created_at: Timestamp


class Ticket(ResponseBody):
    """A support ticket (客服). `first_response_due` is its creation + 24 calendar hours: the first agent reply
    is due then."""

    model_config = examples(
        _NEW,
        {
            "ticket_id": "tkt_2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c",
            "subject": "如何修改绑定的手机号？",
            "category": "account",
            "status": "solved",
            "source": "chat",
            "first_response_due": "2026-11-21T16:20:00+08:00",
            "escalated": False,
            "created_at": "2026-11-20T16:20:00+08:00",
            "updated_at": "2026-11-21T10:02:45+08:00",
        },
    )

    ticket_id: str
    subject: str
    category: Category
    status: TicketStatus = Field(
        description="`new` until the first agent reply, then `open`; `pending`: waiting for the customer; "
        "a user's message on a `pending` or `solved` ticket makes it `open` again; `closed` is final."
    )
    source: Literal["app", "chat", "email"] = Field(
        description="Where it came from: `app` (opened with POST /support/tickets), `chat` (a live chat turned "
        "into a ticket by an agent or by the `chat_queue` job; its first message is the chat's transcript) or "
        "`email` (a mail to the support address; its first message is the mail's text)."
    )
    first_response_due: Timestamp
    escalated: bool = Field(description="True once `ticket_sla` found the first response overdue.")
    created_at: Timestamp
    updated_at: Timestamp
    transaction_id: str = omittable(description="The transaction the ticket is about; left out when it names none.")
    requester_email: str = omittable(description="Email tickets only: the address the mail came from (lower case).")
    verified_sender: bool = omittable(
        description="Email tickets only: true when that address is the owner's verified account email on a mail "
        "that passed DKIM or SPF; false: an unverified sender, whose ticket belongs to no user."
    )


class TicketDetail(Ticket):
    model_config = examples({**_ANSWERED, "messages": [_USER_MESSAGE, _AGENT_MESSAGE]})

    messages: list[TicketMessage] = Field(description="The conversation, oldest first.")


class TicketPage(Page):
    model_config = examples({"data": [_ANSWERED], "next_cursor": CURSOR})

    data: list[Ticket] = Field(description="Newest first.")


class MailAttachment(ResponseBody):
    """A file that came with an email (jpeg, png or pdf, at most 10 MB), kept in the private mail bucket."""

    name: str = Field(description="The file name the mail gave.")
    content_type: Literal["image/jpeg", "image/png", "application/pdf"] = Field(
        description="Read from the file's first bytes, not from what the mail declared."
    )
    size: int = Field(description="Bytes.")
    url: str = Field(description="A presigned download URL, valid for `expires_in` seconds.")
    expires_in: int = Field(description="Seconds the URL stays valid (300).")


class SkippedMailAttachment(ResponseBody):
    """A file that came with an email and was not kept."""

    name: str
    content_type: str = Field(description="As the mail declared it.")
    size: int = Field(description="Bytes.")
    reason: Literal["type", "size"] = Field(description="`type`: not a jpeg, png or pdf; `size`: over 10 MB.")


class AgentTicketMessage(TicketMessage):
    model_config = examples({**_AGENT_MESSAGE, "author_id": AGENT_ID})

    author_id: str = Field(
        description="The user or agent who wrote it; `email:<address>` for a mail from a sender who is not the "
        "ticket's owner."
    )
    attachments: list[MailAttachment] = omittable(description="Email tickets: the files kept from the mail.")
    skipped_attachments: list[SkippedMailAttachment] = omittable(
        description="Email tickets: the files of the mail that were not kept, and why."
    )


class AgentTicket(Ticket):
    """A ticket as agents see it: with its user, the first response and whether it is overdue
    (`first_response_due`, creation + 24 calendar hours, passed with no agent reply)."""

    model_config = examples(_ANSWERED_FOR_AGENT, _NEW_FOR_AGENT)

    user_id: str | None = Field(
        description="The user who opened it; null for an email ticket from an unverified sender (it belongs to nobody)."
    )
    first_responded_at: Timestamp | None = Field(description="The first agent reply; null until then.")
    assignee: str | None = Field(description="The agent who last replied; null until then.")
    overdue: bool = Field(description="`first_response_due` passed with no agent reply yet.")


# --- recorded changes ------------------------------------------------------------------------------


class TicketCreatedDetail(ResponseBody):
    category: Category
    transaction_id: str = omittable(description="Left out when the ticket names no transaction.")


class TicketCreatedEvent(CaseEvent):
    action: Literal["created"]
    detail: TicketCreatedDetail


class TicketFirstResponseDetail(ResponseBody):
    late: bool = Field(description="True when it came after `first_response_due`.")


class TicketFirstResponseEvent(CaseEvent):
    """The first agent reply: the SLA clock stops."""

    action: Literal["first_response"]
    detail: TicketFirstResponseDetail


class TicketStatusChangedDetail(ResponseBody):
    from_: TicketStatus = Field(alias="from")
    to: TicketStatus
    cause: Literal["agent", "agent_reply", "user_reply", "reopened"] = Field(
        description="`agent`: set by an agent; `agent_reply`: the first reply (`new → open`); `user_reply`: the "
        "user wrote on a `pending` ticket; `reopened`: the user wrote on a `solved` one."
    )


class TicketStatusChangedEvent(CaseEvent):
    action: Literal["status_changed"]
    detail: TicketStatusChangedDetail


TicketEvent = Annotated[
    TicketCreatedEvent | TicketFirstResponseEvent | TicketStatusChangedEvent | SlaReminderEvent | SlaEscalationEvent,
    Field(discriminator="action"),
]


class AgentTicketDetail(AgentTicket):
    model_config = examples(
        {
            **_ANSWERED_FOR_AGENT,
            "messages": [{**_USER_MESSAGE, "author_id": USER_ID}, {**_AGENT_MESSAGE, "author_id": AGENT_ID}],
            "events": [
                {
                    "action": "created",
                    "actor": USER_ID,
                    "at": "2026-11-24T09:30:00+08:00",
                    "detail": {"category": "transfer", "transaction_id": TRANSACTION_ID},
                },
                {
                    "action": "first_response",
                    "actor": AGENT_ID,
                    "at": "2026-11-24T14:05:31+08:00",
                    "detail": {"late": False},
                },
                {
                    "action": "status_changed",
                    "actor": AGENT_ID,
                    "at": "2026-11-24T14:05:31+08:00",
                    "detail": {"from": "new", "to": "open", "cause": "agent_reply"},
                },
            ],
        }
    )

    messages: list[AgentTicketMessage] = Field(description="The conversation, oldest first.")
    events: list[TicketEvent] = Field(description="Every recorded change, oldest first.")


class AgentTicketPage(Page):
    model_config = examples({"data": [_NEW_FOR_AGENT], "next_cursor": None})

    data: list[AgentTicket] = Field(description="Oldest `first_response_due` first.")
