"""Chat transcripts: the conversation as the user saw it (no internal notes), with Beijing times
and who said what, in the user's language; emailed to a verified email only.

Recorded in the notice outbox right after the change that ends the chat commits, by the one request
(or job run) whose conditional write resolved it, so parallel resolves send one email; then sent, and
retried by `notify_dispatch` if that fails.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import clock
from chalicelib.i18n.chat_texts import CHAT_SENDERS
from chalicelib.i18n.locale import DEFAULT_LOCALE, pick
from chalicelib.services.common import notice_outbox
from chalicelib.services.support.case_notices import beijing_time
from chalicelib.store.chats import all_messages
from chalicelib.store.tickets import get_ticket
from chalicelib.store.users import User, get_user


def transcript_text(chat_id: str, locale: str) -> str:
    """One line per message the user could see: `[YYYY-MM-DD HH:MM] Name: body`."""
    lines = []
    for message in all_messages(chat_id, with_notes=False):
        if message.sender == "agent":
            name = message.agent_name or pick(CHAT_SENDERS["agent"], locale)
        else:
            name = pick(CHAT_SENDERS[message.sender or "system"], locale)
        when = beijing_time(clock.from_stamp(message.sent_at))
        lines.append(f"[{when}] {name}: {message.body}")
    return "\n".join(lines)


def _verified_recipient(user_id: str) -> User | None:
    user = get_user(user_id)
    if user is None or user.status == "closed" or not user.email or not user.email_verified:
        return None
    return user


def _send(user: User, template: str, **params: Any) -> bool:
    """Record the email in the outbox, then send it: a failed send never fails the change that ended
    the chat, `notify_dispatch` retries it."""
    now = clock.now()
    return notice_outbox.deliver(
        [notice_outbox.email(user.email, template, user.locale or DEFAULT_LOCALE, now, **params)], now
    )


def email_transcript(chat: Any) -> bool:
    """The transcript of a resolved chat to the user's verified email; False when none was sent."""
    user = _verified_recipient(chat.user_id)
    if user is None:
        return False
    locale = user.locale or DEFAULT_LOCALE
    return _send(user, "chat_transcript_email", chat_id=chat.chat_id, transcript=transcript_text(chat.chat_id, locale))


def email_ticket(chat: Any, ticket_id: str) -> bool:
    """Tell the user their chat became `ticket_id` (when it is answered by), with the transcript."""
    user = _verified_recipient(chat.user_id)
    if user is None:
        return False
    locale = user.locale or DEFAULT_LOCALE
    ticket = get_ticket(ticket_id)
    when = beijing_time(clock.from_stamp(ticket.first_response_due)) if ticket else ""
    return _send(
        user,
        "chat_ticket_email",
        chat_id=chat.chat_id,
        ticket_id=ticket_id,
        when=when,
        transcript=transcript_text(chat.chat_id, locale),
    )
