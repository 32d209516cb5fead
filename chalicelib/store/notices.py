"""Notices to send (table `notices`): the outbox of every email and SMS that is not a one-time code
(contract v1.2, section 1 "Faults").

One item per message, written with the change that causes it and sent right after that change
commits; the `notify_dispatch` job retries what could not be sent. What is stored is what renders
the message again — channel, address, template, locale, params — never a code, token or password
(a "this wasn't me" link is issued when the email is sent: `late`).

`status`: `pending` → `sent` | `failed`. While an attempt is due, the item carries `send_shard` and
`send_due`: the sparse GSI `by_send_due` the job reads, one Query per shard (no Scan, and no one
partition takes every write of a burst).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseModel, StageTable

SEND_SHARDS = 16
KEPT = timedelta(days=30)  # after it was created: past the 24 h of retries, for investigations


class NoticesBySendDue(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_send_due"
        # The whole notice, so a run renders from the Query without a GetItem each: what is rendered
        # never changes, and the claim's condition (attempts, due) is checked on the item itself.
        projection = AllProjection()

    send_shard = UnicodeAttribute(hash_key=True)
    send_due = UnicodeAttribute(range_key=True)


class Notice(BaseModel):
    class Meta(metaclass=StageTable):
        table = "notices"

    notice_id = UnicodeAttribute(hash_key=True)  # ntc_<UTC stamp, digits only><16 hex>
    channel = UnicodeAttribute()  # email | sms
    to = UnicodeAttribute()  # an email address or an E.164 number
    template = UnicodeAttribute()  # chalicelib/i18n/templates.py
    locale = UnicodeAttribute()
    params = JSONAttribute(default=dict)  # the template's values; never a code, token or password
    reply_to = UnicodeAttribute(null=True)  # an email ticket's signed reply address
    ticket_id = UnicodeAttribute(null=True)  # an email ticket's: its SES MessageId is kept for threading
    late = UnicodeAttribute(null=True)  # a value made when sent: "not_me_link" (a freeze token)
    user_id = UnicodeAttribute(null=True)  # whose notice it is (the freeze token's user)
    status = UnicodeAttribute(default="pending")  # pending | sent | failed
    attempts = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)
    ses_message_id = UnicodeAttribute(null=True)
    send_shard = UnicodeAttribute(null=True)  # while an attempt is due: GSI by_send_due
    send_due = UnicodeAttribute(null=True)
    expires_ttl = TTLAttribute()

    by_send_due = NoticesBySendDue()


def new_notice_id(now: datetime) -> str:
    return f"ntc_{now.astimezone(UTC).strftime('%Y%m%d%H%M%S%f')}{secrets.token_hex(8)}"


def send_shard_of(notice_id: str) -> str:
    # The id's random tail spreads notices evenly over the shards.
    return f"{int(notice_id[-8:], 16) % SEND_SHARDS:02d}"


def get_notice(notice_id: str) -> Notice | None:
    try:
        return Notice.get(notice_id, consistent_read=True)
    except Notice.DoesNotExist:
        return None


def due_notices(shard: str, until: str) -> Iterator[Notice]:
    """The notices in `shard` whose next attempt is due by `until`, soonest first (the index may lag:
    each attempt is conditional on the item itself)."""
    return iter(Notice.by_send_due.query(shard, Notice.send_due <= until))
