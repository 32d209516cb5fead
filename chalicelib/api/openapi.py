"""The OpenAPI 3.1 document of the API as served, built from the declared operations.

Request and response schemas come from the same pydantic models that validate requests, and each
error status of an operation lists the contract codes it can answer, as a union discriminated by
`code` whose members carry their own `details` schema. So the document and the code are one
source, and a client generated from it (openapi-python-client, openapi-typescript, Kotlin, Swift)
works as is. Built once per process (per stage), on first request.

Rules that hold for every operation by construction (tests/api/test_openapi.py and the linters in
`make test` check them): an example on every request and success body, `security: []` on public
routes, `Accept-Language` and `X-Request-Id`, the gateway's own 413/415/429/5xx answers, and no
`"default": null` (an absent optional field is just absent).

The document is the API as served in the stage answering: the /_local operations (`local_only`) are
in it only in the local stage, where app.py registers them.
"""

from __future__ import annotations

import importlib
import json
import re
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from chalicelib.adapters.config import get_settings
from chalicelib.api import areas
from chalicelib.api.middleware import MAX_BODY_BYTES
from chalicelib.api.routing import OPERATIONS, Operation
from chalicelib.api.schemas.common import DETAILS_OPTIONAL, DETAILS_SCHEMAS, RequestBody
from chalicelib.errors import RETRY_AFTER_CODES, STATUS_BY_CODE, STATUS_ON_ADMIN
from chalicelib.i18n import error_message

_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{(\w+)}")
_OMITTABLE = "x-omittable"

# What each tag groups, in the contract's words (its section in ../shared/contract/API.md).
TAGS: dict[str, str] = {
    "public": "Health, this document, customer-service contacts, merchants and FX rates: no sign-in needed.",
    "identity": (
        "Registration with a phone code, sign-in with optional second factor (TOTP, SMS, email or a "
        "recovery code), token refresh with reuse detection, sign-out and password reset."
    ),
    "account": (
        "The signed-in user's profile, verified contacts, password, sessions, two-factor settings and "
        "account closure. Changes to sign-in secrets need the current password."
    ),
    "kyc": (
        "Real-name verification (实名认证): upload documents by presigned POST, submit, and read the "
        "level and the limits it brings."
    ),
    "wallet": (
        "Balances, cards, top-ups, withdrawals, currency conversion and the transaction history. "
        "Every movement is double-entry, in integer minor units, and idempotent by `Idempotency-Key`."
    ),
    "transfers": (
        "Sending money to another Okpay user by id, phone or email. A transfer past the daily step-up "
        "budget waits for an SMS or TOTP code (`202 requires_confirmation`) before money moves."
    ),
    "payments": "Paying a shop or biller from the wallet, with the same checks as every money-out route.",
    "disputes": (
        "Appeals against a charge (申诉): open one within 120 days, exchange messages with an agent, "
        "withdraw it, and see the outcome and any refund."
    ),
    "support": (
        "Support tickets (客服): ask for help in writing and follow the conversation with an agent; live chat "
        "(在线客服): every write is a REST call, the WebSocket only pushes what happened."
    ),
    "admin": (
        "Agents' tools (role `agent`): the KYC review queue, dispute and ticket desks, and the daily "
        "reconciliation report."
    ),
    "local": "Local stage only: the captured email/SMS outbox, running scheduled jobs, and the test clock.",
    "merchant": (
        "The merchant API of online checkout (在线购物), called by a shop's server with its secret key: create an "
        "order, read it, close it; the user pays it in the app and the shop is told by a signed webhook."
    ),
}

# Error codes every operation can answer: the app's own 500 and 503, and API Gateway's throttling
# (its THROTTLED and QUOTA_EXCEEDED Gateway Responses, infra/resources.yaml).
_ALWAYS = ("rate_limited", "internal_error", "try_again")
# Business outcomes an Idempotency-Key stores and replays (contract, section 1), besides 2xx.
_STORED_STATUSES = frozenset({402, 403, 404, 409, 422})
# Codes of any operation that takes a body: too large (the app and API Gateway), not JSON.
_WITH_BODY = ("validation_error", "payload_too_large", "unsupported_media_type")

