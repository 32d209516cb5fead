"""Structured JSON logs (aws-lambda-powertools) that carry the request id and never a secret.

Handlers log what happened, not what was sent: bodies and headers are not logged. The formatter
still masks any field whose name says it holds a secret, so a careless `extra=` cannot leak one.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

_SECRET_NAME = re.compile(
    r"pass(word)?|secret|token|code|otp|authorization|cookie|card_?number|pan|cvv|id_number|recovery",
    re.IGNORECASE,
)
# Things that are request metadata, not secrets, although their names match the pattern above.
_ALLOWED = frozenset({"status_code", "error_code", "code_purpose"})
MASK = "***"


def redact(value: Any) -> Any:
    """A copy of `value` with every secret-named field masked, at any depth."""
    if isinstance(value, dict):
        return {
            key: MASK if isinstance(key, str) and key not in _ALLOWED and _SECRET_NAME.search(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any]) -> str:
        return super().serialize(redact(log))


logger = Logger(service="okpay", logger_formatter=RedactingFormatter())
