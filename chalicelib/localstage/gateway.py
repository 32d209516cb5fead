"""Make `chalice local` (and `chalice.test.Client`) answer unknown routes like our API Gateway.

Deployed, API Gateway's MISSING_AUTHENTICATION_TOKEN response is mapped to the contract's
`404 not_found` envelope (infra/resources.yaml, Gateway Responses). Chalice's local gateway
answers 403 "Missing Authentication Token" instead; this wrapper gives the local stage the same
answer as the deployed one. Used only by the local server and the tests.
"""

from __future__ import annotations

import json
import uuid

from chalice import local

from chalicelib.i18n import error_message, locale_from_accept_language

_original = local.LocalGateway.handle_request


def _handle_request(self, method, path, headers, body):
    try:
        return _original(self, method, path, headers, body)
    except local.ForbiddenError:
        request_id = uuid.uuid4().hex
        lowered = {name.lower(): value for name, value in (headers or {}).items()}
        locale = locale_from_accept_language(lowered.get("accept-language")) or "en"
        envelope = {
            "error": {"code": "not_found", "message": error_message("not_found", locale), "request_id": request_id}
        }
        return {
            "statusCode": 404,
            "headers": {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": request_id},
            "multiValueHeaders": {},
            "body": json.dumps(envelope, ensure_ascii=False),
        }


def install() -> None:
    local.LocalGateway.handle_request = _handle_request
    # The dev server has no TRACE handler and would answer with its own HTML 501.
    local.ChaliceRequestHandler.do_TRACE = local.ChaliceRequestHandler._generic_handle