_DESCRIPTION = f"""\
The HTTP contract of the Okpay wallet backend (contract v1.2).

**Money.** Amounts are positive integers in the currency's minor units (CNY, HKD, USD, EUR: 2 decimals; \
JPY: none). Every movement is double-entry and idempotent.

**Idempotency.** Money-moving POSTs require an `Idempotency-Key` (1–255 printable characters); the other \
creating POSTs take one optionally. The same key and body within 24 h answers the stored reply again with \
`Idempotent-Replayed: true`; the same key with another body is `422 idempotency_key_reused`.

**Errors.** Every error is `{{"error": {{"code", "message", "request_id", "field"?, "details"?}}}}`. `code` \
is stable snake_case English and picks the shape of `details`; `message` follows `Accept-Language`. Each \
operation lists, per status, exactly the codes it can answer. 401 always means "sign in again".

**Answers of the gateway itself.** API Gateway answers some requests before the app runs, in the same \
envelope: `413 payload_too_large` (a body over {MAX_BODY_BYTES} bytes, 1 MiB), `415 unsupported_media_type`, \
`429 rate_limited` (throttling, with `Retry-After`), and `503 try_again` (the function timed out or failed; \
safe to retry with the same Idempotency-Key). An unknown route is `404 not_found`; a method a path does not \
have is `405 method_not_allowed` with `Allow`.

**Time.** Timestamps are ISO 8601 with offset; calendar rules are read in Asia/Shanghai.

Interactive reference: [`/docs`](docs).
"""


