"""Live chat (在线客服) as the user sees it, and the writes every chat change shares (section 12).

A chat is `waiting` (in the queue), `active` (an agent holds it) or `resolved`. Every change is one
TransactWriteItems conditioned on the chat's `version` being the one read: a message takes
`seq` = `last_seq` + 1 in the same transaction that stores it, so `seq` counts 1, 2, 3 … with no
gaps however many writers race; the loser re-reads the chat and tries again (bounded, then
`503 try_again`).

- One open chat per user: the claim `open_chat#<user_id>` (table `claims`, `ref` = the chat) is put
  (condition: absent) with the chat, or when a resolved chat is reopened, and deleted when it is
  resolved, in the same transactions; so parallel creates make exactly one chat (`409 chat_exists`).
- `client_msg_id`: a marker item written with the message (condition: absent); a resend finds the
  stored message (`200`), whatever its body.
- A user message on a chat resolved less than 24 hours ago reopens it (`waiting`); later,
  `409 chat_closed`.
- Card numbers in message bodies are masked before anything is stored (`chat_text`).
- After a change commits, the parties are told through `chat_push` (never an internal note to the
  user) and transcripts are emailed (`chat_transcripts`).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.chat_texts import CHAT_SYSTEM_MESSAGES
from chalicelib.i18n.locale import DEFAULT_LOCALE, pick
from chalicelib.services.common import rate_limits
from chalicelib.services.common.unit_of_work import Work, unit_of_work
from chalicelib.services.support import chat_push, chat_transcripts
from chalicelib.services.support.case_threads import instant
from chalicelib.services.support.chat_text import mask_card_numbers
from chalicelib.services.support.tickets import require_own_transaction
from chalicelib.store.chat_presence import AgentPresence
from chalicelib.store.chats import (
    ACTIVE,
    RESOLVED,
    WAITING,
    Chat,
    ChatMessage,
    client_key,
    count_staff_messages,
    get_chat,
    get_chat_message,
    messages_after,
    seq_key,
)
from chalicelib.store.users import Claim, get_user

MESSAGES_PER_MINUTE = 20  # per user, over all their chats; the first message of a chat counts
REOPEN_WITHIN = timedelta(hours=24)
WRITE_ATTEMPTS = 40  # a chat changed under us is re-read and the change written again
_T = TypeVar("_T")


class Retry(Exception):
    """The chat changed under the writer: read it again and rebuild the change."""


def open_claim(user_id: str) -> str:
    """The claim that holds the user's one waiting or active chat."""
    return f"open_chat#{user_id}"


# --- views -----------------------------------------------------------------------------------------


def queue_position(chat: Chat) -> int:
    """1-based place in the waiting queue (oldest `waiting_since` first)."""
    ahead = Chat.by_status.count(WAITING, Chat.waiting_since < chat.waiting_since)
    return ahead + 1


def chat_view(chat: Chat, *, for_agent: bool = False, position: int | None = None) -> dict[str, Any]:
    """`{chat}` as the contract shows it; agents also see the user and their own unread count."""
    view: dict[str, Any] = {"chat_id": chat.chat_id, "status": chat.status, "category": chat.category}
    if chat.assignee_id:
        view["assignee"] = {"agent_id": chat.assignee_id, "display_name": chat.assignee_name or ""}
    if chat.status == WAITING:
        view["queue_position"] = position if position is not None else queue_position(chat)
    if chat.status in (WAITING, ACTIVE):
        view["waiting_since"] = instant(chat.waiting_since)
    if chat.first_response_at:
        view["first_response_at"] = instant(chat.first_response_at)
    view["last_seq"] = int(chat.last_seq or 0)
    if for_agent:
        view["unread"] = max(0, int(chat.user_count or 0) - int(chat.agent_read_count or 0))
    else:
        view["unread"] = max(0, int(chat.staff_count or 0) - int(chat.user_read_count or 0))
    if chat.ticket_id:
        view["ticket_id"] = chat.ticket_id
    view["created_at"] = instant(chat.created_at)
    view["updated_at"] = instant(chat.updated_at)
    if for_agent:
        view["user_id"] = chat.user_id
        if chat.transaction_id:
            view["transaction_id"] = chat.transaction_id
        if chat.resolved_at:
            view["resolved_at"] = instant(chat.resolved_at)
    elif chat.transaction_id:
        view["transaction_id"] = chat.transaction_id
    return view


