"""Support mail (table `mail`, contract section 13): one item per Message-ID we have seen or sent.

- `in#<sha256 of the normalised Message-ID>`: an inbound mail, claimed by a conditional put before
  it is processed (`state: processing`, with the claimant's `claim`), then `done` with its `result`
  and `ticket_id`. A second delivery of the same mail finds it and is a duplicate. A claim left
  `processing` (a worker that died) may be taken over after `STALE_CLAIM`.
- `out#<SES MessageId, lower case>`: an email we sent about an email ticket; a reply naming it in
  `In-Reply-To`/`References` is threaded onto `ticket_id`. SES rewrites our Message-ID header to
  `<{MessageId}@{region}.amazonses.com>` (`header_id`), so the key is the part before the `@`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute

from chalicelib.store.base import BaseModel, StageTable

STALE_CLAIM = timedelta(minutes=15)  # SQS's visibility timeout is shorter: a live worker is done by then
INBOUND_KEPT = timedelta(days=30)  # SES redelivers within hours; a month is plenty
OUTBOUND_KEPT = timedelta(days=400)  # a customer may answer an old email


class MailRecord(BaseModel):
    class Meta(metaclass=StageTable):
        table = "mail"

    mail_key = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute(null=True)  # inbound: processing | done
    claim = UnicodeAttribute(null=True)  # inbound: who is processing it
    claimed_at = UnicodeAttribute(null=True)
    result = UnicodeAttribute(null=True)  # inbound, once done: the pipeline's result
    ticket_id = UnicodeAttribute(null=True)
    raw_key = UnicodeAttribute(null=True)  # inbound: the raw message in the mail bucket
    header_id = UnicodeAttribute(null=True)  # outbound: the Message-ID header as the customer sees it
    created_at = UnicodeAttribute()
    expires_ttl = TTLAttribute(null=True)


def inbound_key(message_id_digest: str) -> str:
    return f"in#{message_id_digest}"


def outbound_key(ses_message_id: str) -> str:
    return f"out#{ses_message_id.strip().lower()}"


def get_record(mail_key: str) -> MailRecord | None:
    try:
        return MailRecord.get(mail_key, consistent_read=True)
    except MailRecord.DoesNotExist:
        return None


def remember_outbound(ses_message_id: str, header_id: str, ticket_id: str, now: datetime, stamp: str) -> None:
    MailRecord(
        outbound_key(ses_message_id),
        ticket_id=ticket_id,
        header_id=header_id,
        created_at=stamp,
        expires_ttl=now + OUTBOUND_KEPT,
    ).save()
