"""Who calls a `/merchant/*` route (contract v1.2, section 14): the merchant of a live secret key.

Kept apart from the merchants' administration so the HTTP edge's authentication loads only this.
The key is found by its keyed hash in one strongly consistent GetItem and the merchant read the
same way: nothing is cached, so a revoked key or a suspension holds from the very next request.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters import keys
from chalicelib.errors import OkpayError
from chalicelib.store import merchants as store
from chalicelib.store.catalog import MERCHANT, CatalogItem

KEY_PURPOSE = "merchant_keys"  # the keyed hash's purpose (chalicelib.adapters.keys)
SECRET_KEY_PREFIX = "sk_"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True)
class MerchantCaller:
    """Who calls a `/merchant/*` route: the merchant of a live key."""

    merchant_id: str
    key_id: str
    merchant: CatalogItem


def looks_like_secret_key(authorization: str | None) -> bool:
    """Whether an Authorization header presents a merchant key (refused on every other route)."""
    token = _bearer(authorization)
    return token is not None and token.startswith(SECRET_KEY_PREFIX)


def authenticate_key(authorization: str | None) -> MerchantCaller:
    """The merchant of the presented key: `401 unauthorized` for a missing, unknown or revoked key,
    `403 forbidden` while the merchant is suspended."""
    token = _bearer(authorization)
    if token is None or not token.startswith(SECRET_KEY_PREFIX) or len(token) > 256:
        raise OkpayError("unauthorized")
    lookup = store.find_lookup(keys.keyed_hash(KEY_PURPOSE, token))
    if lookup is None:
        raise OkpayError("unauthorized")
    merchant = get_merchant(lookup.owner)
    if merchant is None:
        raise OkpayError("unauthorized")
    if not is_active(merchant):
        raise OkpayError("forbidden")
    return MerchantCaller(lookup.owner, lookup.key_id, merchant)


def get_merchant(merchant_id: str) -> CatalogItem | None:
    try:
        return CatalogItem.get(MERCHANT, merchant_id, consistent_read=True)
    except CatalogItem.DoesNotExist:
        return None


def is_active(merchant: CatalogItem) -> bool:
    return bool(merchant.active) and (merchant.status or "active") == "active"


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