def message_view(message: ChatMessage, *, for_agent: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "seq": None if message.internal else int(message.seq),
        "sender": message.sender,
        "body": message.body,
        "sent_at": instant(message.sent_at),
    }
    if message.sender == "agent":
        view["agent_name"] = message.agent_name or ""
    if message.client_msg_id:
        view["client_msg_id"] = message.client_msg_id
    if for_agent:
        view["internal"] = bool(message.internal)
        if message.internal:
            view["after_seq"] = int(message.after_seq or 0)
        if message.author_id and message.sender != "system":
            view["author_id"] = message.author_id
    return view


# --- the writes every change shares ----------------------------------------------------------------


def retrying(attempt: Callable[[], _T]) -> _T:
    """Run `attempt` until it does not ask for a retry; bounded, then `503 try_again`."""
    for round_ in range(WRITE_ATTEMPTS):
        try:
            return attempt()
        except Retry:
            time.sleep(random.uniform(0, 0.004 * min(round_ + 1, 8)))  # noqa: S311 (jitter, not a secret)
    raise OkpayError("try_again", retry_after=1)


@contextmanager
def chat_write(now: datetime | None = None) -> Iterator[Work]:
    """One TransactWriteItems on a chat; when the chat changed under us (a condition failed, a
    conflict), `retrying` is asked for another round, which reads it again."""
    try:
        with unit_of_work(now) as work:
            yield work
    except TransactWriteError as error:
        if not lost_a_race(error):
            raise
        raise Retry from None


def lost_a_race(error: TransactWriteError) -> bool:
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(r is not None and r.code in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons)


def new_chat_message(
    chat: Chat,
    seq: int,
    sender: str,
    body: str,
    now: datetime,
    *,
    author_id: str | None = None,
    agent_name: str | None = None,
    client_msg_id: str | None = None,
) -> ChatMessage:
    return ChatMessage(
        chat.chat_id,
        seq_key(seq),
        message_id=f"cmsg_{uuid.uuid4().hex}",
        seq=seq,
        internal=False,
        sender=sender,
        author_id=author_id,
        agent_name=agent_name,
        body=body,
        client_msg_id=client_msg_id,
        sent_at=clock.stamp(now),
    )


def system_text(chat: Chat, event: str, **params: Any) -> str:
    """A system message in the chat user's language."""
    user = get_user(chat.user_id)
    locale = (user.locale if user else None) or DEFAULT_LOCALE
    return pick(CHAT_SYSTEM_MESSAGES[event], locale).format(**params)


def update_chat(work: Work, chat: Chat, actions: list[Any], *, appended: list[ChatMessage] = ()) -> None:
    """Write `appended` (numbered from `last_seq` + 1) and `actions` on the condition that the chat is
    still the version read; bumps `version`, `last_seq`, the counters and `updated_at`."""
    stamp = clock.stamp(clock.now()) if not appended else appended[-1].sent_at
    users = sum(1 for m in appended if m.sender == "user")
    staff = len(appended) - users
    every = [Chat.version.set(chat.version + 1), Chat.updated_at.set(stamp)]
    if appended:
        every.append(Chat.last_seq.set(int(chat.last_seq) + len(appended)))
    if users:
        every += [Chat.user_count.set(int(chat.user_count or 0) + users), Chat.last_user_at.set(stamp)]
    if staff:
        every.append(Chat.staff_count.set(int(chat.staff_count or 0) + staff))
    for message in appended:
        work.save(message, condition=ChatMessage.message_key.does_not_exist(), label="message")
    work.update(Chat(chat.chat_id), actions=every + actions, condition=Chat.version == chat.version, label="chat")


def release_open_claim(work: Work, chat: Chat) -> None:
    """The user may open another chat once this one is resolved (same transaction)."""
    work.delete(
        Claim(open_claim(chat.user_id)),
        condition=(Claim.ref == chat.chat_id) | Claim.claim.does_not_exist(),
        label="claim",
    )


def release_agent_slot(work: Work, chat: Chat) -> None:
    """The assignee holds one chat fewer (same transaction as the chat leaving `active`)."""
    if chat.status == ACTIVE and chat.assignee_id:
        work.update(AgentPresence(chat.assignee_id), actions=[AgentPresence.active.add(-1)], label="presence")


