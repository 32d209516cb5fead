"""Declaring an HTTP operation once: the Chalice route, its checks, and its OpenAPI entry.

Every route is declared with `@operation(...)`, which makes the Chalice view (registered in an app
by `mount`) and records what the OpenAPI document says about it, so the two cannot drift
(tests/api/test_openapi.py checks that no Chalice route bypasses this). The view runs the
contract's check order:

    401 → 403 forbidden → 400 idempotency_key_required → key lookup → body/query validation
    → the handler (which raises 404/409/422 … from the services)

and turns every failure into the error envelope. The body is parsed and validated once, before the
key lookup (whose fingerprint is the validated, canonical body), but a validation error is raised
only after the lookup, in its place in that order.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from chalice import Blueprint, Chalice, Response
from pynamodb.exceptions import PynamoDBException

from chalicelib.adapters import aws, clock
from chalicelib.adapters.logging import logger
from chalicelib.api import request_context
from chalicelib.api.authentication import authenticate
from chalicelib.api.envelope import error_response, json_response
from chalicelib.api.request_context import RequestScope
from chalicelib.api.validation import parse_json_object, validate
from chalicelib.errors import OkpayError
from chalicelib.services.common import idempotency

# 1–255 printable ASCII characters (contract, section 1).
_IDEMPOTENCY_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one method on one path."""

    method: str
    path: str
    summary: str
    tag: str
    auth: str = "public"  # "public" | "user" | "agent" | "merchant" (a merchant's secret key, /merchant/*)
    # Models by name, in the module chalicelib.api.schemas.<schemas>; loaded on first use, so that
    # importing the app (a Lambda cold start) never imports pydantic.
    schemas: str | None = None
    body: str | None = None
    query: str | None = None
    response: str | None = None
    status: int = 200
    other_statuses: tuple[int, ...] = ()  # further success statuses with the same body (202 …)
    errors: tuple[str, ...] = ()
    idempotency: str | None = None  # None | "optional" | "required"
    # False for an internal movement (transfer, payment, conversion): its own transaction claims the
    # key, so no in-flight marker is written first (chalicelib/services/common/idempotency.py).
    key_marker: bool = True
    # A /_local tool: its Blueprint is registered only in the local stage (app.py), so elsewhere the
    # route does not exist (404 from API Gateway) and the OpenAPI document leaves it out.
    local_only: bool = False
    module: str = ""  # the module that declares it (its area, chalicelib/api/areas.py)
    description: str = ""
    response_headers: tuple[str, ...] = ()
    # What a success answers, when not JSON (the API reference page and its files).
    media_type: str = "application/json"
    # OpenAPI examples that differ from the models' own: "request" and success statuses (202 …).
    examples: dict[Any, Any] = field(default_factory=dict, hash=False, compare=False)
    # A description per success status, where one body means different things (201 vs 202).
    responses: dict[int, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def operation_id(self) -> str:
        return f"{self.method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', self.path).strip('_')}"

    @property
    def body_model(self) -> Any:
        return _model(self.schemas, self.body)

    @property
    def query_model(self) -> Any:
        return _model(self.schemas, self.query)

    @property
    def response_model(self) -> Any:
        return _model(self.schemas, self.response)


def _model(module: str | None, name: str | None) -> Any:
    if name is None:
        return None
    area = importlib.import_module(f"chalicelib.api.schemas.{module}")
    if hasattr(area, name):
        return getattr(area, name)
    return getattr(importlib.import_module("chalicelib.api.schemas.common"), name)  # e.g. PageQuery


OPERATIONS: list[Operation] = []
# The view of each (method, path), once its module has been imported.
_VIEWS: dict[tuple[str, str], Callable[..., Response]] = {}


@dataclass
class Call:
    """What a handler receives."""

    params: dict[str, str]
    body: Any
    query: Any
    scope: RequestScope
    headers: Any
    source_ip: str | None
    idempotency_key: str | None = None
    # The request's hold on its Idempotency-Key (chalicelib.services.common.idempotency.Hold). Handlers do
    # not pass it on: the unit of work finds it (`idempotency.held()`) and stores the answer.
    idempotency: Any = None
    user: Any = None
    merchant: Any = None  # on /merchant/* routes: the calling merchant (services.wallet.merchant_auth.MerchantCaller)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def caller_id(self) -> str | None:
        """Whose Idempotency-Keys these are: the user, or the merchant of a merchant key (section 1)."""
        if self.merchant is not None:
            return f"merchant#{self.merchant.merchant_id}"
        return self.user.user_id if self.user is not None else None


@dataclass
class Reply:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Any]


