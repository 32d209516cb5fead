"""Timelines of disputes and tickets (table `messages`): one partition per case, oldest first."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, UnicodeAttribute

from chalicelib.store.base import BaseModel, StageTable


class Message(BaseModel):
    class Meta(metaclass=StageTable):
        table = "messages"

    thread_id = UnicodeAttribute(hash_key=True)  # "dispute#dsp_…" | "ticket#tkt_…"
    message_key = UnicodeAttribute(range_key=True)  # "<created_at stamp>#msg_…"
    message_id = UnicodeAttribute()
    author_id = UnicodeAttribute()
    author_role = UnicodeAttribute()  # user | agent
    body = UnicodeAttribute()
    created_at = UnicodeAttribute()
    # Email tickets (section 13): files kept in the mail bucket [{name, content_type, size, key}], files
    # refused [{name, content_type, size, reason}], and the raw message the text came from.
    attachments = ListAttribute(null=True)
    skipped_attachments = ListAttribute(null=True)
    raw_key = UnicodeAttribute(null=True)


def thread_messages(thread_id: str, limit: int = 500) -> list[Message]:
    """A case's messages, oldest first (a case's timeline is short; capped all the same)."""
    return list(Message.query(thread_id, consistent_read=True, limit=limit))
