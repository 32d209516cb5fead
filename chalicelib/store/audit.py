"""Who did what, when (table `audit`): one partition per subject, events in time order.

`subject` is `"dispute#dsp_…"`, `"ticket#tkt_…"`, `"job#dispute_sla"`, …; `event_key` is
`"<at stamp>#evt_…"`. Events are appended, never updated, and are written in the same
transaction as the change they describe where there is one.
"""

from __future__ import annotations

import uuid

from pynamodb.attributes import JSONAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.store.base import BaseModel, StageTable


class AuditEvent(BaseModel):
    class Meta(metaclass=StageTable):
        table = "audit"

    subject = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)
    actor = UnicodeAttribute()  # a user or agent id, or "job#<name>"
    action = UnicodeAttribute()
    request_id = UnicodeAttribute(null=True)
    detail = JSONAttribute(null=True)
    at = UnicodeAttribute(null=True)
    # Set only on the security log's events (chalicelib.store.security_events): DynamoDB deletes them
    # after 400 days. Every other audit event is kept (no TTL attribute, never deleted).
    expires_ttl = TTLAttribute(null=True)


def audit_event(subject: str, actor: str, action: str, at: str, detail: dict | None = None) -> AuditEvent:
    """A new event (not yet written: save it, or add it to the change's transaction)."""
    return AuditEvent(subject, f"{at}#evt_{uuid.uuid4().hex}", actor=actor, action=action, detail=detail, at=at)


def events_of(subject: str, limit: int = 200) -> list[AuditEvent]:
    return list(AuditEvent.query(subject, consistent_read=True, limit=limit))
