"""A signed-in user's own account protection (contract v1.2, section 11): freezing, lifting the freeze,
and the security log. These work while frozen (a frozen account still signs in). Agents freeze and
unfreeze with chalicelib/api/account/agent_protection.py; both call chalicelib.services.account.freezes."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.account.callers import me
from chalicelib.api.pagination import page_of
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.account import self_freeze
from chalicelib.store.security_events import event_view, recent_security_events


@operation(
    "POST",
    "/me/freeze",
    schemas="self_protection",
    summary="Freeze my account",
    tag="account",
    auth="user",
    body="SelfFreezeRequest",
    response="SelfFreezeResult",
    description=(
        "Stops all money leaving the account at once, without a password: `200 {status: frozen, frozen_at, "
        "reason}`. This session stays signed in; every other session is revoked (their next request is "
        "`401 unauthorized`). Transfers waiting for confirmation are canceled, a `security` ticket lists the debits "
        "of the 72 hours before the freeze (each with its `transaction_id`, to dispute it; `note` is added to it) "
        "and both contacts are told.\n\n"
        "While frozen, withdrawals, transfers, payments, conversions, new cards, contact and MFA changes answer "
        "`403 account_frozen`; signing in, receiving money, top-ups, history, disputes, tickets and chat still "
        "work. Lift it with `POST /me/unfreeze` at least 1 hour later (a freeze with reason `suspected_fraud` is "
        "lifted only by support). An account already frozen is `409 already_frozen`."
    ),
    errors=("already_frozen",),
)
def freeze_my_account(call: Call) -> dict:
    body = call.body
    return self_freeze.freeze_own(me(call), body.reason, body.note, session_id=call.user.session_id, now=clock.now())


@operation(
    "POST",
    "/me/unfreeze/start",
    schemas="self_protection",
    summary="Text a code to lift my freeze",
    tag="account",
    auth="user",
    response="Sent",
    status=202,
    description=(
        "Sends a 6-digit code (10 minutes) by SMS to the verified phone, for `POST /me/unfreeze` with "
        "`method: sms` (with an authenticator app, its code may be used instead). `409 not_frozen` when the "
        "account is not frozen. SMS limits per number: once per 60 s for this, 10 codes an hour; past them, or "
        "after 5 wrong tries on the code, `429 rate_limited` with `Retry-After`."
    ),
    errors=("not_frozen",),
)
def start_unfreeze(call: Call) -> Reply:
    self_freeze.start_unfreeze(me(call), clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    "POST",
    "/me/unfreeze",
    schemas="self_protection",
    summary="Lift my freeze",
    tag="account",
    auth="user",
    body="SelfUnfreezeRequest",
    response="Unfrozen",
    description=(
        "Lifts the user's own freeze: `200 {status: active}`; money can leave the account again and both "
        "contacts are told.\n\n"
        "Checks, in order: `409 not_frozen` → a freeze by an agent or with reason `suspected_fraud` is lifted "
        "only by support: `403 agent_review_required` → sooner than 1 hour after the freeze: "
        "`409 freeze_too_recent` with `details.available_at` → a wrong `password` `422 invalid_password` → a "
        "wrong `code` (`sms`: the code of `POST /me/unfreeze/start`; `totp`: the authenticator app's) "
        "`422 invalid_code`.\n\n"
        "Re-authentication: the 5th wrong password or code in a session, in total (a right one does not reset "
        "the count), revokes that session (later calls: `401 unauthorized`) and a security notice goes to the "
        "verified email and phone; while 5 tries are being compared, more are `429 rate_limited`. These "
        "failures never lock the owner's sign-in."
    ),
    errors=("not_frozen", "agent_review_required", "freeze_too_recent", "invalid_password", "invalid_code"),
)
def unfreeze_my_account(call: Call) -> dict:
    body = call.body
    return self_freeze.unfreeze_own(
        me(call), body.password, body.code, body.method, session_id=call.user.session_id, now=clock.now()
    )


@operation(
    "GET",
    "/me/security-events",
    schemas="self_protection",
    summary="My security log",
    tag="account",
    auth="user",
    query="PageQuery",
    response="SecurityEventPage",
    description=(
        "The account's security log, newest first: sign-ins (`login`, `login_failed`, `new_device`, "
        "`mfa_failed`), changes (`password_changed`, `password_reset`, `contact_changed`, `mfa_changed`, "
        "`role_changed`), sessions ended (`session_revoked`; `session_revoked_reauth` after 5 wrong passwords or "
        "codes) and freezes (`frozen`, `unfrozen`), each with the device's name and the IP address where known "
        "and a short `detail`. Kept 400 days. Paginated: `?limit=` (1–100, default 20) and the opaque `?cursor=` "
        "of the previous page (`400 invalid_cursor` for a cursor of another list)."
    ),
    errors=("invalid_cursor",),
)
def list_security_events(call: Call) -> dict:
    user_id = call.user.user_id

    def fetch(limit: int, start: dict | None) -> tuple[list[dict], dict | None]:
        events, following = recent_security_events(user_id, limit, start)
        return [event_view(event) for event in events], following

    return page_of(f"security_events#{user_id}", call.query, fetch)
