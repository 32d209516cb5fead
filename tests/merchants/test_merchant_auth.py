"""Merchant keys and user tokens are never interchangeable (contract v1.2, section 14)."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.merchants import DEMO_KEY, create_order, get_order, issue_key, key_headers, new_shop, patch_merchant
from tests.helpers.support import customer


def test_a_users_token_is_refused_on_every_merchant_route(client, agent):
    _, headers = customer(client)
    order = body_of(create_order(client, DEMO_KEY))
    assert_error(create_order(client, headers), 401, "unauthorized")
    assert_error(client.get(f"/merchant/orders/{order['order_id']}", headers=headers), 401, "unauthorized")
    assert_error(
        client.get(f"/merchant/orders?out_order_no={order['out_order_no']}", headers=headers), 401, "unauthorized"
    )
    assert_error(post_json(client, f"/merchant/orders/{order['order_id']}/close", {}, headers), 401, "unauthorized")
    assert_error(post_json(client, f"/merchant/orders/{order['order_id']}/close", {}, agent), 401, "unauthorized")
    assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["status"] == "open"  # nothing was closed


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/me"), ("GET", "/me/wallet"), ("GET", "/orders/{order_id}"), ("GET", "/me/transactions")],
)
def test_a_merchant_key_is_refused_on_every_other_signed_in_route(client, seeded, method, path):
    order = body_of(create_order(client, DEMO_KEY))
    response = client.request(method, path.format(order_id=order["order_id"]), headers=DEMO_KEY)
    assert_error(response, 401, "unauthorized")


def test_a_merchant_key_cannot_pay_an_order_or_reach_the_admin_routes(client, seeded):
    order = body_of(create_order(client, DEMO_KEY))
    paid = post_json(client, f"/orders/{order['order_id']}/pay", {}, {**DEMO_KEY, "Idempotency-Key": "k1"})
    assert_error(paid, 401, "unauthorized")
    assert_error(post_json(client, "/admin/merchants", {}, DEMO_KEY), 401, "unauthorized")
    assert body_of(get_order(client, DEMO_KEY, order["order_id"]))["status"] == "open"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer sk_test_okpay_local_dem0",  # one character off
        "Bearer sk_test_" + "x" * 300,
        "Basic c2tfdGVzdF9va3BheV9sb2NhbF9kZW1vOg==",
        "sk_test_okpay_local_demo",  # no scheme
        "Bearer whsec_okpay_local_demo",  # the webhook secret is not a key
    ],
)
def test_a_missing_or_unknown_key_is_401(client, seeded, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = post_json(client, "/merchant/orders", {}, {**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert_error(response, 401, "unauthorized")


def test_a_suspended_merchants_keys_are_403_and_work_again_when_reactivated(client, agent):
    merchant_id, shop = new_shop(client, agent)
    second = key_headers(issue_key(client, agent, merchant_id)["secret_key"])
    order = body_of(create_order(client, shop))
    patch_merchant(client, agent, merchant_id, status="suspended")
    for headers in (shop, second):
        assert_error(create_order(client, headers), 403, "forbidden")
        assert_error(get_order(client, headers, order["order_id"]), 403, "forbidden")
    patch_merchant(client, agent, merchant_id, status="active")
    assert body_of(get_order(client, second, order["order_id"]))["status"] == "open"


def test_a_public_route_ignores_a_merchant_key(client, seeded):
    # Public routes need no sign-in: the key grants nothing there, and takes nothing away.
    assert body_of(client.get("/health", headers=DEMO_KEY)) == {"status": "ok"}
