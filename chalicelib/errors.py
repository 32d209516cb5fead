"""Domain errors and the one table that gives each contract error code its HTTP status.

Services raise `OkpayError("insufficient_funds")`; the HTTP edge turns it into the contract's
envelope with the status below and a message in the caller's language (`chalicelib.i18n`).
Services never pick a status themselves, so one code always means one status.
"""

from __future__ import annotations

from typing import Any

# code -> HTTP status. The contract (../shared/contract/API.md, section 1) fixes each meaning.
STATUS_BY_CODE: dict[str, int] = {
    # 400: the request is malformed
    "validation_error": 400,
    "weak_password": 400,
    "invalid_id_number": 400,
    "idempotency_key_required": 400,
    "invalid_cursor": 400,
    # 401: only about signing in
    "unauthorized": 401,
    "invalid_refresh_token": 401,
    "token_reused": 401,
    "invalid_credentials": 401,
    # 402: the bank said no
    "card_declined": 402,
    "bank_insufficient_funds": 402,
    # 403
    "forbidden": 403,
    "kyc_required": 403,
    "step_up_required": 403,
    "phone_not_verified": 403,
    "own_case": 403,
    "account_frozen": 403,
    "agent_review_required": 403,
    # 404: no such object for this caller
    "not_found": 404,
    "recipient_not_found": 404,
    "method_not_allowed": 405,
    # 409: the object's state forbids it
    "email_in_use": 409,
    "phone_in_use": 409,
    "totp_already_enabled": 409,
    "account_not_empty": 409,
    "identity_in_use": 409,
    "kyc_pending": 409,
    "kyc_not_pending": 409,
    "funding_source_exists": 409,
    "transfer_not_pending": 409,
    "already_paid": 409,
    "order_exists": 409,
    "order_not_open": 409,
    "refund_exists": 409,
    "dispute_exists": 409,
    "dispute_closed": 409,
    "dispute_not_awaiting_approval": 409,
    "ticket_closed": 409,
    "chat_exists": 409,
    "chat_closed": 409,
    "chat_taken": 409,
    "chat_not_active": 409,
    "chat_limit_reached": 409,
    "request_in_progress": 409,
    "recipient_unavailable": 409,
    "already_frozen": 409,
    "not_frozen": 409,
    "freeze_too_recent": 409,
    "account_closed": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    # 422: a business rule said no, or a one-time code / re-auth password was wrong
    "invalid_code": 422,
    "invalid_password": 422,
    "invalid_token": 422,
    "mfa_required": 422,
    "underage": 422,
    "insufficient_funds": 422,
    "limit_exceeded": 422,
    "self_transfer": 422,
    "currency_not_accepted": 422,
    "card_holder_mismatch": 422,
    "amount_too_small": 422,
    "idempotency_key_reused": 422,
    "not_disputable": 422,
    "dispute_window_closed": 422,
    "amount_exceeds_refundable": 422,
    "account_locked": 423,
    "rate_limited": 429,
    "internal_error": 500,
    "try_again": 503,
}

# The one code with a second status, and where (contract v1.2, section 1): `mfa_required` is 422
# when a password reset lacks its second factor, and 403 on /admin for an agent session that did not
# pass TOTP. `OkpayError(code, status=...)` may pick only these.
STATUS_ON_ADMIN: dict[str, int] = {"mfa_required": 403}

# Codes answered with a Retry-After header.
RETRY_AFTER_CODES = frozenset({"account_locked", "rate_limited", "try_again"})


class OkpayError(Exception):
    """A failure the caller is told about in the contract's error envelope."""

    def __init__(
        self,
        code: str,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
        reason: str | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        if code not in STATUS_BY_CODE:
            raise ValueError(f"unknown error code {code!r}")
        if status is not None and status not in (STATUS_BY_CODE[code], STATUS_ON_ADMIN.get(code)):
            raise ValueError(f"{code!r} is never {status}")
        super().__init__(code)
        self.code = code
        self.field = field
        self.details = details
        self.retry_after = retry_after
        # A machine-readable reason that picks a more specific message (e.g. why a password is weak).
        self.reason = reason
        self.headers = headers or {}
        self._status = status

    @property
    def status(self) -> int:
        return self._status or STATUS_BY_CODE[self.code]


def not_found() -> OkpayError:
    return OkpayError("not_found")
