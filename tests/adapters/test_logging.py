"""Logs are JSON lines with the request id, and never carry a password, code or token."""

from __future__ import annotations

import json

from chalicelib.adapters.logging import MASK, logger, redact


def test_secret_named_fields_are_masked_at_any_depth():
    record = {
        "password": "hunter2hunter2",
        "new_password": "x",
        "code": "123456",
        "access_token": "eyJ...",
        "Authorization": "Bearer abc",
        "card_number": "4000000000000002",
        "id_number": "11010519491231002X",
        "nested": {"refresh_token": "r", "list": [{"totp": "1", "otp_code": "2"}], "amount": 5},
        "status_code": 200,
        "error_code": "invalid_code",
        "path": "/auth/login",
    }
    cleaned = redact(record)
    assert cleaned["password"] == cleaned["new_password"] == cleaned["code"] == MASK
    assert cleaned["access_token"] == cleaned["Authorization"] == cleaned["card_number"] == MASK
    assert cleaned["id_number"] == MASK
    assert cleaned["nested"]["refresh_token"] == MASK
    assert cleaned["nested"]["list"][0]["otp_code"] == MASK
    assert cleaned["nested"]["amount"] == 5
    assert (cleaned["status_code"], cleaned["error_code"], cleaned["path"]) == (200, "invalid_code", "/auth/login")


def test_log_lines_are_json_with_secrets_masked(log_lines):
    logger.info("login attempt", extra={"password": "s3cret-pass", "login": "+8613800138000"})
    line = log_lines()[-1]
    payload = json.loads(line)
    assert payload["message"] == "login attempt"
    assert payload["password"] == MASK
    assert "s3cret-pass" not in line


def test_request_log_line_carries_the_request_id(client, log_lines):
    response = client.get("/health")
    lines = [json.loads(line) for line in log_lines()]
    request_lines = [line for line in lines if line.get("message") == "request"]
    assert request_lines[-1]["request_id"] == response.headers["X-Request-Id"]
    assert request_lines[-1]["status_code"] == 200
