"""Paying merchants and billers, withdrawing to a card, converting currencies."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import clock
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.wallet import conversions, payments, withdrawals

_KEY_ERRORS = ("idempotency_key_reused", "request_in_progress")
_KEY_ERRORS_UNMARKED = ("idempotency_key_reused",)  # key_marker=False: never seen in flight
_STEP_UP_ERRORS = ("step_up_required", "invalid_password", "invalid_code", "rate_limited")


@operation(
    "POST",
    "/payments",
    schemas="payments",
    summary="Pay a merchant or biller",
    description="Check order after validation: 403 kyc_required → 404 merchant → 409 already_paid → "
    "422 currency_not_accepted → 422 insufficient_funds → 422 limit_exceeded → step-up.",
    tag="payments",
    auth="user",
    body="PaymentRequest",
    response="Transaction",
    status=201,
    idempotency="required",
    errors=(
        "kyc_required",
        "forbidden",
        "not_found",
        "already_paid",
        "currency_not_accepted",
        "insufficient_funds",
        "limit_exceeded",
        *_STEP_UP_ERRORS,
        *_KEY_ERRORS_UNMARKED,
    ),
    key_marker=False,
)
def pay(call: Call) -> Reply:
    body = call.body
    payment = payments.Payment(
        **_payer(call, body.currency),
        merchant_id=body.merchant_id,
        order_reference=body.order_reference,
        description=body.description,
        authorization=body.authorization,
    )
    return Reply(payments.pay(payment, clock.now()), 201)


@operation(
    "POST",
    "/me/withdrawals",
    schemas="payments",
    summary="Withdraw to the user's own bank card",
    description="Only to a card in the verified real name. Check order after validation: "
    "403 kyc_required → 404 card → 422 card_holder_mismatch → 422 insufficient_funds → step-up; "
    "a payout the bank declines is returned to the wallet and answered 402 card_declined.",
    tag="wallet",
    auth="user",
    body="WithdrawalRequest",
    response="Transaction",
    status=201,
    idempotency="required",
    errors=(
        "kyc_required",
        "forbidden",
        "not_found",
        "card_holder_mismatch",
        "insufficient_funds",
        "card_declined",
        *_STEP_UP_ERRORS,
        *_KEY_ERRORS,
    ),
)
def withdraw(call: Call) -> Reply:
    body = call.body
    withdrawal = withdrawals.Withdrawal(
        **_payer(call, body.currency),
        funding_source_id=body.funding_source_id,
        authorization=body.authorization,
    )
    return Reply(withdrawals.withdraw(withdrawal, clock.now()), 201)


@operation(
    "POST",
    "/me/conversions",
    schemas="payments",
    summary="Convert between the wallet's currencies",
    description="Answers the debit side, with `fx`; the credit shares its transaction_id.",
    tag="wallet",
    auth="user",
    body="ConversionRequest",
    response="Transaction",
    status=201,
    idempotency="required",
    errors=("kyc_required", "amount_too_small", "insufficient_funds", *_KEY_ERRORS_UNMARKED),
    key_marker=False,
)
def convert(call: Call) -> Reply:
    body = call.body
    conversion = conversions.Conversion(**_payer(call, body.from_currency), to_currency=body.to_currency)
    return Reply(conversions.convert(conversion, clock.now()), 201)


def _payer(call: Call, currency: str) -> dict[str, Any]:
    """What every money-out route takes from the request: who pays, what, and in which language."""
    return {
        "payer_id": call.user.user_id,
        "currency": currency,
        "amount": call.body.amount,
        "session_id": call.user.session_id,
        "locale": call.scope.locale,
    }
