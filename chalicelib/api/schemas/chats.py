"""Request and response models of the live-chat routes (chalicelib/api/support/chats.py), section 12."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.api.schemas.common import (
    Page,
    PageQuery,
    Query,
    RequestBody,
    ResponseBody,
    Timestamp,
    examples,
    omittable,
)
from chalicelib.api.schemas.disputes import AGENT_ID, CURSOR, USER_ID
from chalicelib.api.schemas.tickets import AgentTicket, Category, Id

# The to-ticket answer is the ticket as agents see it (re-exported for the route's `response=`).
__all__ = ["AgentTicket"]

ChatStatus = Literal["waiting", "active", "resolved"]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ClientMsgId = Annotated[str, StringConstraints(min_length=1, max_length=64)]

_CHAT_ID = "chat_5e7a9c1b3d5f7a9c2e4b6d8f0a1c3e5b"
_QUESTION = "你好，我的银行卡 **** 1234 充值失败了，钱扣了但钱包没到账。"
_WAITING = {
    "chat_id": _CHAT_ID,
    "status": "waiting",
    "category": "payment",
    "queue_position": 2,
    "waiting_since": "2026-11-24T09:30:00+08:00",
    "last_seq": 1,
    "unread": 0,
    "created_at": "2026-11-24T09:30:00+08:00",
    "updated_at": "2026-11-24T09:30:00+08:00",
}
_ASSIGNEE = {"agent_id": AGENT_ID, "display_name": "客服 小王"}
_ACTIVE = {
    "chat_id": _CHAT_ID,
    "status": "active",
    "category": "payment",
    "assignee": _ASSIGNEE,
    "waiting_since": "2026-11-24T09:30:00+08:00",
    "first_response_at": "2026-11-24T09:31:12+08:00",
    "last_seq": 3,
    "unread": 1,
    "created_at": "2026-11-24T09:30:00+08:00",
    "updated_at": "2026-11-24T09:31:12+08:00",
}
_RESOLVED = {
    **_ACTIVE,
    "status": "resolved",
    "last_seq": 5,
    "unread": 0,
    "updated_at": "2026-11-24T09:40:03+08:00",
}
del _RESOLVED["waiting_since"]
_USER_MESSAGE = {"seq": 1, "sender": "user", "body": _QUESTION, "sent_at": "2026-11-24T09:30:00+08:00"}
_SYSTEM_MESSAGE = {
    "seq": 2,
    "sender": "system",
    "body": "客服 小王 已接入对话，为您服务。",
    "sent_at": "2026-11-24T09:30:41+08:00",
}
_AGENT_MESSAGE = {
    "seq": 3,
    "sender": "agent",
    "body": "您好，我查一下这笔充值，请稍等。",
    "sent_at": "2026-11-24T09:31:12+08:00",
    "agent_name": "客服 小王",
}
_NEW_MESSAGE = {
    "seq": 4,
    "sender": "user",
    "body": "好的，谢谢。",
    "sent_at": "2026-11-24T09:31:40+08:00",
    "client_msg_id": "c-3f1e9a",
}
_NOTE = {
    "seq": None,
    "sender": "agent",
    "body": "银行侧显示处理中，预计 T+1 到账。",
    "sent_at": "2026-11-24T09:32:05+08:00",
    "agent_name": "客服 小王",
    "internal": True,
    "after_seq": 4,
    "author_id": AGENT_ID,
}


def _for_agent(message: dict, author: str | None) -> dict:
    return {**message, "internal": False, **({"author_id": author} if author else {})}


# --- requests --------------------------------------------------------------------------------------


class ChatCreate(RequestBody):
    model_config = examples(
        {"body": "你好，我的一笔充值扣款了但钱包没到账。", "category": "payment", "transaction_id": "txn_3a5c7e9b1d"},
        {"body": "How do I change my phone number?"},
    )

    body: Body = Field(description="The first message, 1–2,000 characters after trimming; stored as `seq` 1.")
    category: Category | None = Field(default=None, description="As tickets; `other` when left out.")
    transaction_id: Id | None = Field(default=None, description="A transaction of the caller's the chat is about.")


class ChatMessageCreate(RequestBody):
    model_config = examples({"body": "好的，谢谢。", "client_msg_id": "c-3f1e9a"})

    body: Body = Field(description="1–2,000 characters after trimming.")
    client_msg_id: ClientMsgId = Field(
        description="Chosen by the client, unique per message (1–64 characters): a resend with the same value in "
        "this chat answers the stored message (`200`) and stores nothing."
    )


class ChatReadMark(RequestBody):
    model_config = examples({"up_to_seq": 3})

    up_to_seq: int = Field(
        ge=0, description="The last `seq` the user has seen; a lower mark than before changes nothing."
    )


class ChatMessagesQuery(Query):
    after_seq: int = Field(
        default=0, ge=0, description="Only messages with a higher `seq` (default 0: from the start)."
    )
    limit: int = Field(default=20, ge=1, le=100, description="Messages per page, 1–100 (default 20).")
    cursor: Annotated[str, Field(min_length=1, max_length=32)] | None = Field(
        default=None, description="The `next_cursor` of the previous page (it stands for `after_seq`)."
    )


class AgentChatMessageCreate(RequestBody):
    model_config = examples(
        {"body": "您好，我查一下这笔充值，请稍等。"}, {"body": "银行侧显示处理中，预计 T+1 到账。", "internal": True}
    )

    body: Body = Field(description="1–2,000 characters after trimming.")
    internal: bool | None = Field(
        default=None, description="True: an internal note for agents only (`seq: null`); never reaches the user."
    )


class PresenceUpdate(RequestBody):
    model_config = examples({"status": "online", "max_chats": 3}, {"status": "away"})

    status: Literal["online", "away"] = Field(description="`online`: offered new chats and able to accept them.")
    max_chats: int | None = Field(default=None, ge=1, le=10, description="Chats held at once, 1–10 (default 3).")


class ChatQueueQuery(PageQuery):
    status: Literal["waiting", "active"] | None = Field(
        default=None, description="Default: waiting and active chats together."
    )
    mine: bool | None = Field(default=None, description="`true`: only the active chats the caller holds.")


# --- the chat and its messages -----------------------------------------------------------------------


class ChatAssignee(ResponseBody):
    model_config = examples(_ASSIGNEE)

    agent_id: str
    display_name: str


class Chat(ResponseBody):
    """A live chat (在线客服): `waiting` in the queue, `active` with an agent, or `resolved`."""

    model_config = examples(_WAITING, _ACTIVE, _RESOLVED)

    chat_id: str
    status: ChatStatus = Field(
        description="`waiting` until an agent accepts it, then `active`; `resolved` when the user, the agent or "
        "the `chat_queue` job ends it. A user message within 24 hours of resolution makes it `waiting` again."
    )
    category: Category
    assignee: ChatAssignee = omittable(description="The agent who holds (or last held) the chat.")
    queue_position: int = omittable(description="1-based place in the queue; only while `waiting`.")
    waiting_since: Timestamp = omittable(description="When it last joined the queue; while waiting or active.")
    first_response_at: Timestamp = omittable(description="The first agent reply the user saw.")
    last_seq: int = Field(description="The highest message `seq`; messages count 1, 2, 3 … with no gaps.")
    unread: int = Field(description="Messages the viewer has not read (for the user: agent and system messages).")
    ticket_id: str = omittable(description="The ticket the chat became (to-ticket, or the `chat_queue` job).")
    transaction_id: str = omittable(description="The transaction the chat is about.")
    created_at: Timestamp
    updated_at: Timestamp


class ChatPage(Page):
    model_config = examples({"data": [_ACTIVE], "next_cursor": CURSOR})

    data: list[Chat] = Field(description="Newest first.")


class ChatMessage(ResponseBody):
    model_config = examples(_NEW_MESSAGE, _AGENT_MESSAGE, _SYSTEM_MESSAGE)

    seq: int = Field(description="1, 2, 3 … in the chat, with no gaps.")
    sender: Literal["user", "agent", "system"]
    body: str = Field(description="As sent, card numbers shown as `**** 1234`.")
    sent_at: Timestamp
    agent_name: str = omittable(description="The agent's display name, on agent messages.")
    client_msg_id: str = omittable(description="The user's `client_msg_id`, on user messages sent with one.")


class ChatMessagePage(ResponseBody):
    model_config = examples({"data": [_USER_MESSAGE, _SYSTEM_MESSAGE, _AGENT_MESSAGE], "next_cursor": None})

    data: list[ChatMessage] = Field(description="Oldest first; internal notes never appear.")
    next_cursor: str | None = Field(
        description="Pass as ?cursor= (or use the last `seq` as ?after_seq=); null at the end."
    )


class AgentChatMessage(ResponseBody):
    model_config = examples(_for_agent(_AGENT_MESSAGE, AGENT_ID), _NOTE)

    seq: int | None = Field(description="The message's `seq`; null for an internal note.")
    sender: Literal["user", "agent", "system"]
    body: str
    sent_at: Timestamp
    internal: bool = Field(description="An internal note: agents only, never shown or pushed to the user.")
    after_seq: int = omittable(description="Internal notes: the chat's `last_seq` when it was written.")
    agent_name: str = omittable(description="The agent's display name, on agent messages.")
    client_msg_id: str = omittable(description="The user's `client_msg_id`, on user messages sent with one.")
    author_id: str = omittable(description="The user or agent who wrote it (not on system messages).")


class AgentChat(Chat):
    """A chat as agents see it: with its user; `unread` counts the user's messages since the
    assignee's last message."""

    model_config = examples({**_WAITING, "user_id": USER_ID}, {**_ACTIVE, "user_id": USER_ID})

    user_id: str = Field(description="The customer.")
    resolved_at: Timestamp = omittable(description="When it was resolved.")


