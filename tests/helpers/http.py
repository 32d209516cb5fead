"""Calling the API in tests: JSON requests, bearer headers and assertions on the contract's reply shapes."""

from __future__ import annotations

import json
from typing import Any

JSON = {"Content-Type": "application/json"}


def body_of(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def assert_error(response: Any, status: int, code: str, *, field: str | None = None) -> dict:
    """The reply is the contract's error envelope with this status and code; returns `error`."""
    assert response.status_code == status, (response.status_code, response.body)
    body = body_of(response)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert error["request_id"] == response.headers["X-Request-Id"], (error, response.headers)
    assert set(error) <= {"code", "message", "request_id", "field", "details"}, error
    assert "Traceback" not in response.body.decode(), response.body
    if field is not None:
        assert error.get("field") == field, error
    return error


def post_json(http: Any, path: str, payload: Any, headers: dict[str, str] | None = None) -> Any:
    raw = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return http.post(path, body=raw, headers={**JSON, **(headers or {})})


def put_json(http: Any, path: str, payload: Any, headers: dict[str, str] | None = None) -> Any:
    raw = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return http.put(path, body=raw, headers={**JSON, **(headers or {})})


def auth(token: str) -> dict[str, str]:
    """The Authorization header for an access token."""
    return {"Authorization": f"Bearer {token}"}
