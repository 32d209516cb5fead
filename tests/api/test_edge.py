"""The edge under hostile input (issue 10, items 9, 12, 14): nesting, size, methods.

Each answer is the contract's envelope: `400 validation_error` for a body nested past what is parsed,
`413 payload_too_large` above the body limit, `405 method_not_allowed` with `Allow` for any method a
path does not have (unknown ones included), never a 500 or the server's own page.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.api.middleware import MAX_BODY_BYTES
from chalicelib.api.validation import MAX_DEPTH
from tests.helpers.http import assert_error, body_of, post_json, put_json
from tests.helpers.users import make_user, signed_in
from tests.helpers.wallet import add_card, balances, top_up


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


DEEP_BODIES = {
    "arrays_100000": b"[" * 100_000,
    "arrays_100000_closed": b"[" * 100_000 + b"]" * 100_000,
    "objects_5000": nested_objects(5000),
    "field_of_arrays_5000": b'{"now": ' + b"[" * 5000 + b"]" * 5000 + b"}",
}


# --- nesting --------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
def test_a_body_nested_past_the_parser_is_400_not_500(client, body):
    for path in ("/auth/login", "/auth/register/start"):
        error = assert_error(post_json(client, path, body), 400, "validation_error")
        assert "JSON" in error["message"]
    assert_error(put_json(client, "/_local/clock", body), 400, "validation_error")


def test_nesting_deeper_than_the_limit_but_parseable_is_400(client):
    # 900 levels parse, but walking them again (the fingerprint's json.dumps, a validator) would not.
    for depth in (MAX_DEPTH + 1, 900):
        body = b'{"now": ' + b"[" * depth + b"]" * depth + b"}"
        assert_error(put_json(client, "/_local/clock", body), 400, "validation_error")
    # at the limit: an ordinary validation error about the field
    at_limit = b'{"now": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    assert_error(put_json(client, "/_local/clock", at_limit), 400, "validation_error", field="now")


@pytest.mark.parametrize("depth", [900, 5000, 100_000])
def test_a_deep_body_under_an_idempotency_key_is_400_and_leaves_the_key_unused(client, stage, depth):
    """The key lookup reads the body before validation does: it must not crash on it either."""
    headers = signed_in(make_user())
    card = add_card(client, headers)
    body = b'{"funding_source_id": ' + b"[" * depth + b"]" * depth + b', "amount": 100, "currency": "CNY"}'
    response = post_json(client, "/me/topups", body, {**headers, "Idempotency-Key": f"deep-{depth}"})
    assert_error(response, 400, "validation_error")
    good = top_up(client, headers, card, 100, key=f"deep-{depth}")
    assert good.status_code == 201 and "Idempotent-Replayed" not in good.headers
    assert balances(client, headers)["CNY"] == 100


# --- size -----------------------------------------------------------------------------------------


def padded_login(size: int) -> bytes:
    body = json.dumps({"login": "+8613800000000", "password": "x", "device_id": "d"}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_a_body_over_the_limit_is_413_payload_too_large(client):
    too_large = padded_login(MAX_BODY_BYTES + 1)
    assert_error(post_json(client, "/auth/login", too_large), 413, "payload_too_large")
    assert_error(post_json(client, "/me/topups", too_large), 413, "payload_too_large")  # before 401
    assert_error(put_json(client, "/_local/clock", too_large), 413, "payload_too_large")
    zh = post_json(client, "/auth/login", b"x" * (5 * MAX_BODY_BYTES), {"Accept-Language": "zh-CN"})
    assert body_of(zh)["error"]["message"] == "请求内容过大。"


def test_a_body_at_the_limit_goes_through(client):
    body = padded_login(MAX_BODY_BYTES)
    assert len(body) == MAX_BODY_BYTES
    assert_error(post_json(client, "/auth/login", body), 401, "invalid_credentials")


def test_the_document_lists_413_for_operations_with_a_body(client):
    document = body_of(client.get("/openapi.json"))
    assert "payload_too_large" in document["paths"]["/auth/login"]["post"]["responses"]["413"]["description"]
    assert str(MAX_BODY_BYTES) in document["info"]["description"]


# --- methods --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["QUERY", "FOO", "TRACE", "OPTIONS", "CONNECT", "PUT", "DELETE"])
def test_any_method_a_path_lacks_is_405_with_allow(client, method):
    response = client.request(method, "/health")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET"
    response = client.request(method, "/me")
    assert_error(response, 405, "method_not_allowed")
    assert sorted(m.strip() for m in response.headers["Allow"].split(",")) == ["GET", "PATCH"]


@pytest.mark.parametrize("method", ["QUERY", "FOO", "OPTIONS"])
def test_an_unknown_path_is_404_whatever_the_method(client, method):
    assert_error(client.request(method, "/no/such/route"), 404, "not_found")
