"""Sending money to another Okpay user: recipient lookup, transfers with step-up confirmation."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.wallet import transfers

_MONEY_ERRORS = (
    "kyc_required",
    "phone_not_verified",
    "recipient_not_found",
    "self_transfer",
    "insufficient_funds",
    "limit_exceeded",
    "idempotency_key_reused",
    "rate_limited",
)


@operation(
    "POST",
    "/recipients/lookup",
    schemas="transfers",
    summary="Find a recipient by verified phone or email",
    tag="transfers",
    auth="user",
    body="Lookup",
    response="Recipient",
    errors=("kyc_required", "recipient_not_found", "rate_limited"),
)
def lookup_recipient(call: Call) -> dict:
    ref = transfers.RecipientRef(phone=call.body.phone, email=call.body.email)
    return transfers.lookup(call.user.user_id, ref, clock.now())


@operation(
    "POST",
    "/transfers",
    schemas="transfers",
    summary="Send money to another user",
    tag="transfers",
    auth="user",
    body="TransferRequest",
    response="Transfer",
    status=201,
    other_statuses=(202,),  # requires_confirmation: the same {transfer}, waiting for its code
    idempotency="required",
    key_marker=False,
    errors=_MONEY_ERRORS,
    description="201 completed, or 202 with status requires_confirmation: confirm with the SMS or TOTP code.",
)
def send_transfer(call: Call) -> Reply:
    body = call.body
    ref = transfers.RecipientRef(body.recipient.user_id, body.recipient.phone, body.recipient.email)
    status, view = transfers.send(call.user.user_id, ref, body.amount, body.currency, body.note, clock.now())
    return Reply(view, status)


@operation(
    "POST",
    "/transfers/{transfer_id}/confirm",
    schemas="transfers",
    summary="Confirm a transfer with its code",
    tag="transfers",
    auth="user",
    body="Confirm",
    response="Transfer",
    idempotency="required",
    errors=(
        "not_found",
        "kyc_required",
        "transfer_not_pending",
        "recipient_unavailable",
        "invalid_code",
        "insufficient_funds",
        "limit_exceeded",
        "idempotency_key_reused",
        "request_in_progress",
    ),
)
def confirm_transfer(call: Call) -> dict:
    return transfers.confirm(
        call.user.user_id, call.params["transfer_id"], call.body.code, call.body.method, clock.now()
    )


@operation(
    "POST",
    "/transfers/{transfer_id}/resend",
    schemas="transfers",
    summary="Send the confirmation code again",
    tag="transfers",
    auth="user",
    status=202,
    errors=("not_found", "transfer_not_pending", "rate_limited"),
)
def resend_code(call: Call) -> Reply:
    transfers.resend(call.user.user_id, call.params["transfer_id"], clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    "POST",
    "/transfers/{transfer_id}/cancel",
    schemas="transfers",
    summary="Cancel a transfer awaiting confirmation",
    tag="transfers",
    auth="user",
    response="Transfer",
    errors=("not_found", "transfer_not_pending"),
)
def cancel_transfer(call: Call) -> dict:
    return transfers.cancel(call.user.user_id, call.params["transfer_id"], clock.now())


@operation(
    "GET",
    "/transfers/{transfer_id}",
    schemas="transfers",
    summary="A transfer (payer or payee only)",
    tag="transfers",
    auth="user",
    response="Transfer",
    errors=("not_found",),
)
def read_transfer(call: Call) -> dict:
    return transfers.read(call.user.user_id, call.params["transfer_id"], clock.now())
