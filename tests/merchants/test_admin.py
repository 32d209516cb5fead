"""Agents administering merchants and their keys (contract v1.2, section 14)."""

from __future__ import annotations

from chalicelib.store.merchants import KeyLookup, MerchantKey
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.merchants import (
    DEMO_KEY,
    DEMO_MERCHANT,
    create_merchant,
    create_order,
    issue_key,
    key_headers,
    new_shop,
    patch_merchant,
)
from tests.helpers.users import make_user, signed_in


def test_an_agent_creates_a_merchant_that_users_see_and_can_pay(client, agent):
    response = create_merchant(client, agent, webhook_url="https://shop.example.com/okpay/hooks")
    assert response.status_code == 201, response.body
    merchant = body_of(response)
    assert merchant["merchant_id"].startswith("mch_")
    assert {k: merchant[k] for k in ("name", "category", "currencies", "status", "webhook_url")} == {
        "name": "Lotus Tea House",
        "category": "food_drink",
        "currencies": ["CNY", "HKD"],
        "status": "active",
        "webhook_url": "https://shop.example.com/okpay/hooks",
    }
    listed = {m["merchant_id"]: m for m in body_of(client.get("/merchants"))["data"]}
    assert listed[merchant["merchant_id"]]["name"] == "Lotus Tea House"
    assert listed[merchant["merchant_id"]]["currencies"] == ["CNY", "HKD"]


def test_only_agents_who_passed_totp_administer_merchants(client, seeded):
    customer = signed_in(make_user())
    assert_error(create_merchant(client, customer), 403, "forbidden")
    no_totp = signed_in(make_user(role="agent", agent_totp=False))
    assert_error(create_merchant(client, no_totp), 403, "mfa_required")
    assert_error(create_merchant(client, {}), 401, "unauthorized")
    assert_error(post_json(client, f"/admin/merchants/{DEMO_MERCHANT}/keys", {}, customer), 403, "forbidden")


def test_merchant_bodies_are_validated(client, agent):
    assert_error(create_merchant(client, agent, currencies=[]), 400, "validation_error", field="currencies")
    assert_error(create_merchant(client, agent, currencies=["GBP"]), 400, "validation_error")
    assert_error(create_merchant(client, agent, name=" "), 400, "validation_error", field="name")
    assert_error(create_merchant(client, agent, colour="red"), 400, "validation_error")
    assert_error(patch_merchant(client, agent, DEMO_MERCHANT, status="closed"), 400, "validation_error")


def test_patch_renames_repoints_and_suspends_and_an_unknown_merchant_is_404(client, agent):
    merchant_id, shop = new_shop(client, agent)
    renamed = patch_merchant(client, agent, merchant_id, name="Lotus Tea", webhook_url="https://shop.example.com/v2")
    assert renamed.status_code == 200, renamed.body
    assert body_of(renamed)["name"] == "Lotus Tea"
    assert body_of(renamed)["webhook_url"] == "https://shop.example.com/v2"
    assert body_of(renamed)["currencies"] == ["CNY", "HKD"]

    suspended = patch_merchant(client, agent, merchant_id, status="suspended")
    assert body_of(suspended)["status"] == "suspended"
    assert merchant_id not in {m["merchant_id"] for m in body_of(client.get("/merchants"))["data"]}
    assert_error(create_order(client, shop), 403, "forbidden")

    assert body_of(patch_merchant(client, agent, merchant_id, status="active"))["status"] == "active"
    assert create_order(client, shop).status_code == 201
    assert_error(patch_merchant(client, agent, "mch_nope", name="x"), 404, "not_found")
    assert_error(patch_merchant(client, agent, "mch_nope"), 404, "not_found")


def test_a_key_is_shown_once_and_stored_only_hashed_with_its_webhook_secret_encrypted(client, agent):
    merchant_id = body_of(create_merchant(client, agent))["merchant_id"]
    response = post_json(client, f"/admin/merchants/{merchant_id}/keys", {}, agent)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    issued = body_of(response)
    assert set(issued) == {"key_id", "secret_key", "webhook_secret"}
    assert issued["secret_key"].startswith("sk_test_") and issued["webhook_secret"].startswith("whsec_")
    stored = [item.attribute_values for item in MerchantKey.query(merchant_id)]
    lookups = [item.attribute_values for item in KeyLookup.scan() if item.owner == merchant_id]
    assert len(stored) == 1 and len(lookups) == 1
    for raw in (*stored, *lookups):  # neither secret is kept as given
        text = repr(raw)
        assert issued["secret_key"] not in text and issued["secret_key"][8:] not in text
        assert issued["webhook_secret"] not in text and issued["webhook_secret"][6:] not in text
    assert create_order(client, key_headers(issued["secret_key"])).status_code == 201
    assert_error(post_json(client, "/admin/merchants/mch_nope/keys", {}, agent), 404, "not_found")


def test_two_keys_work_at_once_and_a_revoked_one_stops_at_once(client, agent):
    merchant_id = body_of(create_merchant(client, agent))["merchant_id"]
    first, second = issue_key(client, agent, merchant_id), issue_key(client, agent, merchant_id)
    assert first["secret_key"] != second["secret_key"] and first["webhook_secret"] != second["webhook_secret"]
    assert create_order(client, key_headers(first["secret_key"])).status_code == 201
    assert create_order(client, key_headers(second["secret_key"])).status_code == 201

    revoked = client.delete(f"/admin/merchants/{merchant_id}/keys/{first['key_id']}", headers=agent)
    assert revoked.status_code == 204 and not revoked.body
    assert_error(create_order(client, key_headers(first["secret_key"])), 401, "unauthorized")
    assert create_order(client, key_headers(second["secret_key"])).status_code == 201
    again = client.delete(f"/admin/merchants/{merchant_id}/keys/{first['key_id']}", headers=agent)
    assert_error(again, 404, "not_found")
    other = client.delete(f"/admin/merchants/{DEMO_MERCHANT}/keys/{second['key_id']}", headers=agent)
    assert_error(other, 404, "not_found")  # a key is revoked only through its own merchant
    assert create_order(client, key_headers(second["secret_key"])).status_code == 201


def test_the_demo_merchant_is_seeded_with_the_contracts_key(client, agent):
    listed = {m["merchant_id"] for m in body_of(client.get("/merchants"))["data"]}
    assert DEMO_MERCHANT in listed
    order = body_of(create_order(client, DEMO_KEY))
    assert order["merchant_id"] == DEMO_MERCHANT


def test_the_demo_keys_webhook_secret_is_kept_encrypted_and_opens_to_the_contracts_value(seeded):
    from chalicelib.services.wallet import merchants

    (stored,) = MerchantKey.query(DEMO_MERCHANT)
    assert "whsec_okpay_local_demo" not in stored.webhook_secret
    assert merchants.webhook_secrets(DEMO_MERCHANT) == ["whsec_okpay_local_demo"]
