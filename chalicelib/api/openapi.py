"""The OpenAPI 3.1 document of the API as served, built from the declared operations.

Request and response schemas come from the same pydantic models that validate requests, and error
responses list the contract codes each operation can answer, so the document and the code are one
source. Built once per process (per stage), on first request.

The document is the API as served in the stage answering: the /_local operations (`local_only`) are
in it only in the local stage, where app.py registers them.
"""

from __future__ import annotations

import json
import re
import typing
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.adapters.config import get_settings
from chalicelib.api import areas
from chalicelib.api.middleware import MAX_BODY_BYTES
from chalicelib.api.routing import OPERATIONS, Operation
from chalicelib.api.schemas.common import DETAILS_SCHEMAS, ErrorEnvelope, Instant, RequestBody
from chalicelib.errors import RETRY_AFTER_CODES, STATUS_BY_CODE

_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{(\w+)}")
# Annotated string types whose JSON Schema `format` pydantic cannot know (they are plain `str`).
_FORMATS = {Instant: "date-time"}


def document(local: bool | None = None) -> dict[str, Any]:
    """The document for the local stage or a deployed one (default: the stage serving the request)."""
    local = get_settings().is_local if local is None else local
    areas.load_all(local=local)  # every operation declared, not only the areas used so far
    return _build(len(OPERATIONS), local)


def document_json() -> str:
    """The document serialised once per process: it is ~75 KB and never changes while serving."""
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
    models = {ErrorEnvelope, *DETAILS_SCHEMAS.values()}
    for op in operations:
        models.update(model for model in (op.body_model, op.response_model) if model is not None)
    keyed = [(model, "validation" if _is_request(model) else "serialization") for model in models]
    _, definitions = models_json_schema(keyed, ref_template=_REF)
    schemas = definitions.get("$defs", {})
    for model in _with_nested(models):
        if model.__name__ in schemas:
            _add_formats(model, schemas[model.__name__])

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Okpay wallet API",
            "version": "1.2",  # the contract's version
            "description": (
                "The HTTP contract of the Okpay wallet backend. Amounts are integers in minor units; "
                "errors use one envelope with a stable `code` (see `x-error-codes`). A request body is at "
                f"most {MAX_BODY_BYTES} bytes (1 MiB); a larger one is `413 payload_too_large`."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag} for tag in sorted({op.tag for op in operations})],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "headers": {
                "X-Request-Id": {"description": "Id of this request, also in the logs.", "schema": {"type": "string"}},
                "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
                "Idempotent-Replayed": {
                    "description": "`true` when this is the stored response of an earlier request with the same key.",
                    "schema": {"type": "string", "enum": ["true"]},
                },
            },
        },
        "x-error-codes": {
            code: {
                "status": status,
                **(
                    {"details": {"$ref": _REF.format(model=DETAILS_SCHEMAS[code].__name__)}}
                    if code in DETAILS_SCHEMAS
                    else {}
                ),
            }
            for code, status in STATUS_BY_CODE.items()
        },
    }


def _is_request(model: type) -> bool:
    return issubclass(model, RequestBody)


def _with_nested(models: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """`models` and every model their fields use, at any depth."""
    found: set[type[BaseModel]] = set()
    pending = list(models)
    while pending:
        model = pending.pop()
        if model in found:
            continue
        found.add(model)
        for field in model.model_fields.values():
            pending.extend(_models_in(field.annotation))
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _add_formats(model: type[BaseModel], schema: dict[str, Any]) -> dict[str, Any]:
    """Give the string schema of each field typed with a `_FORMATS` alias (also inside `X | None`)
    its `format`, e.g. `date-time` for `Instant`, so clients and fuzzers know what is accepted."""
    try:
        hints = typing.get_type_hints(model, include_extras=True)
    except (NameError, TypeError):  # an annotation only a type checker can resolve: no formats
        return schema
    properties = schema.get("properties", {})
    for name, field in model.model_fields.items():
        property_schema = properties.get(field.alias or name)
        format_name = _format_of(hints.get(name))
        if property_schema is None or format_name is None:
            continue
        for branch in [property_schema, *property_schema.get("anyOf", [])]:
            if branch.get("type") == "string":
                branch["format"] = format_name
    return schema


def _format_of(annotation: Any) -> str | None:
    for alias, format_name in _FORMATS.items():
        if annotation == alias:
            return format_name
    for arg in typing.get_args(annotation):
        if format_name := _format_of(arg):
            return format_name
    return None


def _operation(op: Operation) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "operationId": f"{op.method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', op.path).strip('_')}",
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op),
        "responses": _responses(op),
    }
    if op.description:
        entry["description"] = op.description
    if op.auth != "public":
        entry["security"] = [{"bearer": []}]
    if op.body is not None:
        # No body reads as `{}`, so a body may be left out only when it has no required field.
        entry["requestBody"] = {
            "required": any(field.is_required() for field in op.body_model.model_fields.values()),
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=op.body)}}},
        }
    return entry


def _parameters(op: Operation) -> list[dict[str, Any]]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _PATH_PARAM.findall(op.path)
    ]
    if op.query is not None:
        schema = _add_formats(op.query_model, op.query_model.model_json_schema(ref_template=_REF))
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            prop = dict(prop)
            description = prop.pop("description", None)
            parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if description:
                parameter["description"] = description
            parameters.append(parameter)
    if op.idempotency:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": op.idempotency == "required",
                "description": "1–255 printable characters; the same key and body within 24 h replays the first reply.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
            }
        )
    return parameters


def _responses(op: Operation) -> dict[str, Any]:
    request_id = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
    success: dict[str, Any] = {"description": op.summary, "headers": dict(request_id)}
    if op.response is not None:
        success["content"] = {"application/json": {"schema": {"$ref": _REF.format(model=op.response)}}}
    elif op.status != 204:
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    if op.idempotency:
        success["headers"]["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
    responses: dict[str, Any] = {str(status): success for status in (op.status, *op.other_statuses)}

    codes = set(op.errors) | {"try_again"}
    if op.body is not None or op.query is not None:
        codes.add("validation_error")
    if op.body is not None:  # above chalicelib.api.middleware.MAX_BODY_BYTES
        codes.add("payload_too_large")
    if op.auth != "public":
        codes.add("unauthorized")
    if op.auth == "agent":
        codes.add("forbidden")
    if op.idempotency:  # required: missing or malformed; optional: malformed
        codes.add("idempotency_key_required")
    by_status: dict[int, list[str]] = {}
    for code in sorted(codes):
        by_status.setdefault(STATUS_BY_CODE[code], []).append(code)
    for status, status_codes in sorted(by_status.items()):
        headers = dict(request_id)
        if any(code in RETRY_AFTER_CODES for code in status_codes):
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        responses[str(status)] = {
            "description": "Error codes: " + ", ".join(f"`{code}`" for code in status_codes),
            "headers": headers,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=ErrorEnvelope.__name__)}}},
        }
    return responses
