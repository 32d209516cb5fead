"""Injecting faults over HTTP (`PUT/DELETE /_local/faults`, contract section 10) and retrying through them."""

from __future__ import annotations

from typing import Any

from tests.helpers.http import body_of, put_json


def set_faults(client: Any, **faults: Any) -> dict[str, Any]:
    """Put `faults` in force (replacing any before); the faults the app answers are in force."""
    response = put_json(client, "/_local/faults", faults)
    assert response.status_code == 200, response.body
    return body_of(response)


def clear_faults(client: Any) -> None:
    response = client.delete("/_local/faults")
    assert response.status_code == 204, response.body


def until_not_503(send: Any, *, tries: int = 60) -> tuple[Any, int]:
    """Repeat `send()` (the same request, the same Idempotency-Key) while it answers 503 try_again,
    checking each 503 carries Retry-After; (the last response, how many 503s came before it)."""
    for attempt in range(tries):
        response = send()
        if response.status_code != 503:
            return response, attempt
        error = body_of(response)["error"]
        assert error["code"] == "try_again", error
        assert int(response.headers["Retry-After"]) >= 1, response.headers
    raise AssertionError(f"still 503 after {tries} tries")
