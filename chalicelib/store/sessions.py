"""Signed-in sessions (table `sessions`): one per device sign-in, listed per user by GSI by_user."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection

from chalicelib.store.base import BaseModel, StageTable


class SessionsByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_user"
        # Only what the device list shows: refresh-token hashes stay out of the index.
        projection = IncludeProjection(["status", "device_name", "last_used_at", "expires_at"])

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Session(BaseModel):
    class Meta(metaclass=StageTable):
        table = "sessions"

    session_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()  # copied here so checking a request needs this one read
    locale = UnicodeAttribute()
    status = UnicodeAttribute(default="active")  # "active" | "revoked"
    # The user's `session_generation` when this session was started (absent = 0); an older one than
    # the user's is revoked, so "revoke all" never depends on the GSI having listed the session.
    generation = NumberAttribute(null=True)
    revoked_reason = UnicodeAttribute(null=True)
    # How the sign-in was completed beyond the password: "totp", "recovery_code", "sms", "email", or
    # absent. /admin needs "totp" or "recovery_code" (contract v1.2, section 9).
    second_factor = UnicodeAttribute(null=True)
    device_id = UnicodeAttribute(null=True)
    device_name = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    last_used_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()  # idle expiry, moved on by each refresh
    expires_ttl = TTLAttribute(null=True)

    # Refresh tokens are stored as SHA-256 of their 256-bit secret part.
    refresh_hash = UnicodeAttribute()
    previous_refresh_hash = UnicodeAttribute(null=True)
    rotated_at = UnicodeAttribute(null=True)
    # The pair handed out by the last rotation, sealed with a key only the previous token yields,
    # so a retry with that token within 30 s gets the same pair back.
    sealed_pair = UnicodeAttribute(null=True)
    retired_hashes = UnicodeSetAttribute(null=True)  # older refresh tokens: reuse revokes the session
    refresh_count = NumberAttribute(default=0)

    by_user = SessionsByUser()
