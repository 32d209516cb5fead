"""`chat_queue` job (every minute, contract section 12).

- A chat `waiting` for 10 minutes, or for 2 minutes while no agent is `online`, becomes a ticket
  (`source: chat`, the transcript its first message); the chat is resolved with `ticket_id`, and
  the user is told in the chat (a system message) and by email.
- An `active` chat whose user has not written for 30 minutes after an agent's reply is resolved and
  its transcript emailed.

Reads are Queries on `chats.by_status` (the waiting ones oldest first, only those past the cut-off;
the active ones, which agents' capacity keeps few), never a Scan. Each step is a conditional write
on the chat's version (chalicelib.services.support.chat_desk), and the notices follow only a write
that committed, so overlapping or repeated runs do nothing twice.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.services.support import chat_desk
from chalicelib.store.chat_presence import online_agent_ids
from chalicelib.store.chats import ACTIVE, WAITING, Chat

JOB = "chat_queue"
WAIT_LIMIT = timedelta(minutes=10)
WAIT_LIMIT_NOBODY_ONLINE = timedelta(minutes=2)
SILENCE_LIMIT = timedelta(minutes=30)
TIME_BUDGET = 40.0  # seconds of real time per run (every minute; what is left waits for the next)


def run(now: datetime) -> dict[str, Any]:
    started = time.monotonic()
    nobody_online = not online_agent_ids()
    cutoff = now - (WAIT_LIMIT_NOBODY_ONLINE if nobody_online else WAIT_LIMIT)
    tickets: list[str] = []
    for chat in Chat.by_status.query(WAITING, Chat.waiting_since <= clock.stamp(cutoff)):
        if time.monotonic() - started > TIME_BUDGET:
            break
        ticket_id = chat_desk.ticket_for_unanswered(chat.chat_id, chat.waiting_since, now, JOB)
        if ticket_id:
            tickets.append(ticket_id)
    silent_since = clock.stamp(now - SILENCE_LIMIT)
    resolved = 0
    for chat in Chat.by_status.query(ACTIVE):
        if time.monotonic() - started > TIME_BUDGET:
            break
        if not chat.last_agent_at or chat.last_agent_at > silent_since:
            continue
        if chat.last_user_at and chat.last_user_at > chat.last_agent_at:
            continue  # the user answered: the agent's turn
        if chat_desk.resolve_idle(chat.chat_id, chat.last_agent_at, now):
            resolved += 1
    result = {
        "ran_at": clock.isoformat(now),
        "tickets_created": len(tickets),
        "resolved_idle": resolved,
        "nobody_online": nobody_online,
    }
    logger.info("chat queue run", extra={"job": JOB, **result})
    return result