def resolve_in(
    work: Work, chat: Chat, now: datetime, *, by: str, text: str, ticket_id: str | None = None
) -> ChatMessage:
    """Resolve `chat` in `work`: a system message, the open claim and the agent's slot given back."""
    stamp = clock.stamp(now)
    message = new_chat_message(chat, int(chat.last_seq) + 1, "system", text, now)
    actions = [
        Chat.status.set(RESOLVED),
        Chat.resolved_at.set(stamp),
        Chat.resolved_by.set(by),
        Chat.active_assignee.remove(),
    ]
    if ticket_id:
        actions.append(Chat.ticket_id.set(ticket_id))
    update_chat(work, chat, actions, appended=[message])
    release_open_claim(work, chat)
    release_agent_slot(work, chat)
    return message


def as_resolved(chat: Chat, message: ChatMessage, *, by: str, ticket_id: str | None = None) -> Chat:
    """The chat as `resolve_in` left it (to answer and push without reading it again)."""
    chat.status = RESOLVED
    chat.resolved_at = chat.updated_at = message.sent_at
    chat.resolved_by = by
    chat.active_assignee = None
    chat.last_seq = int(chat.last_seq) + 1
    chat.staff_count = int(chat.staff_count or 0) + 1
    chat.version = int(chat.version) + 1
    if ticket_id:
        chat.ticket_id = ticket_id
    return chat


def _best_effort(push: Callable[[], None], frame_type: str) -> None:
    """A push never fails the committed change that caused it (clients catch up with `after_seq`)."""
    try:
        push()
    except Exception:
        logger.warning("chat push failed", extra={"frame_type": frame_type}, exc_info=True)


def push_message(chat: Chat, message: ChatMessage) -> None:
    """`message.new` to the user (never an internal note) and to the assignee."""
    _best_effort(lambda: _push_message(chat, message), "message.new")


def _push_message(chat: Chat, message: ChatMessage) -> None:
    if not message.internal:
        chat_push.to_user(
            chat.user_id, {"type": "message.new", "chat_id": chat.chat_id, "message": message_view(message)}
        )
    if chat.assignee_id:
        chat_push.to_agents(
            [chat.assignee_id],
            {"type": "message.new", "chat_id": chat.chat_id, "message": message_view(message, for_agent=True)},
        )


def push_chat(chat: Chat, *, extra_agents: tuple[str, ...] = ()) -> None:
    """`chat.updated` to the user and the assignee (each their own view)."""
    _best_effort(lambda: _push_chat(chat, extra_agents), "chat.updated")


def _push_chat(chat: Chat, extra_agents: tuple[str, ...]) -> None:
    chat_push.to_user(chat.user_id, {"type": "chat.updated", "chat": chat_view(chat)})
    agents = [a for a in dict.fromkeys([chat.assignee_id, *extra_agents]) if a]
    if agents:
        chat_push.to_agents(agents, {"type": "chat.updated", "chat": chat_view(chat, for_agent=True)})


def push_waiting(chat: Chat) -> None:
    """`chat.waiting` to every online agent: a chat joined the queue (new or reopened)."""
    _best_effort(
        lambda: chat_push.to_online_agents({"type": "chat.waiting", "chat": chat_view(chat, for_agent=True)}),
        "chat.waiting",
    )


# --- the user's routes ------------------------------------------------------------------------------


def own_chat(user_id: str, chat_id: str) -> Chat:
    chat = get_chat(chat_id)
    if chat is None or chat.user_id != user_id:
        raise OkpayError("not_found")
    return chat


def open_chat_ids(user_id: str) -> list[str]:
    """The user's waiting or active chats (at most one; agents' view of a user)."""
    try:
        claim = Claim.get(open_claim(user_id), consistent_read=True)
    except Claim.DoesNotExist:
        return []
    chat = get_chat(claim.ref or "")
    return [chat.chat_id] if chat is not None and chat.status in (WAITING, ACTIVE) else []


def _open_chat_of(user_id: str) -> str | None:
    try:
        return Claim.get(open_claim(user_id), consistent_read=True).ref
    except Claim.DoesNotExist:
        return None


def _count_message(user_id: str, now: datetime) -> None:
    rate_limits.hit(f"chat_messages#{user_id}", limit=MESSAGES_PER_MINUTE, window=timedelta(minutes=1), now=now)


