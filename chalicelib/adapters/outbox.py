"""The local stage's copy of every email and SMS sent, for `GET /_local/outbox`.

The local stage is one `chalice local` process, so a process-wide list is the whole outbox.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

_lock = threading.Lock()
_messages: list[OutboxMessage] = []
_LIMIT = 5000  # oldest dropped past this, so a long local session cannot grow without bound


@dataclass(frozen=True)
class OutboxMessage:
    channel: str  # "email" | "sms"
    to: str
    subject: str | None
    body: str
    sent_at: str
    reply_to: str | None = None  # emails about an email ticket: its signed reply address

    def as_dict(self) -> dict:
        data = asdict(self)
        for optional in ("subject", "reply_to"):
            if data[optional] is None:
                del data[optional]
        return data


def record(message: OutboxMessage) -> None:
    with _lock:
        _messages.append(message)
        del _messages[:-_LIMIT]


def messages(to: str | None = None) -> list[OutboxMessage]:
    """Newest first, optionally only those sent to `to`."""
    with _lock:
        found = list(_messages)
    if to is not None:
        wanted = to.casefold()  # email addresses compare case-insensitively; E.164 has no case
        found = [message for message in found if message.to.casefold() == wanted]
    return found[::-1]


def clear() -> None:
    with _lock:
        _messages.clear()
