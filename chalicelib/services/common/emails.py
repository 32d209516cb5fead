"""Email addresses: syntax-checked with email-validator and compared in lower case."""

from __future__ import annotations

from chalicelib.errors import OkpayError


def normalize_email(raw: str, *, field: str = "email") -> str:
    from email_validator import EmailNotValidError, validate_email  # deferred: heavy (email-validator ~25 ms)

    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise OkpayError("validation_error", field=field, reason="email") from None
    return result.normalized.lower()
