"""What disputes and tickets share: a case's timeline of messages and its recorded events.

A case's messages live in `messages` under its thread (`dispute#dsp_…` / `ticket#tkt_…`), and its
transitions in `audit` under the same subject, so one Query returns either in time order.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.services.support.mail_files import attachment_view
from chalicelib.store.audit import events_of
from chalicelib.store.messages import Message


def instant(stamp: str | None) -> str | None:
    """A stored stamp as the API shows times (+08:00); None stays None."""
    return clock.isoformat(clock.from_stamp(stamp)) if stamp else None


def new_message(thread_id: str, author_id: str, role: str, body: str, now: datetime) -> Message:
    """A message to write (in the caller's transaction); `role` is "user" or "agent"."""
    message_id = f"msg_{uuid.uuid4().hex}"
    stamp = clock.stamp(now)
    return Message(
        thread_id,
        f"{stamp}#{message_id}",
        message_id=message_id,
        author_id=author_id,
        author_role=role,
        body=body,
        created_at=stamp,
    )


def message_view(message: Message, *, for_agent: bool = False) -> dict[str, Any]:
    view = {
        "message_id": message.message_id,
        "author": message.author_role,
        "body": message.body,
        "created_at": instant(message.created_at),
    }
    if for_agent:
        view["author_id"] = message.author_id
        if message.attachments:  # an email's files: agents open them through short-lived URLs
            view["attachments"] = [attachment_view(dict(stored)) for stored in message.attachments]
        if message.skipped_attachments:
            view["skipped_attachments"] = [
                {**dict(skipped), "size": int(skipped["size"])} for skipped in message.skipped_attachments
            ]
    return view


def events_view(thread_id: str) -> list[dict[str, Any]]:
    """Every recorded transition of the case, oldest first (agents' case view)."""
    return [
        {"action": event.action, "actor": event.actor, "at": instant(event.at), "detail": event.detail}
        for event in events_of(thread_id)
    ]
