"""One-time codes and MFA tokens (table `codes`), stored as keyed hashes and gone after their TTL.

`code_id` names what the code is for and for whom, e.g. `register#+8613800138000`,
`reset#usr_…`, `mfa_sms#<mfa token hash>`, `contact#usr_…#email`; so issuing a new code for the
same thing replaces the old one.
"""

from __future__ import annotations

from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.store.base import BaseModel, StageTable


class Code(BaseModel):
    class Meta(metaclass=StageTable):
        table = "codes"

    code_id = UnicodeAttribute(hash_key=True)
    code_hash = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    expires_ttl = TTLAttribute()
    attempts = NumberAttribute(default=0)
    max_attempts = NumberAttribute(default=5)
    sends = NumberAttribute(default=1)
    created_at = UnicodeAttribute()
    user_id = UnicodeAttribute(null=True)
    data = MapAttribute(null=True)  # what the code is bound to (a login, a new contact value, …)
