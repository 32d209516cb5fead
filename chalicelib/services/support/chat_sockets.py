"""Live-chat WebSockets (contract, section 12): tickets, connecting, the client's frames, leaving.

- A ws-ticket is a 256-bit random secret, stored only as its SHA-256, bound to the caller's user,
  session and role (`user` from /support, `agent` from /admin), good for 60 s (the app's clock) and
  for one connect: the connect deletes it with a condition, so of two racing connects one wins.
- A connect with a good ticket whose session is still live records the connection; anything else is
  refused (401 on the upgrade).
- Every frame first checks that the connection's session is still live; a revoked one's socket is
  closed. Then: `{"type": "ping"}` → `{"type": "pong"}`; `{"type": "typing", "chat_id"}` → relayed to
  the other party of that chat, only from its user or its assignee, never stored, at most one per
  3 s per connection and chat (more are dropped quietly); anything else → an error frame
  (`validation_error`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import pusher
from chalicelib.adapters.config import get_settings
from chalicelib.errors import OkpayError
from chalicelib.services.identity import sessions
from chalicelib.services.support import chat_push
from chalicelib.store import chats, connections

TICKET_LIFETIME = timedelta(seconds=60)
TYPING_INTERVAL = timedelta(seconds=3)
# Longer than any ticket we issue, short enough that a junk query string costs nothing.
MAX_TICKET_LENGTH = 128
MAX_CHAT_ID_LENGTH = 64
ROLES = ("user", "agent")


class FrameRefused(Exception):
    """A client frame the server does not take: answered with an error frame in `locale`."""

    def __init__(self, error: OkpayError, locale: str) -> None:
        super().__init__(error.code)
        self.error = error
        self.locale = locale


def issue_ticket(user_id: str, session_id: str, role: str, now: datetime) -> dict[str, Any]:
    """A ticket for one WebSocket connect as `role`, and where to connect."""
    if role not in ROLES:
        raise ValueError(role)
    ticket = f"wst_{secrets.token_urlsafe(32)}"
    connections.put_ticket(
        _digest(ticket), user_id=user_id, session_id=session_id, role=role, now=now, lifetime=TICKET_LIFETIME
    )
    return {"ticket": ticket, "url": get_settings().ws_url, "expires_in": int(TICKET_LIFETIME.total_seconds())}


def connect(connection_id: str, ticket: str | None, now: datetime) -> bool:
    """Record the connection if `ticket` is good (unused, unexpired, its session live); the ticket
    is used up either way. False: refuse the connection."""
    if not ticket or len(ticket) > MAX_TICKET_LENGTH:
        return False
    taken = connections.take_ticket(_digest(ticket), now)
    if taken is None:
        return False
    session = sessions.live_session(taken.session_id, taken.user_id, now)
    if session is None:
        return False
    connections.put_connection(
        connection_id,
        user_id=taken.user_id,
        session_id=taken.session_id,
        role=taken.role,
        locale=session.locale or "en",
        now=now,
    )
    return True


def receive(connection_id: str, body: str | None, now: datetime) -> None:
    """Handle one frame from the client (raises FrameRefused for a frame it does not take)."""
    connection = connections.get_connection(connection_id)
    if connection is None or sessions.live_session(connection.session_id, connection.user_id, now) is None:
        pusher.close(connection_id)
        return
    frame = _parse(body, connection.locale)
    if frame["type"] == "ping":
        pusher.post(connection_id, {"type": "pong"})
    else:
        _relay_typing(connection, frame["chat_id"], now)


def reply_error(connection_id: str, envelope: dict[str, Any]) -> None:
    """The error frame for a frame refused: `envelope` is the contract's `{"error": {...}}`."""
    pusher.post(connection_id, {"type": "error", **envelope})


def disconnect(connection_id: str) -> None:
    connections.delete_connection(connection_id)


def _parse(body: str | None, locale: str) -> dict[str, Any]:
    """`{"type": "ping"}` or `{"type": "typing", "chat_id": "<id>"}`, nothing more."""
    try:
        frame = json.loads(body or "")
    except ValueError:
        raise FrameRefused(OkpayError("validation_error"), locale) from None
    if not isinstance(frame, dict):
        raise FrameRefused(OkpayError("validation_error"), locale)
    kind = frame.get("type")
    allowed = {"ping": {"type"}, "typing": {"type", "chat_id"}}.get(kind) if isinstance(kind, str) else None
    if allowed is None:
        raise FrameRefused(OkpayError("validation_error", field="type"), locale)
    unknown = sorted(set(frame) - allowed)
    if unknown:
        raise FrameRefused(OkpayError("validation_error", field=unknown[0]), locale)
    if kind == "typing":
        chat_id = frame.get("chat_id")
        if not isinstance(chat_id, str) or not 1 <= len(chat_id) <= MAX_CHAT_ID_LENGTH:
            raise FrameRefused(OkpayError("validation_error", field="chat_id"), locale)
    return frame


def _relay_typing(connection: connections.WsConnection, chat_id: str, now: datetime) -> None:
    """To the chat's assignee when its user types, to its user when the assignee does; a chat the
    sender is not a party of (or with nobody on the other side) gets nothing, and says nothing."""
    chat = chats.get_chat(chat_id)
    if chat is None or chat.status != chats.ACTIVE or not chat.assignee_id:
        return
    if connection.role == "user" and chat.user_id == connection.user_id:
        deliver, sender = (lambda frame: chat_push.to_agents([chat.assignee_id], frame)), "user"
    elif connection.role == "agent" and chat.assignee_id == connection.user_id:
        deliver, sender = (lambda frame: chat_push.to_user(chat.user_id, frame)), "agent"
    else:
        return
    if connections.claim_typing_slot(connection.connection_id, chat_id, now, TYPING_INTERVAL):
        deliver({"type": "typing", "chat_id": chat_id, "sender": sender})


def _digest(ticket: str) -> str:
    # 256 random bits: a plain hash is enough (as for refresh tokens), nothing to slow down.
    return hashlib.sha256(ticket.encode()).hexdigest()