def operation(method: str, path: str, *, summary: str, tag: str, **options: Any) -> Callable[[Handler], Handler]:
    """Make `handler` the view for `method path` and record it for the OpenAPI document. The route
    is served through its area (`mount_area`), which imports this module on the route's first use."""

    def register(handler: Handler) -> Handler:
        op = Operation(method=method, path=path, summary=summary, tag=tag, module=handler.__module__, **options)
        OPERATIONS.append(op)

        def view(**params: str) -> Response:
            return run(op, handler, request_context.current_request(), params)

        _VIEWS[(method, path)] = view
        return handler

    return register


def mount_area(app: Chalice, module: str, routes: tuple[tuple[str, str], ...]) -> None:
    """Register an area's routes in `app` through a Blueprint of its own, without importing the area:
    each view imports `module` (its handlers, services and models) on the first request to one of
    them. So a cold start pays for the edge only, and a request for the area it uses.

    A Blueprint per call: Chalice's Blueprint pops a route's options while registering it, so one
    could be registered in one app only, and one process builds the app of more than one stage (the
    tests' dev and prod clients, see app.create_app).
    """
    area = Blueprint(module)
    for method, path in routes:
        name = f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}"
        area.route(path, methods=[method], name=name)(_view_in(module, method, path))
    app.register_blueprint(area)


def _view_in(module: str, method: str, path: str) -> Callable[..., Response]:
    def view(**params: str) -> Response:
        if (method, path) not in _VIEWS:
            importlib.import_module(module)  # registers the area's operations (the import lock serialises)
        return _VIEWS[(method, path)](**params)

    return view


def run(op: Operation, handler: Handler, request: Any, params: dict[str, str]) -> Response:
    scope = request_context.current()
    call = None
    try:
        call = Call(
            params=params,
            body=None,
            query=None,
            scope=scope,
            headers=request.headers,
            source_ip=(request.context.get("identity") or {}).get("sourceIp"),
        )
        _authenticate(op, call)
        call.idempotency_key = _idempotency_key(op, request.headers)
        claims_key = call.idempotency_key is not None and call.caller_id is not None
        body = _read_body(op, request.raw_body) if op.body is not None or claims_key else None
        if claims_key:
            replay = _claim_key(op, call, body.canonical, params)
            if replay is not None:
                return replay
        if op.body is not None:
            if body.error is not None:
                raise body.error
            call.body = body.model
        if op.query is not None:
            call.query = validate(op.query_model, dict(request.query_params or {}))
        with idempotency.holding(call.idempotency):
            response = _to_response(handler(call), op)
        return _settle_key(call, response, None)
    except idempotency.KeyTaken as taken:  # a duplicate of this request answered first
        return _replayed(taken.replay)
    except OkpayError as error:
        scope.extra["error_code"] = error.code
        return _settle_key(call, error_response(error), error.code)
    except (ClientError, BotoCoreError, PynamoDBException) as error:
        return _settle_key(call, _aws_failure(error, scope), None)
    except Exception:
        logger.exception("unhandled error", extra={"path": op.path, "method": op.method})
        scope.extra["error_code"] = "internal_error"
        return _settle_key(call, error_response(OkpayError("internal_error")), None)


@dataclass
class _Body:
    """The request body, read once: the validated model or the error to raise after the key lookup,
    and the canonical form the Idempotency-Key fingerprints."""

    canonical: Any
    model: Any = None
    error: OkpayError | None = None