def open_chat(user_id: str, body: str, category: str | None, transaction_id: str | None, now: datetime) -> dict:
    """A new `waiting` chat whose first message (`seq` 1) is `body`; 409 chat_exists while the user
    has a chat waiting or active."""
    _count_message(user_id, now)
    if transaction_id is not None:
        require_own_transaction(user_id, transaction_id)
    stamp = clock.stamp(now)
    chat = Chat(
        f"chat_{uuid.uuid4().hex}",
        user_id=user_id,
        status=WAITING,
        category=category or "other",
        transaction_id=transaction_id,
        waiting_since=stamp,
        last_seq=0,
        version=0,
        user_count=0,
        staff_count=0,
        user_read_seq=0,
        user_read_count=0,
        agent_read_count=0,
        created_at=stamp,
        updated_at=stamp,
    )
    first = new_chat_message(chat, 1, "user", mask_card_numbers(body), now, author_id=user_id)
    chat.last_seq, chat.user_count, chat.last_user_at = 1, 1, stamp
    existing = _open_chat_of(user_id)
    if existing:
        raise OkpayError("chat_exists", details={"chat_id": existing})
    view = chat_view(chat)
    try:
        with unit_of_work(now) as work:
            work.save(
                Claim(open_claim(user_id), user_id=user_id, created_at=stamp, ref=chat.chat_id),
                condition=Claim.claim.does_not_exist(),
                label="claim",
            )
            work.save(chat, condition=Chat.chat_id.does_not_exist(), label="chat")
            work.save(first, label="message")
            work.answer(201, view)
    except TransactWriteError as error:
        if not lost_a_race(error):
            raise
        existing = _open_chat_of(user_id)
        if existing:
            raise OkpayError("chat_exists", details={"chat_id": existing}) from None
        raise OkpayError("try_again", retry_after=1) from None
    logger.info("chat opened", extra={"user_id": user_id, "chat_id": chat.chat_id, "event": "chat_opened"})
    push_waiting(chat)
    return view


def list_chats(user_id: str, limit: int, start: dict | None) -> tuple[list[dict[str, Any]], dict | None]:
    """One page of the user's chats, newest first."""
    results = Chat.by_user.query(user_id, scan_index_forward=False, limit=limit, last_evaluated_key=start)
    items = [chat_view(chat) for chat in results]
    return items, results.last_evaluated_key


def read_chat(user_id: str, chat_id: str) -> dict[str, Any]:
    return chat_view(own_chat(user_id, chat_id))


def list_messages(user_id: str, chat_id: str, after_seq: int, limit: int) -> dict[str, Any]:
    """Messages after `after_seq`, oldest first, never an internal note; `next_cursor` is the last
    `seq` of the page (as a string) while there may be more."""
    own_chat(user_id, chat_id)
    items = messages_after(chat_id, after_seq, limit + 1, with_notes=False)
    page = items[:limit]
    more = len(items) > limit
    return {
        "data": [message_view(m) for m in page],
        "next_cursor": str(int(page[-1].seq)) if more and page else None,
    }


def _stored_reply(chat_id: str, client_msg_id: str) -> dict[str, Any] | None:
    marker = get_chat_message(chat_id, client_key(client_msg_id))
    if marker is None:
        return None
    message = get_chat_message(chat_id, seq_key(int(marker.seq)))
    return message_view(message) if message is not None else None


