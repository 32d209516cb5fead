"""Live chat as agents work it: presence, the queue, accepting, replying, resolving, to-ticket, and
what the `chat_queue` job does to a chat (section 12).

Accepting is ONE TransactWriteItems: the chat goes `waiting → active` (condition: still the version
read, so still waiting) and the agent's presence takes a slot (condition: online and
`active < max_chats`), so several agents accepting at once make one assignee and one agent
accepting many chats at once never holds more than `max_chats`. An agent with no presence yet is
taken as online with the default 3 chats. Every way a chat leaves `active` gives the slot back in
its own transaction. An agent never handles a chat of their own account (`403 own_case`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.chat_texts import CHAT_TICKET_SUBJECT
from chalicelib.i18n.locale import DEFAULT_LOCALE, pick
from chalicelib.services.common.unit_of_work import Work, unit_of_work
from chalicelib.services.identity.agents import refuse_own_case
from chalicelib.services.support import chat_transcripts
from chalicelib.services.support.case_threads import new_message
from chalicelib.services.support.chat_text import mask_card_numbers
from chalicelib.services.support.chats import (
    Retry,
    after_resolved,
    as_resolved,
    chat_view,
    chat_write,
    lost_a_race,
    message_view,
    new_chat_message,
    push_chat,
    push_message,
    resolve_in,
    retrying,
    system_text,
    update_chat,
)
from chalicelib.services.support.queue_pages import merge_page, pending_statuses
from chalicelib.services.support.tickets import new_ticket, thread_of, ticket_view
from chalicelib.store.audit import audit_event
from chalicelib.store.chat_presence import DEFAULT_MAX_CHATS, ONLINE, AgentPresence, get_presence
from chalicelib.store.chats import ACTIVE, RESOLVED, WAITING, Chat, ChatMessage, all_messages, get_chat, note_key
from chalicelib.store.users import get_user

QUEUE_STATUSES = (WAITING, ACTIVE)  # GET /admin/chats without ?status


def agent_name(agent_id: str) -> str:
    agent = get_user(agent_id)
    return (agent.display_name if agent else None) or "Okpay"


def agent_chat(chat_id: str) -> Chat:
    chat = get_chat(chat_id)
    if chat is None:
        raise OkpayError("not_found")
    return chat


def chat_to_work(agent_id: str, chat_id: str) -> Chat:
    """404 when there is no such chat, then 403 own_case for the agent's own (before any 409)."""
    chat = agent_chat(chat_id)
    refuse_own_case(agent_id, chat.user_id)
    return chat


# --- presence --------------------------------------------------------------------------------------


def presence_view(presence: AgentPresence) -> dict[str, Any]:
    return {
        "agent_id": presence.agent_id,
        "status": presence.status,
        "max_chats": int(presence.max_chats),
        "active_chats": max(0, int(presence.active or 0)),
        "updated_at": clock.isoformat(clock.from_stamp(presence.updated_at)) if presence.updated_at else None,
    }


def set_presence(agent_id: str, status: str, max_chats: int | None, now: datetime) -> dict[str, Any]:
    """`online` or `away`, and how many chats at once (default 3); the chats held stay held."""
    stamp = clock.stamp(now)
    AgentPresence(agent_id).update(
        actions=[
            AgentPresence.status.set(status),
            AgentPresence.max_chats.set(max_chats or DEFAULT_MAX_CHATS),
            AgentPresence.active.set(AgentPresence.active | 0),
            AgentPresence.display_name.set(agent_name(agent_id)),
            AgentPresence.updated_at.set(stamp),
        ]
    )
    logger.info("agent presence", extra={"agent_id": agent_id, "status": status, "event": "chat_presence"})
    return presence_view(get_presence(agent_id))


# --- reading ---------------------------------------------------------------------------------------


def read_for_agent(chat_id: str) -> dict[str, Any]:
    """The chat with every message, internal notes in their place (after the `seq` they followed)."""
    chat = agent_chat(chat_id)
    view = chat_view(chat, for_agent=True)
    view["messages"] = [message_view(m, for_agent=True) for m in all_messages(chat_id, with_notes=True)]
    return view