class _JsonSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, made for client generators:

    - no `"default": null`: generators read it as "always present", while an optional field the
      client leaves out is simply absent; a request field's other defaults are said in its
      description, for the same reason;
    - a union of models is `oneOf` (exactly one shape applies: tokens or an MFA challenge), where
      pydantic writes `anyOf`, which generators turn into "try each in turn".
    """

    def default_schema(self, schema: Any) -> dict[str, Any]:
        json_schema = super().default_schema(schema)
        if "default" not in json_schema:
            return json_schema
        default = json_schema.pop("default")
        if default is not None and self.mode == "validation":
            # A request field with a default is optional for the client; openapi-typescript reads a
            # `default` as "always present", so the default is told in words instead.
            said = f"Default: `{json.dumps(default, ensure_ascii=False)}`."
            json_schema["description"] = f"{json_schema.get('description', '').rstrip()} {said}".strip()
        elif default is not None:
            json_schema["default"] = default
        return json_schema

    def union_schema(self, schema: Any) -> dict[str, Any]:
        json_schema = super().union_schema(schema)
        choices = json_schema.get("anyOf", [])
        if len(choices) > 1 and all(set(choice) == {"$ref"} for choice in choices):
            json_schema["oneOf"] = json_schema.pop("anyOf")
        return json_schema


def document(local: bool | None = None) -> dict[str, Any]:
    """The document for the local stage or a deployed one (default: the stage serving the request)."""
    local = get_settings().is_local if local is None else local
    areas.load_all(local=local)  # every operation declared, not only the areas used so far
    return _build(len(OPERATIONS), local)


def document_json() -> str:
    """The document serialised once per process: it never changes while serving."""
    local = get_settings().is_local
    areas.load_all(local=local)
    return _serialised(len(OPERATIONS), local)


@lru_cache(maxsize=2)
def _serialised(_operation_count: int, local: bool) -> str:
    return json.dumps(document(local), ensure_ascii=False, separators=(",", ":"))


def served(local: bool) -> list[Operation]:
    """The operations a stage serves: the /_local ones only in the local stage."""
    return [op for op in OPERATIONS if local or not op.local_only]


@lru_cache(maxsize=2)
def _build(_operation_count: int, local: bool) -> dict[str, Any]:
    operations = served(local)
    codes = sorted({code for op in operations for code in error_codes(op)})
    models: set[type[BaseModel]] = {DETAILS_SCHEMAS[code] for code in codes if code in DETAILS_SCHEMAS}
    for op in operations:
        models.update(model for model in (op.body_model, op.response_model) if model is not None)
    keyed = [(model, "validation" if issubclass(model, RequestBody) else "serialization") for model in models]
    _, definitions = models_json_schema(keyed, ref_template=_REF, schema_generator=_JsonSchema)
    schemas = definitions.get("$defs", {})
    for schema in schemas.values():
        _drop_omittable(schema)
    for code in codes:
        name = error_schema_name(code)
        assert name not in schemas, f"error schema {name} would replace a model"
        schemas[name] = _error_schema(code)

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)

    settings = get_settings()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Okpay wallet API",
            "version": "1.2",  # the contract's version
            "description": _DESCRIPTION,
            "contact": {"name": "Okpay API support", "email": settings.support_email},
            "license": {"name": "Proprietary: Okpay API terms", "url": f"{settings.help_center_url}/api-terms"},
        },
        "servers": _servers(local),
        "security": [{"bearer": []}],
        "tags": [{"name": tag, "description": TAGS[tag]} for tag in sorted({op.tag for op in operations})],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": (
                        "The `access_token` of `/auth/login`, `/auth/mfa/verify`, `/auth/register` or "
                        "`/auth/token/refresh`; valid 15 minutes and while its session lasts. `/admin` "
                        "operations need an agent whose sign-in passed TOTP (or a recovery code), else "
                        "`403 mfa_required`."
                    ),
                },
                "merchantKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "sk_…",
                    "description": (
                        "A merchant's secret key (`POST /admin/merchants/{merchant_id}/keys`), on `/merchant/*` "
                        "only: a user's token there, or a secret key anywhere else, is `401 unauthorized`; a "
                        "suspended merchant's key is `403 forbidden`."
                    ),
                },
            },
            "parameters": {
                "AcceptLanguage": {
                    "name": "Accept-Language",
                    "in": "header",
                    "required": False,
                    "description": (
                        "The language of `message` in errors: any `zh-*` reads as `zh-CN`, else `en`. "
                        "Without it, the signed-in user's stored locale, else English."
                    ),
                    "schema": {"type": "string"},
                    "example": "zh-CN",
                }
            },
            "headers": {
                "X-Request-Id": {
                    "description": "Id of this request, also in the logs and in an error's `request_id`.",
                    "schema": {"type": "string"},
                },
                "Retry-After": {
                    "description": "Seconds to wait before retrying (also `details.retry_after`).",
                    "schema": {"type": "integer", "minimum": 1},
                },
                "Idempotent-Replayed": {
                    "description": "`true` when this is the stored response of an earlier request with the same key.",
                    "schema": {"type": "string", "enum": ["true"]},
                },
            },
        },
        "x-error-codes": {code: {"status": status} for code, status in STATUS_BY_CODE.items()},
    }


def _servers(local: bool) -> list[dict[str, Any]]:
    if local:
        return [{"url": "/", "description": "This server: the local stage (`make run`)."}]
    return [
        {"url": "/api", "description": "This deployment: API Gateway's `api` stage on the host serving this document."},
        {
            "url": "https://{api_id}.execute-api.{region}.amazonaws.com/api",
            "description": "A deployment by its API Gateway id.",
            "variables": {
                "api_id": {"default": "abcdef1234", "description": "The REST API's id (stack output)."},
                "region": {"default": get_settings().region or "ap-southeast-1"},
            },
        },
    ]


def error_codes(op: Operation) -> set[str]:
    """Every code `op` can answer: its own, and those of the checks every such operation runs."""
    codes = set(op.errors) | set(_ALWAYS)
    if op.body is not None:
        codes.update(_WITH_BODY)
    if op.query is not None:
        codes.add("validation_error")
    if op.auth != "public":
        codes.add("unauthorized")
    if op.auth == "agent":
        codes.update({"forbidden", "mfa_required"})  # the role, then TOTP at sign-in
    if op.idempotency:  # required: missing or malformed; optional: malformed
        codes.update({"idempotency_key_required", "idempotency_key_reused"})
        if op.key_marker:
            codes.add("request_in_progress")
    return codes


def status_of(op: Operation, code: str) -> int:
    """The status `code` has on `op`: its one status, except `mfa_required` on /admin (403)."""
    if code in STATUS_ON_ADMIN and op.auth == "agent":
        return STATUS_ON_ADMIN[code]
    return STATUS_BY_CODE[code]


def error_schema_name(code: str) -> str:
    """`limit_exceeded` → `LimitExceededError`, `validation_error` → `ValidationError`."""
    camel = "".join(part.capitalize() for part in code.split("_"))
    return camel if camel.endswith("Error") else f"{camel}Error"


def _error_schema(code: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "code": {"type": "string", "enum": [code]},
        "message": {"type": "string", "description": "Human text in the caller's language."},
        "request_id": {"type": "string", "description": "Also in the X-Request-Id header."},
        "field": {"type": "string", "description": "The request field at fault, when there is one."},
    }
    required = ["code", "message", "request_id"]
    if code in DETAILS_SCHEMAS:
        properties["details"] = {"$ref": _REF.format(model=DETAILS_SCHEMAS[code].__name__)}
        if code not in DETAILS_OPTIONAL:
            required.append("details")
    return {
        "type": "object",
        "title": error_schema_name(code),
        "description": f"{' / '.join(f'`{status} {code}`' for status in _statuses(code))}: {error_message(code, 'en')}",
        "required": required,
        "properties": properties,
    }


def _statuses(code: str) -> list[int]:
    return [STATUS_BY_CODE[code], *([STATUS_ON_ADMIN[code]] if code in STATUS_ON_ADMIN else [])]


def _drop_omittable(schema: dict[str, Any]) -> None:
    """A field declared `omittable()` is left out of `required` (the marker itself is not published)."""
    properties = schema.get("properties", {})
    omitted = [name for name, prop in properties.items() if prop.pop(_OMITTABLE, False)]
    if omitted and "required" in schema:
        schema["required"] = [name for name in schema["required"] if name not in omitted]


def _operation(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": op.description or op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op),
    }
    if op.auth == "public":
        entry["security"] = []
    elif op.auth == "merchant":
        entry["security"] = [{"merchantKey": []}]
    if op.body is not None:
        media: dict[str, Any] = {"schema": {"$ref": _REF.format(model=op.body)}}
        example = _example(op, "request", _first_example(schemas.get(op.body)))
        if example is not None:
            media["example"] = example
        entry["requestBody"] = {
            "required": _body_required(op.body_model),
            "content": {"application/json": media},
        }
    entry["responses"] = _responses(op, schemas)
    return entry


def _example(op: Operation, key: Any, default: Any) -> Any:
    """The operation's own example for `key` ("request" or a status), else `default`. A string names
    a constant of the operation's schemas module (`examples={201: "PAYMENT_EXAMPLE"}`), so route
    modules, which must not import pydantic, need not copy the example."""
    value = op.examples.get(key, default)
    if isinstance(value, str) and value.isidentifier():
        return getattr(importlib.import_module(f"chalicelib.api.schemas.{op.schemas}"), value)
    return value


def _body_required(model: type[BaseModel]) -> bool:
    """No body reads as `{}`: the body may be left out only when `{}` is valid."""
    try:
        model.model_validate({})
    except ValueError:  # pydantic's ValidationError
        return True
    return False


def _first_example(schema: dict[str, Any] | None) -> Any:
    examples = (schema or {}).get("examples") or [None]
    return examples[0]


def _parameters(op: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": f"The `{name}` of the object.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 128},
        }
        for name in _PATH_PARAM.findall(op.path)
    ]
    if op.query is not None:
        schema = op.query_model.model_json_schema(ref_template=_REF, schema_generator=_JsonSchema)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            prop = dict(prop)
            choices = [choice for choice in prop.get("anyOf", []) if choice != {"type": "null"}]
            if len(choices) == 1:  # a query string has no null: the parameter is absent or a value
                prop = {**{k: v for k, v in prop.items() if k != "anyOf"}, **choices[0]}
            description = prop.pop("description", None) or prop.get("title", name)
            prop.pop("title", None)
            parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
            parameter["description"] = description
            parameters.append(parameter)
    if op.idempotency:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": op.idempotency == "required",
                "description": (
                    "1–255 printable characters, new for each new attempt by the user. The same key and "
                    "body within 24 h replays the first reply; another body is `422 idempotency_key_reused`."
                ),
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
                "example": "5f0c8a52-3b8e-4c57-9d0e-2f1b6f3f8a11",
            }
        )
    parameters.append({"$ref": "#/components/parameters/AcceptLanguage"})
    return parameters


def _responses(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in (op.status, *op.other_statuses):
        responses[str(status)] = _success(op, status, schemas)

    by_status: dict[int, list[str]] = {}
    for code in sorted(error_codes(op)):
        by_status.setdefault(status_of(op, code), []).append(code)
    for status, status_codes in sorted(by_status.items()):
        headers: dict[str, Any] = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
        if any(code in RETRY_AFTER_CODES for code in status_codes):
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        if op.idempotency and status in _STORED_STATUSES:
            headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
        first = status_codes[0]
        responses[str(status)] = {
            "description": "Error codes: " + ", ".join(f"`{code}`" for code in status_codes) + ".",
            "headers": headers,
            "content": {
                "application/json": {
                    "schema": _envelope(status_codes, schemas),
                    "example": {
                        "error": {
                            "code": first,
                            "message": error_message(first, "en"),
                            "request_id": "c0a8011e5d3a4b7f",
                            **({"details": _first_example_details(first, schemas)} if _needs_details(first) else {}),
                        }
                    },
                }
            },
        }
    return responses


def _success(op: Operation, status: int, schemas: dict[str, Any]) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
    if op.idempotency:
        headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
    response: dict[str, Any] = {"description": op.responses.get(status, op.summary), "headers": headers}
    if op.media_type != "application/json":
        response["content"] = {op.media_type: {"schema": {"type": "string"}, "example": op.examples.get(status, "")}}
    elif op.response is not None:
        media: dict[str, Any] = {"schema": {"$ref": _REF.format(model=op.response)}}
        example = _example(op, status, _first_example(schemas.get(op.response)))
        if example is not None:
            media["example"] = example
        response["content"] = {"application/json": media}
    elif status != 204:
        media = {"schema": {"type": "object"}}
        if status in op.examples:
            media["example"] = _example(op, status, None)
        response["content"] = {"application/json": media}
    return response


def _envelope(codes: list[str], schemas: dict[str, Any]) -> dict[str, Any]:
    """`{"error": …}` whose `error` is a union of the codes' schemas told apart by `code`; for a
    single code, one shared component (`TryAgainErrorEnvelope`), so that generated clients have one
    class for it, not one per operation."""
    refs = {code: _REF.format(model=error_schema_name(code)) for code in codes}
    if len(codes) == 1:
        name = f"{error_schema_name(codes[0])}Envelope"
        schemas.setdefault(
            name,
            {
                "type": "object",
                "description": f"The error envelope of `{codes[0]}`.",
                "required": ["error"],
                "properties": {"error": {"$ref": refs[codes[0]]}},
            },
        )
        return {"$ref": _REF.format(model=name)}
    error = {
        "oneOf": [{"$ref": ref} for ref in refs.values()],
        "discriminator": {"propertyName": "code", "mapping": refs},
    }
    return {"type": "object", "required": ["error"], "properties": {"error": error}}


def _needs_details(code: str) -> bool:
    return code in DETAILS_SCHEMAS and code not in DETAILS_OPTIONAL


def _first_example_details(code: str, schemas: dict[str, Any]) -> Any:
    return _first_example(schemas.get(DETAILS_SCHEMAS[code].__name__))
