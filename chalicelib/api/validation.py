"""Turn a request body or query into a validated model, or a `400 validation_error` with `field`."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.errors import OkpayError

# pydantic error type -> the reason that picks the message (chalicelib.i18n.messages)
_REASONS = {
    "missing": "missing",
    "extra_forbidden": "unknown_field",
    "int_type": "integer",
    "int_parsing": "integer",
    "int_from_float": "integer",
    "string_type": "string",
    "bool_type": "boolean",
    "bool_parsing": "boolean",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
    "list_type": "array",
    "literal_error": "choice",
    "enum": "choice",
    "greater_than": "too_small",
    "greater_than_equal": "too_small",
    "less_than": "too_large",
    "less_than_equal": "too_large",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "too_short": "too_short",
    "too_long": "too_long",
    "string_pattern_mismatch": "format",
    "value_error": "format",
}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Deepest nesting of objects and arrays a body may have. No body of the contract goes past 4; the
# limit keeps every later walk of a body (validation, the idempotency fingerprint, logging) far from
# Python's recursion limit. RFC 8259 (section 9) lets a parser set one.
MAX_DEPTH = 32


def parse_json_object(raw: bytes | None) -> dict[str, Any]:
    """The body as a JSON object; no body is `{}`. Anything else is a 400.

    The one place a request body is parsed (routing.run reads it once, for the idempotency key and
    for validation), so a body nested deeper than the parser's stack (`[` * 100000) or than
    MAX_DEPTH is a 400 here, never a RecursionError further on.
    """
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise OkpayError("validation_error", reason="json") from None
    if not isinstance(value, dict):
        raise OkpayError("validation_error", reason="body")
    if _deeper_than(value, MAX_DEPTH):
        raise OkpayError("validation_error", reason="json")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than `limit` levels (a loop: no recursion to run out of)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def validate(model: Any, data: dict[str, Any]) -> Any:
    from pydantic import ValidationError  # deferred: heavy (pydantic ~25 ms; see api.schemas)

    # Absent optional fields and null are the same (contract, section 1).
    # An unknown field stays in, null or not, so it is still refused by name.
    known = {field.alias or name for name, field in model.model_fields.items()}
    data = {key: value for key, value in data.items() if value is not None or key not in known}
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise to_validation_error(error) from None


def to_validation_error(error: Any) -> OkpayError:
    """The first problem, in field order, as the contract's validation_error."""
    first = error.errors(include_url=False, include_input=False)[0]
    location = [str(part) for part in first["loc"]]
    field = ".".join(location) or None
    kind = first["type"]
    reason = _REASONS.get(kind, kind if kind in _CUSTOM_REASONS else "format")
    leaf = location[-1] if location else ""
    if (leaf == "amount" or leaf.endswith("_amount")) and reason in ("integer", "too_small", "too_large"):
        reason = "amount"
    if "currency" in leaf and reason == "choice":
        reason = "currency"
    return OkpayError("validation_error", field=field, reason=reason)


# Reasons that custom validators raise by name (PydanticCustomError type).
_CUSTOM_REASONS = frozenset({"phone", "email", "datetime", "amount", "currency", "format"})