def queue_page(
    agent_id: str, statuses: tuple[str, ...], mine: bool, *, limit: int, position: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Oldest `waiting_since` first: one Query per status on `by_status` (or, for `mine`, on the
    agent's `by_active_assignee`), merged."""
    position = dict(position or {})
    streams: dict[str, list[Chat]] = {}
    for status in pending_statuses(statuses, position):
        if mine:
            if status != ACTIVE:
                streams[status] = []
                continue
            results = Chat.by_active_assignee.query(
                agent_id, limit=limit + 1, page_size=limit + 1, last_evaluated_key=position.get(status)
            )
        else:
            results = Chat.by_status.query(
                status, limit=limit + 1, page_size=limit + 1, last_evaluated_key=position.get(status)
            )
        streams[status] = list(results)
    page, following = merge_page(
        streams,
        limit=limit,
        due=lambda c: c.waiting_since,
        index_key=lambda c: _index_key(c, mine),
        position=position,
    )
    views = []
    ahead: int | None = None
    for chat in page:
        if chat.status == WAITING:
            # The queue is read in order: the first waiting chat's place is counted, the next ones follow.
            ahead = (
                Chat.by_status.count(WAITING, Chat.waiting_since < chat.waiting_since) if ahead is None else ahead + 1
            )
            views.append(chat_view(chat, for_agent=True, position=ahead + 1))
        else:
            views.append(chat_view(chat, for_agent=True))
    return views, following


def _index_key(chat: Chat, mine: bool) -> dict[str, Any]:
    key = {"chat_id": {"S": chat.chat_id}, "waiting_since": {"S": chat.waiting_since}}
    if mine:
        key["active_assignee"] = {"S": chat.active_assignee}
    else:
        key["status"] = {"S": chat.status}
    return key


# --- accepting -------------------------------------------------------------------------------------


def accept(agent_id: str, chat_id: str, now: datetime) -> dict[str, Any]:
    """The agent takes a waiting chat: `active` with them as the assignee. The first to accept wins
    (`409 chat_taken` for the others); away or at `max_chats` → `409 chat_limit_reached`; the
    assignee again → the chat as it is."""
    chat_to_work(agent_id, chat_id)
    name = agent_name(agent_id)
    done: dict[str, Any] = {}

    def attempt() -> Chat:
        chat = agent_chat(chat_id)
        if chat.status == ACTIVE:
            if chat.assignee_id == agent_id:
                return chat
            raise OkpayError("chat_taken")
        if chat.status == RESOLVED:
            raise OkpayError("chat_not_active")
        presence = get_presence(agent_id)
        if presence is not None and (presence.status != ONLINE or int(presence.active or 0) >= int(presence.max_chats)):
            raise OkpayError("chat_limit_reached")
        message = new_chat_message(chat, int(chat.last_seq) + 1, "system", system_text(chat, "joined", name=name), now)
        with chat_write(now) as work:
            update_chat(
                work,
                chat,
                [
                    Chat.status.set(ACTIVE),
                    Chat.assignee_id.set(agent_id),
                    Chat.assignee_name.set(name),
                    Chat.active_assignee.set(agent_id),
                    Chat.agent_read_count.set(int(chat.user_count or 0)),
                ],
                appended=[message],
            )
            work.update(
                AgentPresence(agent_id),
                actions=[
                    AgentPresence.active.add(1),
                    AgentPresence.status.set(AgentPresence.status | ONLINE),
                    AgentPresence.max_chats.set(AgentPresence.max_chats | DEFAULT_MAX_CHATS),
                    AgentPresence.display_name.set(name),
                ],
                condition=AgentPresence.agent_id.does_not_exist()
                | ((AgentPresence.status == ONLINE) & (AgentPresence.active < AgentPresence.max_chats)),
                label="presence",
            )
            chat.status, chat.assignee_id, chat.assignee_name = ACTIVE, agent_id, name
            chat.active_assignee = agent_id
            chat.agent_read_count = int(chat.user_count or 0)
            chat.last_seq, chat.updated_at = message.seq, message.sent_at
            chat.staff_count = int(chat.staff_count or 0) + 1
            work.answer(200, chat_view(chat, for_agent=True))
        done["message"] = message
        return chat

    chat = retrying(attempt)
    if "message" in done:
        logger.info("chat accepted", extra={"chat_id": chat_id, "agent_id": agent_id, "event": "chat_accepted"})
        push_message(chat, done["message"])
        push_chat(chat)
    return chat_view(chat, for_agent=True)


# --- writing ---------------------------------------------------------------------------------------


def _require_assignee(chat: Chat, agent_id: str) -> None:
    """Only the assignee writes in an active chat: another agent → chat_taken; not active → chat_not_active."""
    if chat.status == ACTIVE and chat.assignee_id != agent_id:
        raise OkpayError("chat_taken")
    if chat.status != ACTIVE:
        raise OkpayError("chat_not_active")


def agent_message(agent_id: str, chat_id: str, body: str, internal: bool, now: datetime) -> dict[str, Any]:
    """The assignee's reply (the user sees it; the first one sets `first_response_at`) or an internal
    note (`seq: null`, `after_seq`: the last `seq` then; only agents ever see it)."""
    chat_to_work(agent_id, chat_id)
    masked = mask_card_numbers(body)
    done: dict[str, Any] = {}

    def attempt() -> dict[str, Any]:
        chat = agent_chat(chat_id)
        _require_assignee(chat, agent_id)
        name = chat.assignee_name or agent_name(agent_id)
        stamp = clock.stamp(now)
        with chat_write(now) as work:
            if internal:
                message_id = f"cmsg_{uuid.uuid4().hex}"
                message = ChatMessage(
                    chat_id,
                    note_key(int(chat.last_seq), stamp, message_id),
                    message_id=message_id,
                    seq=None,
                    after_seq=int(chat.last_seq),
                    internal=True,
                    sender="agent",
                    author_id=agent_id,
                    agent_name=name,
                    body=masked,
                    sent_at=stamp,
                )
                work.save(message, condition=ChatMessage.message_key.does_not_exist(), label="message")
                # Still the assignee's active chat, and no message since: `after_seq` is exact.
                work.condition_check(
                    Chat,
                    chat_id,
                    condition=(Chat.version == chat.version),
                    label="chat",
                )
            else:
                message = new_chat_message(
                    chat, int(chat.last_seq) + 1, "agent", masked, now, author_id=agent_id, agent_name=name
                )
                actions = [Chat.last_agent_at.set(stamp), Chat.agent_read_count.set(int(chat.user_count or 0))]
                if not chat.first_response_at:
                    actions.append(Chat.first_response_at.set(stamp))
                update_chat(work, chat, actions, appended=[message])
            view = message_view(message, for_agent=True)
            work.answer(201, view)
        done["chat"], done["message"] = chat, message
        return view

    view = retrying(attempt)
    push_message(done["chat"], done["message"])
    return view


def _require_resolvable(chat: Chat, agent_id: str) -> None:
    """The assignee resolves an active chat; any agent a waiting one."""
    if chat.status == ACTIVE and chat.assignee_id != agent_id:
        raise OkpayError("chat_taken")


def resolve(agent_id: str, chat_id: str, now: datetime) -> dict[str, Any]:
    """`resolved`, the transcript emailed; already resolved → the chat as it is, nothing sent again."""
    chat_to_work(agent_id, chat_id)
    done: dict[str, Any] = {}

    def attempt() -> Chat:
        chat = agent_chat(chat_id)
        if chat.status == RESOLVED:
            return chat
        _require_resolvable(chat, agent_id)
        with chat_write(now) as work:
            message = resolve_in(work, chat, now, by="agent", text=system_text(chat, "resolved"))
            as_resolved(chat, message, by="agent")
            work.answer(200, chat_view(chat, for_agent=True))
        done["message"] = message
        return chat

    chat = retrying(attempt)
    if "message" in done:
        after_resolved(chat, done["message"])
    return chat_view(chat, for_agent=True)


# --- turning a chat into a ticket ------------------------------------------------------------------


def _ticket_in(work: Work, chat: Chat, now: datetime, actor: str) -> Any:
    """A ticket (`source: chat`) whose first message is the transcript so far, in `work`."""
    user = get_user(chat.user_id)
    locale = (user.locale if user else None) or DEFAULT_LOCALE
    first = next(iter(all_messages(chat.chat_id, with_notes=False)), None)
    excerpt = (first.body if first else chat.chat_id).replace("\n", " ")
    excerpt = excerpt if len(excerpt) <= 80 else excerpt[:79] + "…"
    subject = pick(CHAT_TICKET_SUBJECT, locale).format(excerpt=excerpt)[:120]
    ticket = new_ticket(chat.user_id, subject, chat.category, chat.transaction_id, now, source="chat")
    transcript = chat_transcripts.transcript_text(chat.chat_id, locale)
    stamp = clock.stamp(now)
    work.save(ticket, condition=type(ticket).ticket_id.does_not_exist(), label="ticket")
    work.save(new_message(thread_of(ticket.ticket_id), chat.user_id, "user", transcript, now), label="ticket_message")
    detail = {"category": chat.category, **({"transaction_id": chat.transaction_id} if chat.transaction_id else {})}
    work.save(audit_event(thread_of(ticket.ticket_id), actor, "created", stamp, detail), label="audit")
    return ticket


def _into_ticket(chat: Chat, now: datetime, *, actor: str, by: str, event: str) -> tuple[Chat, Any, ChatMessage]:
    """One transaction: the ticket, its first message, and the chat resolved with its `ticket_id`."""
    with unit_of_work(now) as work:
        ticket = _ticket_in(work, chat, now, actor)
        text = system_text(chat, event, ticket_id=ticket.ticket_id)
        message = resolve_in(work, chat, now, by=by, text=text, ticket_id=ticket.ticket_id)
        as_resolved(chat, message, by=by, ticket_id=ticket.ticket_id)
        work.answer(201, ticket_view(ticket, for_agent=True))
    return chat, ticket, message


def to_ticket(agent_id: str, chat_id: str, now: datetime) -> dict[str, Any]:
    """The chat becomes a ticket (`source: chat`, the transcript its first message) and is resolved
    with its `ticket_id`; the user is emailed the ticket and the transcript."""
    chat_to_work(agent_id, chat_id)

    def attempt() -> tuple[Chat, Any, ChatMessage]:
        chat = agent_chat(chat_id)
        if chat.status == RESOLVED:
            raise OkpayError("chat_not_active")
        _require_resolvable(chat, agent_id)
        try:
            return _into_ticket(chat, now, actor=agent_id, by="agent", event="to_ticket")
        except TransactWriteError as error:
            if not lost_a_race(error):
                raise
            raise Retry from None

    chat, ticket, message = retrying(attempt)
    logger.info("chat to ticket", extra={"chat_id": chat_id, "ticket_id": ticket.ticket_id, "event": "chat_ticket"})
    after_resolved(chat, message, ticket_id=ticket.ticket_id)
    return ticket_view(ticket, for_agent=True)


# --- the chat_queue job's steps (each a conditional write: a second run finds nothing to do) ------


def ticket_for_unanswered(chat_id: str, waiting_since: str, now: datetime, job: str) -> str | None:
    """A chat still waiting since `waiting_since` becomes a ticket; its id, or None when the chat
    moved on (accepted, resolved, reopened later) or another run got there first."""
    chat = get_chat(chat_id)
    if chat is None or chat.status != WAITING or chat.waiting_since != waiting_since:
        return None
    try:
        chat, ticket, message = _into_ticket(chat, now, actor=f"job#{job}", by="job", event="queue_ticket")
    except TransactWriteError as error:
        if lost_a_race(error):
            return None  # changed under us: the next run looks again
        raise
    after_resolved(chat, message, ticket_id=ticket.ticket_id)
    return ticket.ticket_id


def resolve_idle(chat_id: str, last_agent_at: str, now: datetime) -> bool:
    """An active chat whose user has not written since the agent's reply at `last_agent_at` is
    resolved and its transcript emailed; False when anything moved meanwhile."""
    chat = get_chat(chat_id)
    if chat is None or chat.status != ACTIVE or chat.last_agent_at != last_agent_at:
        return False
    if chat.last_user_at and chat.last_user_at > chat.last_agent_at:
        return False
    try:
        with unit_of_work(now) as work:
            message = resolve_in(work, chat, now, by="job", text=system_text(chat, "idle"))
            as_resolved(chat, message, by="job")
    except TransactWriteError as error:
        if lost_a_race(error):
            return False
        raise
    after_resolved(chat, message)
    return True
