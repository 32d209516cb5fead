"""Merchants that take checkout orders (contract v1.2, section 14): agents administer them, and a
merchant's server calls `/merchant/*` with one of its secret keys.

A merchant is a catalog item (chalicelib/store/catalog.py), the one users already pay by id and
`GET /merchants` lists; `active` is what users' payments read, so suspending one stops both its
payments and its API at once. Its keys live in table `merchants` (chalicelib/store/merchants.py):

- the secret key `sk_…` is shown once and stored only as a keyed hash; a request's key is found by
  that hash in one strongly consistent GetItem, and the merchant read the same way: no cache, so a
  revoked key or a suspension holds from the next request;
- each key has its own webhook secret, sealed by the field encryption, which the webhooks sign with
  (one `v1=` per active key, so a merchant rotates keys without missing a delivery).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.adapters import clock, field_crypto, keys
from chalicelib.adapters.config import get_settings
from chalicelib.errors import OkpayError
from chalicelib.services.common.unit_of_work import unit_of_work
from chalicelib.services.wallet.merchant_auth import KEY_PURPOSE, SECRET_KEY_PREFIX, is_active
from chalicelib.services.wallet.webhook_urls import checked_webhook_url
from chalicelib.store import merchants as store
from chalicelib.store.catalog import MERCHANT, CatalogItem
from chalicelib.store.conditions import condition_failed


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    secret_key: str
    webhook_secret: str


def create_merchant(
    name: str, category: str, currencies: list[str], webhook_url: str | None, now: datetime
) -> CatalogItem:
    if webhook_url is not None:
        checked_webhook_url(webhook_url, local=get_settings().is_local)
    item = CatalogItem(
        MERCHANT,
        f"mch_{uuid.uuid4().hex}",
        name_en=name,
        name_zh=name,
        category=category,
        currencies=list(dict.fromkeys(currencies)),
        active=True,
        status="active",
        webhook_url=webhook_url,
        created_at=clock.stamp(now),
    )
    item.save(condition=CatalogItem.item_id.does_not_exist())
    return item


def update_merchant(merchant_id: str, *, name: str | None, webhook_url: str | None, status: str | None) -> CatalogItem:
    """Rename, point the webhooks elsewhere, suspend or reactivate; `404` for no such merchant."""
    if webhook_url is not None:
        checked_webhook_url(webhook_url, local=get_settings().is_local)
    actions: list[Any] = []
    if name is not None:
        actions += [CatalogItem.name_en.set(name), CatalogItem.name_zh.set(name)]
    if webhook_url is not None:
        actions.append(CatalogItem.webhook_url.set(webhook_url))
    if status is not None:
        actions += [CatalogItem.status.set(status), CatalogItem.active.set(status == "active")]
    item = CatalogItem(MERCHANT, merchant_id)
    try:
        if actions:
            item.update(actions=actions, condition=CatalogItem.item_id.exists())
        else:
            item.refresh(consistent_read=True)
    except (UpdateError, CatalogItem.DoesNotExist) as error:
        if isinstance(error, CatalogItem.DoesNotExist) or condition_failed(error):
            raise OkpayError("not_found") from None
        raise
    return item


def issue_key(merchant_id: str, now: datetime) -> IssuedKey:
    """A new key pair for the merchant (its others stay active); shown to the agent once."""
    issued = IssuedKey(
        key_id=f"key_{uuid.uuid4().hex}",
        secret_key=f"{SECRET_KEY_PREFIX}{'test' if get_settings().is_local else 'live'}_{secrets.token_urlsafe(32)}",
        webhook_secret=f"whsec_{secrets.token_urlsafe(32)}",
    )
    install_key(merchant_id, issued, now)
    return issued


def install_key(merchant_id: str, issued: IssuedKey, now: datetime) -> None:
    """Store `issued` (hashed, the webhook secret sealed) for an existing merchant, else `404`."""
    secret_hash = keys.keyed_hash(KEY_PURPOSE, issued.secret_key)
    sealed = field_crypto.encrypt_field(issued.webhook_secret, _crypto_context(merchant_id, issued.key_id))
    stamp = clock.stamp(now)
    try:
        with unit_of_work(now) as work:
            work.condition_check(CatalogItem, MERCHANT, merchant_id, condition=CatalogItem.item_id.exists())
            work.save(
                store.MerchantKey(
                    merchant_id,
                    store.key_item(issued.key_id),
                    key_id=issued.key_id,
                    secret_hash=secret_hash,
                    webhook_secret=sealed,
                    created_at=stamp,
                ),
                condition=store.MerchantKey.item.does_not_exist(),
            )
            work.save(
                store.KeyLookup(
                    store.lookup_partition(secret_hash), store.LOOKUP_ITEM, owner=merchant_id, key_id=issued.key_id
                ),
                condition=store.KeyLookup.item.does_not_exist(),
            )
    except TransactWriteError as error:
        if condition_failed(error):
            raise OkpayError("not_found") from None
        raise


def revoke_key(merchant_id: str, key_id: str, now: datetime) -> None:
    """The key and its lookup go in one transaction: the next request with it is `401`."""
    key = store.get_key(merchant_id, key_id)
    if key is None:
        raise OkpayError("not_found")
    try:
        with unit_of_work(now) as work:
            work.delete(key, condition=store.MerchantKey.item.exists())
            work.delete(store.KeyLookup(store.lookup_partition(key.secret_hash), store.LOOKUP_ITEM))
    except TransactWriteError as error:
        if condition_failed(error):
            raise OkpayError("not_found") from None  # revoked meanwhile by another request
        raise


def webhook_secrets(merchant_id: str) -> list[str]:
    """The webhook secrets of the merchant's active keys (a delivery carries one `v1=` for each)."""
    return [
        field_crypto.decrypt_field(key.webhook_secret, _crypto_context(merchant_id, key.key_id))
        for key in store.active_keys(merchant_id)
    ]


def merchant_view(item: CatalogItem) -> dict[str, Any]:
    return {
        "merchant_id": item.item_id,
        "name": item.name_en or item.name_zh or item.item_id,
        "category": item.category or "other",
        "currencies": list(item.currencies or []),
        "status": "active" if is_active(item) else "suspended",
        "webhook_url": item.webhook_url,
        "created_at": clock.isoformat(clock.from_stamp(item.created_at)) if item.created_at else None,
    }


def _crypto_context(merchant_id: str, key_id: str) -> dict[str, str]:
    return {"field": "webhook_secret", "merchant_id": merchant_id, "key_id": key_id}


def active_key(merchant_id: str, key_id: str) -> store.MerchantKey | None:
    """The merchant's key `key_id` while it is active."""
    return store.get_key(merchant_id, key_id)
