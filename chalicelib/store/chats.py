"""Live chats (table `chats`) and their messages (table `chat-messages`), contract section 12.

`chats`: one item per chat, hash key `chat_id` ("chat_<hex>"). Every change to a chat is written on
the condition that `version` is still the one read (optimistic concurrency), so a message's `seq`
(`last_seq` + 1), an accept and a resolve can never interleave: the loser re-reads and tries again.
Indexes:
- `by_user` (`user_id`, `created_at`): the user's chats, newest first;
- `by_status` (`status`, `waiting_since`): the waiting queue oldest first (agents' queue, queue
  positions, the `chat_queue` job), and the active chats the same way;
- `by_active_assignee` (`active_assignee`, `waiting_since`), sparse: the chats an agent holds while
  they are `active` (`GET /admin/chats?mine=true`).

`chat-messages`: hash `chat_id`, range `message_key`:
- `seq#<seq:010d>`: a message with its gap-free `seq` (user, agent or system);
- `seq#<after_seq:010d>#note#<stamp>#<id>`: an agents' internal note, sorted right after the
  message it followed (never read by the user's routes);
- `client#<client_msg_id>`: the marker of a user's message with that `client_msg_id`, written with
  the message (condition: not there), holding its `seq`, so a resend finds the stored message.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel, StageTable

WAITING, ACTIVE, RESOLVED = "waiting", "active", "resolved"
OPEN_STATUSES = (WAITING, ACTIVE)


class ChatsByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ChatsByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    waiting_since = UnicodeAttribute(range_key=True)


class ChatsByActiveAssignee(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_active_assignee"
        projection = AllProjection()

    active_assignee = UnicodeAttribute(hash_key=True)
    waiting_since = UnicodeAttribute(range_key=True)


class Chat(BaseModel):
    class Meta(metaclass=StageTable):
        table = "chats"

    chat_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    status = UnicodeAttribute()  # waiting | active | resolved
    category = UnicodeAttribute(default="other")
    transaction_id = UnicodeAttribute(null=True)
    assignee_id = UnicodeAttribute(null=True)  # the agent's user_id while active (kept once resolved)
    assignee_name = UnicodeAttribute(null=True)
    active_assignee = UnicodeAttribute(null=True)  # = assignee_id while active only (sparse index)
    waiting_since = UnicodeAttribute()  # stamp: when it last became waiting (created or reopened)
    first_response_at = UnicodeAttribute(null=True)
    last_seq = NumberAttribute(default=0)
    version = NumberAttribute(default=0)  # every write: condition version == read, then +1
    user_count = NumberAttribute(default=0)  # messages by the user
    staff_count = NumberAttribute(default=0)  # messages by agents and the system
    user_read_seq = NumberAttribute(default=0)  # the user's read mark (monotonic)
    user_read_count = NumberAttribute(default=0)  # staff messages at or before that mark
    agent_read_count = NumberAttribute(default=0)  # user messages before the assignee's last message
    last_user_at = UnicodeAttribute(null=True)
    last_agent_at = UnicodeAttribute(null=True)  # the last non-internal agent message
    ticket_id = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)  # user | agent | job
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    by_user = ChatsByUser()
    by_status = ChatsByStatus()
    by_active_assignee = ChatsByActiveAssignee()


class ChatMessage(BaseModel):
    class Meta(metaclass=StageTable):
        table = "chat-messages"

    chat_id = UnicodeAttribute(hash_key=True)
    message_key = UnicodeAttribute(range_key=True)
    message_id = UnicodeAttribute(null=True)
    seq = NumberAttribute(null=True)  # null for internal notes
    after_seq = NumberAttribute(null=True)  # internal notes: the last seq when written
    internal = BooleanAttribute(default=False)
    sender = UnicodeAttribute(null=True)  # user | agent | system
    author_id = UnicodeAttribute(null=True)
    agent_name = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)  # card numbers already masked
    client_msg_id = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)


def seq_key(seq: int) -> str:
    return f"seq#{seq:010d}"


def note_key(after_seq: int, stamp: str, message_id: str) -> str:
    return f"{seq_key(after_seq)}#note#{stamp}#{message_id}"


def client_key(client_msg_id: str) -> str:
    return f"client#{client_msg_id}"


def get_chat(chat_id: str) -> Chat | None:
    """The chat (strongly consistent read), or None; ids that are not `chat_…` are None."""
    if not chat_id.startswith("chat_"):
        return None
    try:
        return Chat.get(chat_id, consistent_read=True)
    except Chat.DoesNotExist:
        return None


def get_chat_message(chat_id: str, message_key: str) -> ChatMessage | None:
    try:
        return ChatMessage.get(chat_id, message_key, consistent_read=True)
    except ChatMessage.DoesNotExist:
        return None


def messages_after(chat_id: str, after_seq: int, limit: int, *, with_notes: bool) -> list[ChatMessage]:
    """Up to `limit` messages after `after_seq`, oldest first; internal notes only `with_notes`."""
    condition = ChatMessage.message_key.between(seq_key(after_seq + 1), seq_key(9_999_999_999))
    items = []
    for item in ChatMessage.query(chat_id, condition, consistent_read=True, page_size=min(100, limit + 10)):
        if item.internal and not with_notes:
            continue
        items.append(item)
        if len(items) >= limit:
            break
    return items


def all_messages(chat_id: str, *, with_notes: bool, cap: int = 2000) -> list[ChatMessage]:
    return messages_after(chat_id, 0, cap, with_notes=with_notes)


def count_staff_messages(chat_id: str, up_to_seq: int) -> int:
    """Agent and system messages with seq ≤ `up_to_seq` (messages are never changed, so exact)."""
    if up_to_seq <= 0:
        return 0
    condition = ChatMessage.message_key.between(seq_key(1), seq_key(up_to_seq))
    return sum(
        1
        for item in ChatMessage.query(chat_id, condition, consistent_read=True)
        if not item.internal and item.sender in ("agent", "system")
    )