def _read_body(op: Operation, raw: bytes | None) -> _Body:
    try:
        data = parse_json_object(raw)
    except OkpayError as error:  # not a JSON object: the text itself is what was sent
        return _Body((raw or b"").decode("utf-8", "replace"), error=error)
    if op.body is None:
        return _Body(data)
    try:
        model = validate(op.body_model, data)
    except OkpayError as error:
        return _Body(data, error=error)
    # As validated: defaults filled in, strings stripped; nulls and `authorization` are dropped by
    # the fingerprint itself (chalicelib.services.common.idempotency.fingerprint).
    return _Body(model.model_dump(mode="json", by_alias=True), model=model)


def _claim_key(op: Operation, call: Call, body: Any, params: dict[str, str]) -> Response | None:
    """The key lookup (after 401/403/400-key, before validation): a replay, or hold the key."""
    path = op.path.format(**params)
    held = idempotency.begin(
        call.caller_id, op.method, path, call.idempotency_key, body, clock.now(), marker=op.key_marker
    )
    if isinstance(held, idempotency.Replay):
        return _replayed(held)
    call.idempotency = held
    return None


def _settle_key(call: Call | None, response: Response, code: str | None) -> Response:
    """Store the answer for replay when the contract says so, else let the key go; the response to
    send (the stored one when a duplicate of this request answered first)."""
    hold = call.idempotency if call is not None else None
    if hold is None:
        return response
    try:
        body = response.body
        stored = json.loads(body) if isinstance(body, (str, bytes)) and body else body
        replay = idempotency.settle(hold, response.status_code, code, stored, clock.now())
    except OkpayError as error:  # the key was used for another body
        return error_response(error)
    except Exception:  # DynamoDB refused the key's record past its retries
        logger.exception("idempotency record not settled")
        if 200 <= response.status_code < 300:
            return response  # the work is done: its answer still goes out (a marker is abandoned after 60 s)
        # An unstored refusal may contradict the answer stored under the key (a replayed payment runs
        # again and is refused `already_paid`; only its stored 201 may answer): nothing moved, so 503.
        return error_response(OkpayError("try_again", retry_after=1))
    return _replayed(replay) if replay is not None else response


def _replayed(replay: idempotency.Replay) -> Response:
    return json_response(replay.body, replay.status, {"Idempotent-Replayed": "true"})


def _authenticate(op: Operation, call: Call) -> None:
    """401, then 403 forbidden. Identity (sessions, roles) plugs in here."""
    if op.auth == "public":  # needs no sign-in: any Authorization, a merchant key too, grants nothing
        return
    authenticate(op, call)


def _idempotency_key(op: Operation, headers: Any) -> str | None:
    key = headers.get("idempotency-key")
    if key is None:
        if op.idempotency == "required":
            raise OkpayError("idempotency_key_required")
        return None
    if op.idempotency is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise OkpayError("idempotency_key_required", field="Idempotency-Key")
    return key


def _to_response(result: Any, op: Operation) -> Response:
    if isinstance(result, Response):
        return result
    reply = result if isinstance(result, Reply) else Reply(result, op.status)
    body = reply.body
    if hasattr(body, "model_dump"):  # a pydantic model
        body = body.model_dump(mode="json")
    return json_response(body, reply.status, reply.headers)


def _aws_failure(error: Exception, scope: RequestScope) -> Response:
    """An AWS call failed: `503 try_again` when it was only busy or out of reach (nothing was done,
    the same request may be repeated: contract, section 1, Faults), else 500."""
    cause = getattr(error, "cause", None) or error
    code = cause.response.get("Error", {}).get("Code", "") if isinstance(cause, ClientError) else type(cause).__name__
    if aws.is_busy(error):
        logger.warning("aws busy", extra={"aws_error": code})
        scope.extra["error_code"] = "try_again"
        return error_response(OkpayError("try_again", retry_after=1))
    logger.exception("aws failure", extra={"aws_error": code})
    scope.extra["error_code"] = "internal_error"
    return error_response(OkpayError("internal_error"))
