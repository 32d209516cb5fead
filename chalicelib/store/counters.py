"""Windowed counters (table `counters`): rate limits, login failures, SMS sending history.

Lambda instances share nothing in memory, so every limit lives here, updated atomically.
`counter_id` examples: `login_fail#+8613800138000`, `sms#+8613800138000`, `ip#1.2.3.4#auth#<slot>`.
"""

from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)

from chalicelib.store.base import BaseModel, StageTable


class Counter(BaseModel):
    class Meta(metaclass=StageTable):
        table = "counters"

    counter_id = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    locked_until = UnicodeAttribute(null=True)
    sent_at = ListAttribute(of=UnicodeAttribute, null=True)  # SMS codes sent in the last hour
    last_sent = MapAttribute(null=True)  # purpose#object -> when its last code went out
    version = NumberAttribute(default=0)
    members = UnicodeSetAttribute(null=True)  # e.g. a user's transfers waiting for confirmation
    expires_ttl = TTLAttribute(null=True)
