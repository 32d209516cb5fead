"""Paying merchants and billers, withdrawing to a card, converting currencies."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import clock
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.wallet import conversions, payments, withdrawals

_KEY_ERRORS = ("idempotency_key_reused", "request_in_progress")
_KEY_ERRORS_UNMARKED = ("idempotency_key_reused",)  # key_marker=False: never seen in flight
_STEP_UP_ERRORS = ("step_up_required", "invalid_password", "invalid_code", "rate_limited")

_STEP_UP = (
    "**Step-up.** A day's payments, transfers and withdrawals share one budget of 1,000 CNY equivalent "
    "that needs nothing beyond the session. Past it, the request must carry `authorization: {password}` "
    "or `{totp}` (a current authenticator-app code), else `403 step_up_required` with `details.methods`, "
    "which is not stored under the key: repeat the request with the same key and `authorization`. A "
    "wrong one is `422 invalid_password` / `422 invalid_code`, counted as a re-authentication failure "
    "(the 5th in a session revokes that session), not in the login lockout.\n\n"
)
_IDEMPOTENT = (
    "**Idempotency:** `Idempotency-Key` is required. The same key and body (`authorization` excluded) "
    "within 24 h replays the stored answer, including business refusals (402/403/404/409/422), with "
    "`Idempotent-Replayed: true`, and nothing moves twice; another body is `422 idempotency_key_reused`. "
)
_NOTICE = "A debit above 5,000 CNY equivalent is notified by email and SMS."


@operation(
    "POST",
    "/payments",
    schemas="payments",
    summary="Pay a merchant or biller",
    description=(
        "Pays a merchant or biller of `GET /merchants` from the wallet: `201 {transaction}` of type "
        "`payment`, the payer's debit, whose counterparty is the merchant. An `order_reference` is paid "
        "once per payer and merchant; again is `409 already_paid`.\n\n"
        "**Check order** after the key lookup and validation: `403 account_frozen` (the account is frozen) → "
        "`403 kyc_required` (KYC level ≥ 1) → "
        "`403 forbidden` (more than 10 wrong step-up codes today block money out until the next password "
        "login) → `404 not_found` (merchant) → `409 already_paid` → `422 currency_not_accepted` → "
        "`422 insufficient_funds` (no balance in that currency counts as zero) → `422 limit_exceeded` "
        "(the KYC level's cap, in CNY equivalent; `details.remaining`, `window`, `resets_at`) → step-up.\n\n"
        + _STEP_UP
        + _IDEMPOTENT
        + _NOTICE
    ),
    tag="payments",
    auth="user",
    body="PaymentRequest",
    response="Transaction",
    status=201,
    idempotency="required",
    errors=(
        "account_frozen",
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
    examples={201: "PAYMENT_REPLY_EXAMPLE"},
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
    description=(
        "Withdraws to one of the user's own cards: `201 {transaction}` of type `withdrawal`, the debit, "
        "whose counterparty is the card. Only to a card whose `holder_name` equals the verified real "
        "name after NFKC normalisation, case folding and removing spaces (`422 card_holder_mismatch`). "
        "It does not count towards the KYC sending limit, but it does spend the day's step-up budget. "
        "The wallet is debited first, then the payout is sent: a payout the bank declines is returned "
        "to the wallet by a new transaction and answered `402 card_declined`.\n\n"
        "**Check order** after the key lookup and validation: `403 account_frozen` (the account is frozen) → "
        "`403 kyc_required` (KYC level ≥ 1) → "
        "`403 forbidden` (more than 10 wrong step-up codes today block money out until the next password "
        "login) → `404 not_found` (card) → `422 card_holder_mismatch` → `422 insufficient_funds` → "
        "step-up.\n\n" + _STEP_UP + _IDEMPOTENT + _NOTICE
    ),
    tag="wallet",
    auth="user",
    body="WithdrawalRequest",
    response="Transaction",
    status=201,
    idempotency="required",
    errors=(
        "account_frozen",
        "kyc_required",
        "forbidden",
        "not_found",
        "card_holder_mismatch",
        "insufficient_funds",
        "card_declined",
        *_STEP_UP_ERRORS,
        *_KEY_ERRORS,
    ),
    examples={201: "WITHDRAWAL_EXAMPLE"},
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
    description=(
        "Converts between the wallet's own currencies at the rates of `GET /fx/rates`: `amount` is "
        "debited in `from_currency` and `to_amount = floor(amount × rates[to] / rates[from] × "
        "10^(exp[to] − exp[from]))` credited in `to_currency`, in decimal arithmetic with that one "
        "rounding. `201 {transaction}` of type `conversion`: the debit side, with `fx` (the rate and "
        "both amounts, as recorded); the credit shares its `transaction_id`, and the history shows "
        "both.\n\n"
        "`from_currency` = `to_currency` is `400 validation_error`. **Check order** after the key lookup "
        "and validation: `403 account_frozen` (the account is frozen) → `403 kyc_required` (KYC level ≥ 1) → "
        "`422 amount_too_small` (`to_amount` < 1) → "
        "`422 insufficient_funds`. The money stays the user's: a conversion counts towards neither the "
        "KYC sending limit nor the step-up budget, and needs no `authorization`.\n\n"
        "**Idempotency:** `Idempotency-Key` is required; the same key and body within 24 h replays the "
        "stored answer (`Idempotent-Replayed: true`) and converts nothing twice."
    ),
    tag="wallet",
    auth="user",
    body="ConversionRequest",
    response="Transaction",
    status=201,
    idempotency="required",
    errors=("account_frozen", "kyc_required", "amount_too_small", "insufficient_funds", *_KEY_ERRORS_UNMARKED),
    key_marker=False,
    examples={201: "CONVERSION_EXAMPLE"},
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