def send_user_message(user_id: str, chat_id: str, body: str, client_msg_id: str, now: datetime) -> tuple[dict, int]:
    """The user writes in their chat: `(message, 201)`, or the stored one `(message, 200)` for a
    `client_msg_id` already used in that chat. On a chat resolved < 24 h ago it reopens it."""
    chat = get_chat(chat_id)  # read once: the transaction below is conditioned on its version
    mine = chat is not None and chat.user_id == user_id
    if mine:
        stored = _stored_reply(chat_id, client_msg_id)
        if stored is not None:  # a resend: not a new message, so not counted either
            return stored, 200
    _count_message(user_id, now)  # 429 before 404 (contract, section 1)
    if not mine:
        raise OkpayError("not_found")
    masked = mask_card_numbers(body)
    outcome: dict[str, Any] = {"read": chat}

    def attempt() -> tuple[dict, int]:
        current = outcome.pop("read", None) or own_chat(user_id, chat_id)  # read again after a lost race
        reopen = current.status == RESOLVED
        if reopen and now - clock.from_stamp(current.resolved_at) > REOPEN_WITHIN:
            raise OkpayError("chat_closed", details=None)
        message = new_chat_message(
            current, int(current.last_seq) + 1, "user", masked, now, author_id=user_id, client_msg_id=client_msg_id
        )
        view = message_view(message)
        actions: list[Any] = []
        if reopen:
            actions += [
                Chat.status.set(WAITING),
                Chat.waiting_since.set(message.sent_at),
                Chat.assignee_id.remove(),
                Chat.assignee_name.remove(),
                Chat.resolved_at.remove(),
                Chat.resolved_by.remove(),
            ]
        try:
            with unit_of_work(now) as work:
                work.save(
                    ChatMessage(chat_id, client_key(client_msg_id), seq=message.seq, client_msg_id=client_msg_id),
                    condition=ChatMessage.message_key.does_not_exist(),
                    label="marker",
                )
                if reopen:
                    work.save(
                        Claim(open_claim(user_id), user_id=user_id, created_at=message.sent_at, ref=chat_id),
                        condition=Claim.claim.does_not_exist(),
                        label="claim",
                    )
                update_chat(work, current, actions, appended=[message])
                work.answer(201, view)
        except TransactWriteError as error:
            if not lost_a_race(error):
                raise
            stored = _stored_reply(chat_id, client_msg_id)
            if stored is not None:
                return stored, 200
            if reopen:
                other = _open_chat_of(user_id)
                if other and other != chat_id:
                    raise OkpayError("chat_exists", details={"chat_id": other}) from None
            raise Retry from None
        outcome["chat"], outcome["message"], outcome["reopened"] = current, message, reopen
        return view, 201

    view, status = retrying(attempt)
    if status == 201:
        _after_user_message(outcome["chat"], outcome["message"], reopened=outcome["reopened"])
    return view, status


def _after_user_message(chat: Chat, message: ChatMessage, *, reopened: bool) -> None:
    previous_assignee = chat.assignee_id
    chat.last_seq, chat.updated_at = message.seq, message.sent_at
    chat.user_count = int(chat.user_count or 0) + 1
    if reopened:
        chat.status, chat.waiting_since = WAITING, message.sent_at
        chat.assignee_id = chat.assignee_name = chat.resolved_at = None
    push_message(chat, message)
    if reopened:
        logger.info("chat reopened", extra={"chat_id": chat.chat_id, "event": "chat_reopened"})
        push_chat(chat, extra_agents=(previous_assignee,) if previous_assignee else ())
        push_waiting(chat)


def mark_read(user_id: str, chat_id: str, up_to_seq: int) -> None:
    """The user has read up to `up_to_seq` (capped at `last_seq`); the mark never moves back."""

    def attempt() -> None:
        chat = own_chat(user_id, chat_id)
        target = min(up_to_seq, int(chat.last_seq))
        if target <= int(chat.user_read_seq or 0):
            return
        read = count_staff_messages(chat_id, target)
        with chat_write() as work:
            work.update(
                Chat(chat_id),
                actions=[Chat.user_read_seq.set(target), Chat.user_read_count.set(read)],
                condition=(Chat.user_read_seq < target) | Chat.user_read_seq.does_not_exist(),
            )

    retrying(attempt)


def close_chat(user_id: str, chat_id: str, now: datetime) -> dict[str, Any]:
    """The user ends their chat (`resolved`); the transcript goes to their verified email. An already
    resolved chat is answered as it is and nothing is sent again."""
    own_chat(user_id, chat_id)
    done: dict[str, Any] = {}

    def attempt() -> Chat:
        chat = own_chat(user_id, chat_id)
        if chat.status == RESOLVED:
            return chat
        with chat_write(now) as work:
            message = resolve_in(work, chat, now, by="user", text=system_text(chat, "closed_by_user"))
            as_resolved(chat, message, by="user")
            work.answer(200, chat_view(chat))
        done["message"] = message
        return chat

    chat = retrying(attempt)
    if "message" in done:
        after_resolved(chat, done["message"])
    return chat_view(chat)


def after_resolved(chat: Chat, message: ChatMessage, *, ticket_id: str | None = None) -> None:
    """What follows a committed resolve: the pushes, then the email (transcript, or the ticket's)."""
    logger.info("chat resolved", extra={"chat_id": chat.chat_id, "by": chat.resolved_by, "event": "chat_resolved"})
    push_message(chat, message)
    push_chat(chat)
    if ticket_id:
        chat_transcripts.email_ticket(chat, ticket_id)
    else:
        chat_transcripts.email_transcript(chat)
