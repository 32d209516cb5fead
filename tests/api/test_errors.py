"""Every failure uses the contract's envelope: Chalice's own, malformed input, crashes, AWS trouble."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from chalicelib.services.wallet import catalog
from tests.helpers.http import assert_error, body_of, post_json, put_json


def test_unknown_route_is_404_not_found(client):
    assert_error(client.get("/no/such/route"), 404, "not_found")
    assert_error(client.post("/wallet-typo", body=b"{}"), 404, "not_found")


def test_unknown_route_message_follows_accept_language(client):
    error = assert_error(client.get("/nope", headers={"Accept-Language": "zh-CN"}), 404, "not_found")
    assert error["message"] == "未找到相关内容。"


def test_wrong_method_is_405_with_allow(client):
    response = client.post("/health", body=b"{}", headers={"Content-Type": "application/json"})
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET"


def test_body_that_is_not_json_is_400(client):
    error = assert_error(put_json(client, "/_local/clock", b'{"now": '), 400, "validation_error")
    assert "JSON" in error["message"]


@pytest.mark.parametrize("payload", [b"[]", b'"text"', b"42", b"null", b"true"])
def test_body_that_is_not_an_object_is_400(client, payload):
    assert_error(put_json(client, "/_local/clock", payload), 400, "validation_error")


def test_nan_is_not_json(client):
    assert_error(put_json(client, "/_local/clock", b'{"now": NaN}'), 400, "validation_error")


def test_wrong_content_type_is_415(client):
    response = client.put(
        "/_local/clock", body=b'{"now": "2026-01-01T00:00:00Z"}', headers={"Content-Type": "text/plain"}
    )
    assert_error(response, 415, "unsupported_media_type")


def test_missing_content_type_is_read_as_json(client):
    response = client.put("/_local/clock", body=b'{"now": "2026-01-01T00:00:00+08:00"}')
    assert response.status_code == 200


def test_unknown_field_is_named(client):
    error = assert_error(
        put_json(client, "/_local/clock", {"now": "2026-01-01T00:00:00Z", "nwo": 1}),
        400,
        "validation_error",
        field="nwo",
    )
    assert "nwo" in error["message"]


def test_missing_required_field_is_named(client):
    assert_error(put_json(client, "/_local/clock", {}), 400, "validation_error", field="now")


def test_null_is_the_same_as_absent(client):
    assert_error(put_json(client, "/_local/clock", {"now": None}), 400, "validation_error", field="now")
    assert post_json(client, "/_local/jobs/reconcile", {"now": None}).status_code == 200


def test_wrong_type_message_is_in_the_callers_language(client):
    response = put_json(client, "/_local/clock", {"now": 5}, headers={"Accept-Language": "zh-CN,en;q=0.5"})
    error = assert_error(response, 400, "validation_error", field="now")
    assert "字段 now" in error["message"]


def test_a_crash_is_a_500_envelope_without_a_trace(client, seeded, monkeypatch, caplog):
    def explode(locale):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(catalog, "list_merchants", explode)
    response = client.get("/merchants")
    error = assert_error(response, 500, "internal_error")
    assert "hunter2" not in json.dumps(body_of(response))
    assert "RuntimeError" not in error["message"]


def test_aws_throttling_is_a_retryable_503(client, seeded, monkeypatch):
    def throttled(locale):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Query")

    monkeypatch.setattr(catalog, "list_merchants", throttled)
    response = client.get("/merchants")
    assert_error(response, 503, "try_again")
    assert response.headers["Retry-After"] == "1"


def test_other_aws_failures_are_500(client, seeded, monkeypatch):
    def denied(locale):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Query")

    monkeypatch.setattr(catalog, "list_merchants", denied)
    assert_error(client.get("/merchants"), 500, "internal_error")


def test_an_unknown_field_is_refused_even_when_null(client):
    assert_error(
        put_json(client, "/_local/clock", {"now": "2026-01-01T00:00:00Z", "nwo": None}),
        400,
        "validation_error",
        field="nwo",
    )
