"""The Idempotency-Key records (chalicelib/services/common/idempotency.py): one per user, method,
path and key, kept 24 h. The top-up attempt pointer (`<record>#topup`, store/wallet.py) shares the table."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.store.base import BaseModel, StageTable


class IdempotencyRecord(BaseModel):
    class Meta(metaclass=StageTable):
        table = "idempotency"

    idempotency_id = UnicodeAttribute(hash_key=True)  # "<user>#<METHOD>#<path>#<sha256(key)>"
    fingerprint = UnicodeAttribute()  # sha256 of the canonical body, `authorization` left out
    state = UnicodeAttribute()  # "in_flight" | "done"
    attempt = UnicodeAttribute()  # the writer's random id: a taken-over request cannot finish twice
    started_at = UnicodeAttribute()
    status = NumberAttribute(null=True)
    body = JSONAttribute(null=True)
    expires_ttl = TTLAttribute()
