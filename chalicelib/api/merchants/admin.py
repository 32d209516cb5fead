"""Agents administering merchants and their API keys (contract v1.2, section 14).

Like every /admin route: an agent session that passed TOTP (chalicelib/api/authentication.py).
"""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.wallet import merchants

_WEBHOOK_URL = (
    "`webhook_url` must be `https` and its host must resolve only to public addresses (no private, loopback, "
    "link-local, multicast, reserved or unspecified IPv4 or IPv6 address, including IPv4 inside IPv6, and a "
    "numeric host is read as the address it is); the local stage also allows `http://127.0.0.1:<port>`. "
    "Otherwise `400 validation_error` with `field: webhook_url`."
)


@operation(
    "POST",
    "/admin/merchants",
    schemas="merchants",
    summary="Create a merchant",
    description=(
        "Creates a merchant that takes checkout orders: `201 {merchant}`, `active`. Its `merchant_id` is the one "
        "users pay (`GET /merchants`, `POST /payments`, its orders). It has no key yet: "
        "`POST /admin/merchants/{id}/keys` issues one.\n\n" + _WEBHOOK_URL
    ),
    tag="admin",
    auth="agent",
    body="MerchantCreateRequest",
    response="Merchant",
    status=201,
)
def create_merchant(call: Call) -> Reply:
    body = call.body
    item = merchants.create_merchant(body.name, body.category, body.currencies, body.webhook_url, clock.now())
    return Reply(merchants.merchant_view(item), 201)


@operation(
    "PATCH",
    "/admin/merchants/{merchant_id}",
    schemas="merchants",
    summary="Change or suspend a merchant",
    description=(
        "Changes the name or `webhook_url`, or suspends (`status: suspended`) or reactivates a merchant: "
        "`200 {merchant}`. While suspended, its keys answer `403 forbidden`, it is left out of `GET /merchants` and "
        "users cannot pay it (`404 not_found`). Fields left out are unchanged.\n\n" + _WEBHOOK_URL
    ),
    tag="admin",
    auth="agent",
    body="MerchantUpdateRequest",
    response="Merchant",
    errors=("not_found",),
)
def update_merchant(call: Call) -> dict:
    body = call.body
    item = merchants.update_merchant(
        call.params["merchant_id"], name=body.name, webhook_url=body.webhook_url, status=body.status
    )
    return merchants.merchant_view(item)


@operation(
    "POST",
    "/admin/merchants/{merchant_id}/keys",
    schemas="merchants",
    summary="Issue an API key",
    description=(
        "Issues a secret key and its own webhook secret: `201 {key_id, secret_key, webhook_secret}`, shown this "
        "once (the secret key is kept only as a keyed hash, the webhook secret encrypted). The merchant's other "
        "keys stay active, so keys can be rotated without downtime; a webhook carries one `v1=` signature per "
        "active key."
    ),
    tag="admin",
    auth="agent",
    response="IssuedKey",
    status=201,
    errors=("not_found",),
)
def issue_key(call: Call) -> Reply:
    issued = merchants.issue_key(call.params["merchant_id"], clock.now())
    body = {"key_id": issued.key_id, "secret_key": issued.secret_key, "webhook_secret": issued.webhook_secret}
    return Reply(body, 201, {"Cache-Control": "no-store"})


@operation(
    "DELETE",
    "/admin/merchants/{merchant_id}/keys/{key_id}",
    schemas="merchants",
    summary="Revoke an API key",
    description=(
        "Revokes the key: `204`. The next request with it is `401 unauthorized`; its webhook secret stops signing."
    ),
    tag="admin",
    auth="agent",
    status=204,
    errors=("not_found",),
)
def revoke_key(call: Call) -> Reply:
    merchants.revoke_key(call.params["merchant_id"], call.params["key_id"], clock.now())
    return Reply(None, 204)
