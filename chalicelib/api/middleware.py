"""HTTP middleware: request id, access log, the body size limit, and the envelope for Chalice's
own errors.

Chalice answers some requests itself before a view runs (wrong method, unsupported media type,
its own 500): those bodies are rewritten here into the contract's envelope, so a client never sees
two error shapes.

A body larger than MAX_BODY_BYTES is `413 payload_too_large` before anything else looks at it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Response

from chalicelib.adapters.logging import logger
from chalicelib.api import request_context
from chalicelib.api.envelope import error_response, is_envelope
from chalicelib.errors import OkpayError

# The largest request body the API takes: 1 MiB. The largest body of the contract (a message or a
# dispute's text) is a few KB, and documents go straight to S3 by presigned POST, so nothing real
# comes near it; it also keeps a request well inside Lambda's 6 MB invocation payload (beyond which
# the integration fails instead of answering) and API Gateway's 10 MB, whose own REQUEST_TOO_LARGE
# answers the same 413 envelope (infra/resources.yaml).
MAX_BODY_BYTES = 1024 * 1024

# Chalice's own error statuses -> our codes
_CHALICE_STATUS_CODES = {
    400: "validation_error",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def install(app: Chalice) -> None:
    @app.middleware("http")
    def request_scope(event: Any, get_response: Callable[[Any], Response]) -> Response:
        started = time.perf_counter()
        scope = request_context.begin(event.context, event.headers, event)
        logger.thread_safe_append_keys(request_id=scope.request_id)
        try:
            if len(event.raw_body or b"") > MAX_BODY_BYTES:
                scope.extra["error_code"] = "payload_too_large"
                response = error_response(OkpayError("payload_too_large"))
            else:
                response = get_response(event)
            if response.status_code >= 400 and not is_envelope(response.body):
                response = _as_envelope(response)
            response.headers["X-Request-Id"] = scope.request_id
            logger.info(
                "request",
                extra={
                    "method": event.method,
                    "path": event.context.get("resourcePath"),
                    "status_code": response.status_code,
                    "error_code": scope.extra.get("error_code"),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return response
        finally:
            logger.thread_safe_remove_keys(["request_id"])
            request_context.end()


def _as_envelope(response: Response) -> Response:
    code = _CHALICE_STATUS_CODES.get(response.status_code, "internal_error")
    if code == "internal_error":
        logger.error("chalice error response", extra={"status_code": response.status_code})
    kept = {name: value for name, value in response.headers.items() if name.lower() == "allow"}
    return error_response(OkpayError(code, headers=kept))
