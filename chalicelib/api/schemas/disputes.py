"""Request and response models of the dispute routes (chalicelib/api/support/disputes.py).

The recorded transitions of a case (`events` in the agents' view) are a union told apart by
`action`, each with the `detail` it carries; the SLA jobs' events are shared with tickets.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from chalicelib.api.schemas.common import (
    Amount,
    Currency,
    Instant,
    Page,
    PageQuery,
    RequestBody,
    ResponseBody,
    Timestamp,
    check_instant,
    examples,
    omittable,
)

DisputeStatus = Literal["open", "under_review", "awaiting_approval", "refunded", "rejected", "withdrawn"]
Reason = Literal["unauthorized", "duplicate", "incorrect_amount", "not_received", "other"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]

# What the examples show: one payment of 128.00 CNY to a coffee shop, disputed by 张三.
USER_ID = "usr_3f6c2a1b9e8d4c7fa5b0e1d2c3b4a596"
AGENT_ID = "usr_9a1c5e7b3d2f4a6c8e0b1d3f5a7c9e2b"
TRANSACTION_ID = "txn_5b8e2d4f6a1c3e5b7d9f0a2c4e6b8d1f"
CURSOR = "q1Jm3vX0b8TfQk2aZ7wLxHsieyJwIjp7ImRpc3B1dGVfaWQiOiJkc3BfN2MxZSJ9LCJzIjoiYjRlOWMxIn0"
_DISPUTE_ID = "dsp_7c1e5b0a9d2f4e6b8a3c5d7e9f1a2b3c"
_REFUND_ID = "txn_c2e4a6b8d0f1e3a5c7b9d1f3e5a7c9b0"
_USER_MESSAGE = {
    "message_id": "msg_4d6f8a0c2e1b3d5f7a9c0e2b4d6f8a1c",
    "author": "user",
    "body": "这笔扣款不是我本人操作的，我当时在北京开会。",
    "created_at": "2026-11-24T09:30:00+08:00",
}
_AGENT_MESSAGE = {
    "message_id": "msg_a0c2e4b6d8f1a3c5e7b9d0f2a4c6e8b1",
    "author": "agent",
    "body": "您好，我们已收到您的申诉，正在与商户核实，请耐心等待。",
    "created_at": "2026-11-25T10:12:40+08:00",
}
_OPEN = {
    "dispute_id": _DISPUTE_ID,
    "transaction_id": TRANSACTION_ID,
    "status": "open",
    "reason": "unauthorized",
    "description": "这笔扣款不是我本人操作的，我当时在北京开会。",
    "amount": 12800,
    "currency": "CNY",
    "respond_by": "2026-11-27T23:59:59+08:00",
    "resolve_by": None,
    "escalated": False,
    "assignee": None,
    "created_at": "2026-11-24T09:30:00+08:00",
    "updated_at": "2026-11-24T09:30:00+08:00",
}
_REFUNDED = {
    **_OPEN,
    "status": "refunded",
    "assignee": AGENT_ID,
    "updated_at": "2026-11-26T15:02:11+08:00",
    "refund_amount": 12800,
    "refund_transaction_id": _REFUND_ID,
    "resolution_note": "经核实为盗刷，已全额退款。",
}
_UNDER_REVIEW = {**_OPEN, "status": "under_review", "assignee": AGENT_ID, "updated_at": "2026-11-25T10:12:40+08:00"}
_FOR_AGENT = {
    "user_id": USER_ID,
    "transaction_type": "payment",
    "agent_replied_at": "2026-11-25T10:12:40+08:00",
    "overdue": False,
}
_UNDER_REVIEW_FOR_AGENT = {**_UNDER_REVIEW, **_FOR_AGENT}
_FOLLOW_UP = "商户说已经退款了，但我的钱包里没有收到。"
_RESOLVE_BY = "2026-12-11T23:59:59+08:00"
# The replies of the operations whose models' first examples show another state (by name in the routes).
USER_FOLLOW_UP_EXAMPLE = {**_USER_MESSAGE, "body": _FOLLOW_UP, "created_at": "2026-11-25T09:15:02+08:00"}
DISPUTE_WITHDRAWN_EXAMPLE = {**_UNDER_REVIEW, "status": "withdrawn", "updated_at": "2026-11-25T18:40:03+08:00"}
AGENT_DISPUTE_EXTENDED_EXAMPLE = {
    **_UNDER_REVIEW_FOR_AGENT,
    "resolve_by": _RESOLVE_BY,
    "updated_at": "2026-11-26T11:20:00+08:00",
}
AGENT_DISPUTE_REFUNDED_EXAMPLE = {**_REFUNDED, **_FOR_AGENT}
# Four eyes: a refund above 5,000 CNY equivalent, asked for by one agent, approved by another.
SECOND_AGENT_ID = "usr_5e7a9c1b3d2f4e6a8c0b2d4f6a8c1e3b"
_LARGE = {**_UNDER_REVIEW_FOR_AGENT, "amount": 880000, "description": "这笔机票扣款不是我本人操作的。"}
_APPROVAL = {
    "refund_amount": 880000,
    "note": "经核实为盗刷，已全额退款。",
    "requested_by": AGENT_ID,
    "requested_at": "2026-11-26T15:02:11+08:00",
    "approved_by": None,
    "approved_at": None,
}
AGENT_DISPUTE_AWAITING_APPROVAL_EXAMPLE = {
    **_LARGE,
    "status": "awaiting_approval",
    "updated_at": "2026-11-26T15:02:11+08:00",
    "approval": _APPROVAL,
}
AGENT_DISPUTE_APPROVED_EXAMPLE = {
    **_LARGE,
    "status": "refunded",
    "updated_at": "2026-11-26T16:40:05+08:00",
    "refund_amount": 880000,
    "refund_transaction_id": _REFUND_ID,
    "resolution_note": "经核实为盗刷，已全额退款。",
    "approval": {**_APPROVAL, "approved_by": SECOND_AGENT_ID, "approved_at": "2026-11-26T16:40:05+08:00"},
}


# --- requests ------------------------------------------------------------------------------------


class DisputeCreate(RequestBody):
    model_config = examples(
        {
            "transaction_id": TRANSACTION_ID,
            "reason": "unauthorized",
            "description": "这笔扣款不是我本人操作的，我当时在北京开会。",
        },
        {
            "transaction_id": TRANSACTION_ID,
            "reason": "incorrect_amount",
            "description": "The shop charged 128.00 instead of 28.00.",
            "amount": 10000,
        },
    )

    transaction_id: Id = Field(description="The caller's own payment, transfer or withdrawal (its debit).")
    reason: Reason
    description: Text = Field(description="What went wrong, in the user's words (1–2,000 characters).")
    amount: Amount | None = Field(
        default=None, description="Minor units of the transaction's currency; default: all not yet refunded."
    )


class MessageCreate(RequestBody):
    model_config = examples({"body": _FOLLOW_UP})

    body: Text = Field(description="1–2,000 characters after trimming.")


class Assign(RequestBody):
    model_config = examples({"agent_id": AGENT_ID}, {})

    agent_id: Id | None = Field(default=None, description="An active agent's user id; default: the caller.")


class Extend(RequestBody):
    """`resolve_by`: later than now and than any earlier promise, at most 90 days after filing."""

    model_config = examples({"reason": "需要向商户调取交易记录，预计需要更多时间。", "resolve_by": _RESOLVE_BY})

    reason: Note = Field(description="Why more time is needed; sent to the user (1–1,000 characters).")
    resolve_by: Instant

    _instant = field_validator("resolve_by")(check_instant)


class Resolve(RequestBody):
    model_config = examples(
        {"outcome": "refunded", "note": "经核实为盗刷，已全额退款。"},
        {"outcome": "refunded", "refund_amount": 10000, "note": "商户多收 100.00 元，已退还差额。"},
        {"outcome": "rejected", "note": "经核实该笔交易为本人设备操作，申诉不成立。"},
    )

    outcome: Literal["refunded", "rejected"]
    refund_amount: Amount | None = Field(
        default=None, description="Only with `refunded`: ≤ the dispute amount (default: it)."
    )
    note: Note = Field(description="The outcome as told to the user (1–1,000 characters).")


class AgentQueueQuery(PageQuery):
    status: DisputeStatus | None = Field(default=None, description="Default: open and under_review.")
    overdue: bool | None = Field(default=None, description="true: `respond_by` passed with no agent reply yet.")
    assignee: Id | None = Field(default=None, description="Only disputes assigned to this agent (user id).")


# --- the dispute and its timeline ----------------------------------------------------------------


class Message(ResponseBody):
    model_config = examples(_AGENT_MESSAGE, _USER_MESSAGE)

    message_id: str
    author: Literal["user", "agent"]
    body: str
    created_at: Timestamp


class Dispute(ResponseBody):
    """A dispute (申诉). `respond_by`, when the first agent reply is due, is 23:59:59 +08:00 on the 3rd working
    day after the start day (the filing day when filed on a working day before 17:30, else the next working
    day)."""

    model_config = examples(_OPEN, _REFUNDED)

    dispute_id: str
    transaction_id: str = Field(description="The disputed transaction (the caller's debit).")
    status: DisputeStatus = Field(
        description="`open` until the first agent reply, then `under_review`; closed as `refunded`, "
        "`rejected` or `withdrawn` (by the user). `awaiting_approval`: an agent decided a refund above 5,000 CNY "
        "equivalent, which a second agent must approve before any money moves (the user may still write or "
        "withdraw)."
    )
    reason: Reason
    description: str
    amount: int = Field(description="Disputed amount, minor units of `currency` (the transaction's).")
    currency: Currency
    respond_by: Timestamp
    resolve_by: Timestamp | None = Field(description="The promised resolution date once an agent extends; else null.")
    escalated: bool = Field(description="True once `dispute_sla` found `respond_by` passed with no agent reply.")
    assignee: str | None = Field(description="The agent (user id) handling it; null until assigned or answered.")
    created_at: Timestamp
    updated_at: Timestamp
    refund_amount: int = omittable(description="Refunded amount (minor units of `currency`); sent once `refunded`.")
    refund_transaction_id: str = omittable(description="The `refund` transaction; sent once `refunded`.")
    resolution_note: str = omittable(description="The agent's note on the outcome; sent once resolved.")


class DisputeDetail(Dispute):
    model_config = examples({**_OPEN, "messages": [_USER_MESSAGE]}, {**_REFUNDED, "messages": [_USER_MESSAGE]})

    messages: list[Message] = Field(description="The timeline, oldest first.")


class DisputePage(Page):
    model_config = examples({"data": [_OPEN], "next_cursor": CURSOR})

    data: list[Dispute] = Field(description="Newest first.")


class Approval(ResponseBody):
    """A refund above 5,000 CNY equivalent: who asked for it, and who approved it (four eyes)."""

    model_config = examples(_APPROVAL)

    refund_amount: int = Field(description="The refund asked for, minor units of the dispute's `currency`.")
    note: str = Field(description="The outcome as it will be told to the user.")
    requested_by: str = Field(description="The agent who resolved it as `refunded` (user id).")
    requested_at: Timestamp
    approved_by: str | None = Field(description="The second agent who approved it; null while awaiting approval.")
    approved_at: Timestamp | None


class AgentDispute(Dispute):
    """A dispute as agents see it: with the filing user, the first agent reply and whether it is overdue
    (`respond_by`, 23:59:59 +08:00 on the 3rd working day after the start day, passed with no reply)."""

    model_config = examples(_UNDER_REVIEW_FOR_AGENT, AGENT_DISPUTE_REFUNDED_EXAMPLE)

    approval: Approval = omittable(
        description="Sent once a refund above 5,000 CNY equivalent was asked for: it waits for a second agent."
    )
    user_id: str = Field(description="The user who filed it.")
    transaction_type: Literal["payment", "transfer", "withdrawal"]
    agent_replied_at: Timestamp | None = Field(description="The first agent reply; null until then.")
    overdue: bool = Field(description="`respond_by` passed with no agent reply yet.")


class AgentMessage(Message):
    model_config = examples({**_AGENT_MESSAGE, "author_id": AGENT_ID}, {**_USER_MESSAGE, "author_id": USER_ID})

    author_id: str = Field(description="The user or agent who wrote it.")


# --- recorded transitions --------------------------------------------------------------------------


class CaseEvent(ResponseBody):
    action: str
    actor: str = Field(description="Who: a user or agent id, or a job (`job#dispute_sla`, `job#ticket_sla`).")
    at: Timestamp


class SlaDetail(ResponseBody):
    """`deadline`: what the SLA counts to, a dispute's `respond_by` or a ticket's `first_response_due`."""

    deadline: Timestamp
    assignee: str | None = Field(description="The agent it was assigned to then; null for the queue.")


class SlaReminderEvent(CaseEvent):
    """The SLA job reminded the assignee (or the queue) at 80 % of the time to the deadline."""

    action: Literal["sla_reminded"]
    detail: SlaDetail


class SlaEscalationEvent(CaseEvent):
    """The SLA job found the deadline passed with no agent reply: `escalated`, the lead alerted."""

    action: Literal["escalated"]
    detail: SlaDetail


class DisputeFiledDetail(ResponseBody):
    transaction_id: str
    amount: int
    currency: Currency


class DisputeFiledEvent(CaseEvent):
    action: Literal["filed"]
    detail: DisputeFiledDetail


class DisputeAssignedDetail(ResponseBody):
    assignee: str = Field(description="The agent's user id.")


class DisputeAssignedEvent(CaseEvent):
    action: Literal["assigned"]
    detail: DisputeAssignedDetail


class DisputeUnderReviewEvent(CaseEvent):
    """The first agent reply moved it `open → under_review`."""

    action: Literal["under_review"]
    detail: None


class DisputeExtendedDetail(ResponseBody):
    resolve_by: Timestamp
    reason: str


class DisputeExtendedEvent(CaseEvent):
    action: Literal["extended"]
    detail: DisputeExtendedDetail


class DisputeRefundedDetail(ResponseBody):
    amount: int
    currency: Currency
    transaction_id: str = Field(description="The `refund` transaction.")
    note: str
    requested_by: str = omittable(
        description="After a four-eyes approval: the agent who asked for the refund (the event's `actor` approved it)."
    )


class DisputeRefundedEvent(CaseEvent):
    action: Literal["refunded"]
    detail: DisputeRefundedDetail


class DisputeApprovalRequestedDetail(ResponseBody):
    amount: int
    currency: Currency
    note: str


class DisputeApprovalRequestedEvent(CaseEvent):
    """A refund above 5,000 CNY equivalent was asked for: `awaiting_approval` by a second agent."""

    action: Literal["approval_requested"]
    detail: DisputeApprovalRequestedDetail


class DisputeRejectedDetail(ResponseBody):
    note: str


class DisputeRejectedEvent(CaseEvent):
    action: Literal["rejected"]
    detail: DisputeRejectedDetail


class DisputeWithdrawnEvent(CaseEvent):
    action: Literal["withdrawn"]
    detail: None


DisputeEvent = Annotated[
    DisputeFiledEvent
    | DisputeAssignedEvent
    | DisputeUnderReviewEvent
    | DisputeExtendedEvent
    | DisputeApprovalRequestedEvent
    | DisputeRefundedEvent
    | DisputeRejectedEvent
    | DisputeWithdrawnEvent
    | SlaReminderEvent
    | SlaEscalationEvent,
    Field(discriminator="action"),
]


class AgentDisputeDetail(AgentDispute):
    model_config = examples(
        {
            **AGENT_DISPUTE_REFUNDED_EXAMPLE,
            "messages": [{**_USER_MESSAGE, "author_id": USER_ID}, {**_AGENT_MESSAGE, "author_id": AGENT_ID}],
            "events": [
                {
                    "action": "filed",
                    "actor": USER_ID,
                    "at": "2026-11-24T09:30:00+08:00",
                    "detail": {"transaction_id": TRANSACTION_ID, "amount": 12800, "currency": "CNY"},
                },
                {"action": "under_review", "actor": AGENT_ID, "at": "2026-11-25T10:12:40+08:00", "detail": None},
                {
                    "action": "refunded",
                    "actor": AGENT_ID,
                    "at": "2026-11-26T15:02:11+08:00",
                    "detail": {
                        "amount": 12800,
                        "currency": "CNY",
                        "transaction_id": _REFUND_ID,
                        "note": "经核实为盗刷，已全额退款。",
                    },
                },
            ],
        }
    )

    messages: list[AgentMessage] = Field(description="The timeline, oldest first.")
    events: list[DisputeEvent] = Field(description="Every recorded transition, oldest first.")


class AgentDisputePage(Page):
    model_config = examples({"data": [_UNDER_REVIEW_FOR_AGENT], "next_cursor": None})

    data: list[AgentDispute] = Field(description="Oldest `respond_by` first.")
