"""Make `chalice local` (and `chalice.test.Client`) answer unknown routes and methods like our API.

Deployed, API Gateway's MISSING_AUTHENTICATION_TOKEN response is mapped to the contract's
`404 not_found` envelope (infra/resources.yaml, Gateway Responses). Chalice's local gateway
answers 403 "Missing Authentication Token" instead; this wrapper gives the local stage the same
answer as the deployed one.

Chalice's development server (http.server) only hands the methods it has a `do_<METHOD>` for to
the gateway and answers any other (TRACE, QUERY, FOO …) with its own HTML 501. Every method now
goes to the gateway, so a path the API has answers `405 method_not_allowed` with `Allow` from the
app (contract, section 1), exactly as `chalice.test.Client`, which never had that filter, does.
OPTIONS too: Chalice's gateway would answer it with a CORS preflight of its own, which API Gateway
only has for routes with CORS (none here).

Used only by the local server and the tests.
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


def _any_method(self, name):
    """`do_<METHOD>` for every method the class has no handler of its own for: the generic one.

    http.server looks the handler up with `hasattr(self, "do_" + command)`, which lands here.
    """
    if name.startswith("do_"):
        return self._generic_handle
    raise AttributeError(name)


def _options_goes_to_the_app(self, lambda_event):
    """OPTIONS reaches the app (405 with Allow) unless a route of the path declares CORS."""
    routes = self._app_object.routes[lambda_event["requestContext"]["resourcePath"]]
    return "OPTIONS" in routes or not any(entry.cors for entry in routes.values())


def install() -> None:
    local.LocalGateway.handle_request = _handle_request
    local.LocalGateway._has_user_defined_options_method = _options_goes_to_the_app
    local.ChaliceRequestHandler.__getattr__ = _any_method
    # A burst of clients at once (a script, the workload tests) queues like it would at API Gateway
    # instead of being reset by the listen backlog of 5 that socketserver defaults to.
    local.ThreadedHTTPServer.request_queue_size = 256
    local.ThreadedHTTPServer.daemon_threads = True
