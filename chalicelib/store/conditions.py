"""Telling a failed DynamoDB condition apart from other failures."""

from __future__ import annotations

from pynamodb.exceptions import TransactWriteError


def condition_failed(error: Exception) -> bool:
    """True when a conditional write was refused because its condition did not hold."""
    if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
        return True
    if isinstance(error, TransactWriteError):
        reasons = getattr(error, "cancellation_reasons", None) or []
        return any(reason is not None and reason.code == "ConditionalCheckFailed" for reason in reasons)
    return False
