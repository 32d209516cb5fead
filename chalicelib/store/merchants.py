"""Merchant API keys (table `merchants`); the merchant itself is a catalog item (chalicelib/store/catalog.py).

- `(<merchant_id>, key#<key_id>)`: one active key: the keyed hash of its secret, its webhook
  secret sealed by the field encryption, when it was issued. A Query on the merchant lists them
  (the webhooks sign with each active key's secret).
- `(secret#<keyed hash>, key)`: the lookup of a presented secret, one strongly consistent GetItem.

Both items of a key are written, and deleted on revocation, in one transaction: a revoked key
is refused by the very next request (no cache).
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute

from chalicelib.store.base import BaseModel, StageTable

KEY_PREFIX = "key#"
LOOKUP_ITEM = "key"


class MerchantKey(BaseModel):
    class Meta(metaclass=StageTable):
        table = "merchants"

    merchant_id = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)  # "key#<key_id>"
    key_id = UnicodeAttribute()
    secret_hash = UnicodeAttribute()  # keyed hash of the secret key; the key itself is never stored
    webhook_secret = UnicodeAttribute()  # sealed (chalicelib.adapters.field_crypto)
    created_at = UnicodeAttribute()


class KeyLookup(BaseModel):
    """Which merchant and key a secret key's hash belongs to (same table, its own partition)."""

    class Meta(metaclass=StageTable):
        table = "merchants"

    merchant_id = UnicodeAttribute(hash_key=True)  # "secret#<keyed hash>": the partition of the lookup
    item = UnicodeAttribute(range_key=True)  # "key"
    owner = UnicodeAttribute()  # the merchant id
    key_id = UnicodeAttribute()


def key_item(key_id: str) -> str:
    return f"{KEY_PREFIX}{key_id}"


def lookup_partition(secret_hash: str) -> str:
    return f"secret#{secret_hash}"


def find_lookup(secret_hash: str) -> KeyLookup | None:
    try:
        return KeyLookup.get(lookup_partition(secret_hash), LOOKUP_ITEM, consistent_read=True)
    except KeyLookup.DoesNotExist:
        return None


def get_key(merchant_id: str, key_id: str) -> MerchantKey | None:
    try:
        return MerchantKey.get(merchant_id, key_item(key_id), consistent_read=True)
    except MerchantKey.DoesNotExist:
        return None


def active_keys(merchant_id: str) -> list[MerchantKey]:
    """Every key of the merchant not revoked, oldest first."""
    return list(MerchantKey.query(merchant_id, MerchantKey.item.startswith(KEY_PREFIX), consistent_read=True))
