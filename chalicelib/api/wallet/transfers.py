"""Sending money to another Okpay user: recipient lookup, transfers with step-up confirmation."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.wallet import transfers

_MONEY_ERRORS = (
    "account_frozen",
    "kyc_required",
    "forbidden",
    "phone_not_verified",
    "recipient_not_found",
    "self_transfer",
    "insufficient_funds",
    "limit_exceeded",
    "idempotency_key_reused",
    "rate_limited",
)

_NOT_PENDING = (
    "Once the transfer is completed, canceled or expired (5 minutes after it was created): "
    "`409 transfer_not_pending` with `details.status`. Only the payer may do this; anyone else, and an "
    "unknown id, get `404 not_found`."
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
    description=(
        "Who a phone (E.164; without `+`, read as +86) or an email belongs to, before sending: "
        "`{user_id, masked_name, display_name}`, the real name masked (张三 → `*三`; null before KYC). "
        "Only verified contacts of open accounts are found (a frozen account still receives); anything "
        "else, a closed account included, is `404 recipient_not_found`. "
        "Needs KYC level ≥ 1 (`403 kyc_required`). At most 30 lookups per user per day (Asia/Shanghai), "
        "shared with transfers addressed by phone or email; past it `429 rate_limited`."
    ),
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
    description=(
        "Sends money to another user named by `user_id`, verified `phone` or verified `email` (a phone "
        "or email counts toward the 30-a-day cap of `/recipients/lookup`: `429 rate_limited`). "
        "The `note` is shown to both sides. Answers `201 {transfer}` completed, or `202 {transfer}` with "
        "`status: requires_confirmation`, `expires_at` and `attempts_left` when a step-up is due.\n\n"
        "**Check order** after the key lookup and validation: `403 account_frozen` (the account is "
        "frozen) → `403 kyc_required` (KYC level ≥ 1) → "
        "`403 forbidden` (more than 10 wrong step-up codes today block money out until the next "
        "password login) → `403 phone_not_verified` → `429 rate_limited` (a recipient by phone or email, "
        "past the daily lookup cap) → `404 recipient_not_found` → `422 self_transfer` → "
        "`422 insufficient_funds` (no balance in that currency counts as zero) → `422 limit_exceeded` "
        "(the KYC level's cap, in CNY equivalent; `details.remaining`, `window`, `resets_at`) → step-up.\n\n"
        "**Step-up.** Past the day's budget of 1,000 CNY equivalent (shared with payments and "
        "withdrawals), for any transfer ≥ 1,000 CNY, or ≥ 200 CNY to a payee new to the payer, the "
        "transfer waits (`202`): a 6-digit SMS code naming the amount and the masked payee goes to the "
        "payer's phone. Confirm it, or a current authenticator-app code, with "
        "`POST /transfers/{id}/confirm` within 5 minutes (5 attempts, single use; the code is bound to "
        "this transfer's id, amount and payee). Funds are not reserved: confirming checks again.\n\n"
        "**Idempotency:** `Idempotency-Key` is required. The same key and body within 24 h replays the "
        "stored `201` or `202` (no second code is sent) with `Idempotent-Replayed: true`; another body "
        "is `422 idempotency_key_reused`. A debit above 5,000 CNY equivalent is notified by email and SMS."
    ),
    responses={
        201: "Completed: the money has moved; `transaction_id` names the ledger transaction.",
        202: (
            "Waiting for the payer's code: `status: requires_confirmation`, with `expires_at` and "
            "`attempts_left`. Nothing has moved yet."
        ),
    },
    examples={202: "TRANSFER_WAITING_EXAMPLE"},
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
        "account_frozen",
        "not_found",
        "kyc_required",
        "forbidden",
        "transfer_not_pending",
        "recipient_unavailable",
        "invalid_code",
        "insufficient_funds",
        "limit_exceeded",
        "idempotency_key_reused",
        "request_in_progress",
    ),
    description=(
        "Completes a transfer waiting for its code: `200 {transfer}` completed. `code` is the 6-digit "
        "code of the SMS (`method: sms`, the default) or a current authenticator-app code "
        "(`method: totp`). Each try is counted before the code is compared, so at most 5 are compared "
        "in all however many requests race; a wrong code is `422 invalid_code` with "
        "`details.attempts_left`, and the 5th wrong one cancels the transfer. Wrong codes count as "
        "step-up failures: more than 10 in a day block money out until the next password login "
        "(`403 forbidden`). " + _NOT_PENDING + "\n\n"
        "**Check order** after the key lookup and validation: `403 account_frozen` (the account is "
        "frozen; freezing also canceled the transfer) → `404 not_found` → "
        "`409 transfer_not_pending` → `422 invalid_code` → then, as the money moves, balance, limits and "
        "the payee are checked again: `403 kyc_required` → `403 forbidden` → `409 recipient_unavailable` "
        "(the payee's account was closed since; the transfer is canceled) → `422 insufficient_funds` → "
        "`422 limit_exceeded`.\n\n"
        "**Idempotency:** `Idempotency-Key` is required; the same key and body within 24 h replays the "
        "stored answer; while the first is in flight, `409 request_in_progress`."
    ),
    examples={200: "TRANSFER_CONFIRMED_EXAMPLE"},
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
    response="CodeResent",
    status=202,
    errors=("not_found", "transfer_not_pending", "rate_limited"),
    description=(
        "Sends a new 6-digit code by SMS for a transfer waiting for confirmation; the earlier code stops "
        "working and the 5 minutes are not extended. At most 3 new codes per transfer (then "
        "`429 rate_limited` with `Retry-After` until it expires), and one per 60 s "
        "(`429 rate_limited`). " + _NOT_PENDING
    ),
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
    description=(
        "Cancels a transfer waiting for its code: `200 {transfer}` with `status: canceled`; nothing had "
        "moved. " + _NOT_PENDING
    ),
    examples={200: "TRANSFER_CANCELED_EXAMPLE"},
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
    description=(
        "The transfer as its payer or payee sees it; anyone else, and an unknown id, get "
        "`404 not_found`. A transfer still waiting 5 minutes after it was created reads `expired`; "
        "`expires_at` and `attempts_left` are sent only while it waits, `transaction_id` once completed."
    ),
)
def read_transfer(call: Call) -> dict:
    return transfers.read(call.user.user_id, call.params["transfer_id"], clock.now())
