"""The 401 and 403 steps of the check order: who is calling, and may their role do this."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.services.identity import sessions
from chalicelib.services.wallet import merchant_auth


def authenticate(op: Any, call: Any) -> None:
    authorization = call.headers.get("authorization")
    if op.auth == "merchant":  # /merchant/*: a merchant's secret key, never a user's token
        call.merchant = merchant_auth.authenticate_key(authorization)
        return
    refuse_merchant_key(authorization)
    principal = sessions.authenticate(authorization, clock.now())
    call.user = principal
    call.scope.stored_locale = principal.locale
    if op.auth == "agent":
        if principal.role != "agent":
            raise OkpayError("forbidden")
        if not agent_passed_totp(principal):
            raise OkpayError("mfa_required", status=403, details={"methods": ["totp", "recovery_code"]})


def agent_passed_totp(principal: Any) -> bool:
    """/admin needs TOTP enrolled and a session whose sign-in passed it (a recovery code counts):
    an SMS or email code, or a session started before enrolling, is not enough (contract v1.2, section 9)."""
    account = principal.account
    return account is not None and account.totp_enabled and principal.second_factor in sessions.AGENT_SECOND_FACTORS


def refuse_merchant_key(authorization: str | None) -> None:
    """A merchant's secret key is good on `/merchant/*` only: anywhere else it is `401 unauthorized`."""
    if merchant_auth.looks_like_secret_key(authorization):
        raise OkpayError("unauthorized")