class AgentChatDetail(AgentChat):
    model_config = examples(
        {
            **_ACTIVE,
            "user_id": USER_ID,
            "last_seq": 4,
            "messages": [
                _for_agent(_USER_MESSAGE, USER_ID),
                _for_agent(_SYSTEM_MESSAGE, None),
                _for_agent(_AGENT_MESSAGE, AGENT_ID),
                _for_agent(_NEW_MESSAGE, USER_ID),
                _NOTE,
            ],
        }
    )

    messages: list[AgentChatMessage] = Field(
        description="Every message oldest first, internal notes right after the `seq` they followed."
    )


class AgentChatPage(Page):
    model_config = examples({"data": [{**_WAITING, "queue_position": 1, "user_id": USER_ID}], "next_cursor": None})

    data: list[AgentChat] = Field(description="Oldest `waiting_since` first.")


class Presence(ResponseBody):
    model_config = examples(
        {
            "agent_id": AGENT_ID,
            "status": "online",
            "max_chats": 3,
            "active_chats": 1,
            "updated_at": "2026-11-24T09:00:00+08:00",
        }
    )

    agent_id: str
    status: Literal["online", "away"] = Field(description="`online` agents are offered new chats.")
    max_chats: int = Field(description="Chats held at once, 1–10.")
    active_chats: int = Field(description="Chats held now (it can exceed `max_chats` after the limit is lowered).")
    updated_at: Timestamp | None = Field(description="The last change.")
