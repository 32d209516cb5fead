"""JSON replies and the contract's error envelope."""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.api import request_context
from chalicelib.errors import RETRY_AFTER_CODES, OkpayError
from chalicelib.i18n import error_message

JSON = "application/json; charset=utf-8"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    all_headers = {"Content-Type": JSON, **(headers or {})}
    if body is None:
        return Response(
            body="", status_code=status, headers={k: v for k, v in all_headers.items() if k != "Content-Type"}
        )
    # ensure_ascii=False: Chinese text stays readable; the body is UTF-8 either way.
    return Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")), status_code=status, headers=all_headers
    )


def error_body(
    error: OkpayError, locale: str, request_id: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    params = {"field": error.field} if error.field else {}
    payload: dict[str, Any] = {
        "code": error.code,
        "message": error_message(error.code, locale, reason=error.reason, **params),
        "request_id": request_id,
    }
    if error.field:
        payload["field"] = error.field
    details = error.details if details is None else details
    if details is not None:
        payload["details"] = details
    return {"error": payload}


def error_response(error: OkpayError) -> Response:
    scope = request_context.current()
    headers = dict(error.headers)
    details = None
    if error.code in RETRY_AFTER_CODES:
        # In the header for HTTP clients and in `details` for generated ones, as API Gateway's own
        # 429 and 503 say it (infra/resources.yaml, Gateway Responses).
        seconds = max(1, int(error.retry_after or 1))
        headers["Retry-After"] = str(seconds)
        details = {**(error.details or {}), "retry_after": seconds}
    return json_response(error_body(error, scope.locale, scope.request_id, details), error.status, headers)


def is_envelope(body: Any) -> bool:
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            return False
    return isinstance(body, dict) and isinstance(body.get("error"), dict) and "code" in body["error"]
