"""/auth/freeze*: freezing an account without signing in (contract v1.2, section 11), by a code sent to
its contacts or by the "this wasn't me" link of a security notice's email."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.account import freeze_requests

_FROZEN = (
    "While frozen (`GET /me` shows `status: frozen`) no money leaves the account: withdrawals, transfers, payments, "
    "conversions, new cards, contact and MFA changes answer `403 account_frozen`; signing in, receiving money, "
    "top-ups, history, disputes, tickets and chat still work. A `security` ticket lists the debits of the 72 hours "
    "before the freeze (each with its `transaction_id`, to dispute it) and both contacts are told. "
    "Every session of the account is revoked (their next request is `401 unauthorized`). An account that is "
    "already frozen answers the same `200`, and every session is revoked again: whoever asks needs exactly that."
)


@operation(
    "POST",
    "/auth/freeze",
    schemas="self_protection",
    summary="Send a freeze code (without signing in)",
    tag="identity",
    body="FreezeCodeRequest",
    response="Sent",
    status=202,
    description=(
        'Always `202 {"status": "sent"}`, in about the same time, whether or not the login has an account and '
        "whether or not anything was sent. One 6-digit freeze code, valid 15 minutes, stored hashed, goes to each "
        "verified contact: by SMS (a code to type into the app, never a link) and by email when the email is "
        "verified. Confirm it with `POST /auth/freeze/confirm`. Past the SMS limits (per number: once per 60 s for "
        "this freeze, 10 codes an hour), 10 emails an hour, or after 5 wrong tries on the code, nothing is sent, "
        "quietly."
    ),
)
def request_freeze_code(call: Call) -> Reply:
    freeze_requests.request_code(call.body.login, clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    "POST",
    "/auth/freeze/confirm",
    schemas="self_protection",
    summary="Freeze the account with the freeze code",
    tag="identity",
    body="FreezeCodeConfirm",
    response="Frozen",
    description=(
        '`200 {"status": "frozen"}` with reason `lost_device`. ' + _FROZEN + "\n\n"
        "A wrong, used or expired code (or an unknown login) is `422 invalid_code` with `details.attempts_left`: "
        "a code is compared at most 5 times in all, however many requests arrive at once, and passes once."
    ),
    errors=("invalid_code", "account_closed"),
)
def confirm_freeze_code(call: Call) -> dict:
    return freeze_requests.freeze_by_code(call.body.login, call.body.code, clock.now())


@operation(
    "POST",
    "/auth/freeze/link",
    schemas="self_protection",
    summary="Freeze the account from a notice's \"this wasn't me\" link",
    tag="identity",
    body="FreezeLink",
    response="Frozen",
    description=(
        "The email version of every new-device, password, contact and MFA change notice has a \"this wasn't me / "
        '不是我本人操作" line linking to `<help center>/freeze?token=<token>`; that page (or the app, opening the '
        "same URL) posts the token here. The token is single use and valid 7 days.\n\n"
        '`200 {"status": "frozen"}` with reason `suspected_fraud` (only support lifts it, after a review). '
        + _FROZEN
        + "\n\nA used, expired or unknown token is `422 invalid_token`; the same token sent twice at once passes once."
    ),
    errors=("invalid_token", "account_closed"),
)
def freeze_by_link(call: Call) -> dict:
    return freeze_requests.freeze_by_link(call.body.token, clock.now())
