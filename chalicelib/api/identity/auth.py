"""/auth/*: registration, sign-in, second factor, refresh, sign-out, password reset."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters import clock
from chalicelib.adapters.config import get_settings
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.common import rate_limits
from chalicelib.services.identity import login, password_reset, registration, sessions

# Per client IP, on in deployed stages (configuration): sign-in and sign-up attempts.
IP_LIMIT, IP_WINDOW = 60, timedelta(minutes=10)


def _limit_ip(call: Call) -> None:
    if get_settings().per_ip_limits and call.source_ip:
        rate_limits.hit(f"ip#{call.source_ip}#auth", limit=IP_LIMIT, window=IP_WINDOW, now=clock.now())


@operation(
    "POST",
    "/auth/register/start",
    schemas="identity",
    summary="Text a sign-up code to a phone",
    tag="identity",
    body="RegisterStart",
    response="Accepted",
    status=202,
    description=(
        'Always `202 {"status": "sent"}`. A 6-digit code, valid 10 minutes, goes to the phone by SMS; if '
        "the number already has an account, the SMS says so and carries no code. Past the SMS limits (per number: "
        "a code for the same sign-up at most once per 60 s, at most 10 codes an hour) nothing is sent and the "
        "answer is the same 202.\n\n"
        "A number without `+` is read as +86. Codes go only to the configured country codes (+86, +852, +853, "
        "+886 and any others configured): another number is `400 validation_error` with `field: phone`, and "
        "nothing is sent."
    ),
)
def register_start(call: Call) -> Reply:
    registration.start(call.body.phone, locale=call.scope.accept_locale or "en", now=clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    "POST",
    "/auth/register",
    schemas="identity",
    summary="Create an account with the phone's code",
    tag="identity",
    body="Register",
    response="Tokens",
    status=201,
    description=(
        "Creates the account and signs it in: `201` with the tokens, as `/auth/login` answers. The phone is "
        "verified by the code of `/auth/register/start`; a code to verify `email` is sent by email (verify it with "
        "`POST /me/contacts/verify`). The account's language (`locale`) is taken from `Accept-Language` "
        "(any `zh-*` is `zh-CN`, else `en`).\n\n"
        "Checks, in order: the phone and email are well formed (`400 validation_error`) → the password "
        "(`400 weak_password`, the message says why: 8–128 characters, not on the list of common passwords, not "
        "containing the email's local part or the phone's national number, zxcvbn score ≥ 3) → the code "
        "(`422 invalid_code` with `details.attempts_left`; 5 tries) → `409 email_in_use` when the email is "
        "verified on another account. A phone that already has an account is `409 phone_in_use`."
    ),
    errors=("weak_password", "invalid_code", "email_in_use", "phone_in_use"),
)
def register(call: Call) -> Reply:
    _limit_ip(call)
    body = call.body
    account = registration.NewAccount(body.phone, body.code, body.email, body.password, body.display_name)
    pair = registration.register(account, locale=call.scope.accept_locale or "en", now=clock.now())
    return Reply(pair.as_reply(), 201)


@operation(
    "POST",
    "/auth/login",
    schemas="identity",
    summary="Sign in by phone or verified email",
    tag="identity",
    body="Login",
    response="TokensOrMfa",
    description=(
        "Signs in with a phone number or a verified email and the password. `200` with the tokens, or, when the "
        "account has a second factor on, `200` with `mfa_required: true`, an `mfa_token` (10 minutes) and the "
        "`mfa_methods` it can use: finish with `POST /auth/mfa/verify` (for `sms` or `email`, ask for the code "
        "with `POST /auth/mfa/send` first).\n\n"
        "An unknown login and a wrong password both answer `401 invalid_credentials`, with the same body and in "
        "similar time; a login by email needs a verified email. Failures count per normalised login identifier, "
        "whether or not an account exists, counted before the password is checked: after 5 consecutive failures "
        "attempts are refused for 2^(n−5) s, up to 15 minutes, with `423 account_locked` and `Retry-After` (even "
        "the right password is refused then). Only a completed sign-in resets the count.\n\n"
        "A `device_id` not seen before on the account sends a sign-in notice by email and SMS."
    ),
    responses={200: "Signed in (tokens), or a second factor is needed (`mfa_required: true`)."},
    errors=("invalid_credentials", "account_locked"),
)
def sign_in(call: Call) -> dict:
    _limit_ip(call)
    body = call.body
    result = login.login(
        body.login, body.password, device_id=body.device_id, device_name=body.device_name, now=clock.now()
    )
    return result.as_reply()


@operation(
    "POST",
    "/auth/mfa/send",
    schemas="identity",
    summary="Send a sign-in code by SMS or email",
    tag="identity",
    body="MfaSend",
    response="Accepted",
    status=202,
    description=(
        "Sends a 6-digit code for the sign-in named by `mfa_token`, by SMS to the phone or by email to the "
        "verified email; valid 5 minutes and only with this `mfa_token`. `method` must be one of the challenge's "
        "`mfa_methods` (else `400 validation_error`, `field: method`). A void or expired `mfa_token` is "
        "`422 invalid_code` (`attempts_left: 0`). SMS limits per number: once per 60 s for this sign-in, 10 codes "
        "an hour; email codes: 10 an hour per account; past them `429 rate_limited` with `Retry-After`."
    ),
    errors=("invalid_code",),
)
def mfa_send(call: Call) -> Reply:
    login.send_mfa_code(call.body.mfa_token, call.body.method, clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    "POST",
    "/auth/mfa/verify",
    schemas="identity",
    summary="Finish signing in with the second factor",
    tag="identity",
    body="MfaVerify",
    response="Tokens",
    description=(
        "Finishes a sign-in that answered `mfa_required`: `200` with the tokens. `code` is a current TOTP code "
        "(accepted once, within ±1 step of 30 s), the code sent by `/auth/mfa/send`, or an unused recovery code, "
        "as `method` says (one of the challenge's `mfa_methods`, else `400 validation_error`).\n\n"
        "A wrong code is `422 invalid_code` with `details.attempts_left`; after 5 wrong ones the `mfa_token` is "
        "void (`422 invalid_code`, `attempts_left: 0`), as it is after 10 minutes or once used. Wrong codes also "
        "count toward the login's lockout (`423 account_locked` with `Retry-After`, checked before the code)."
    ),
    errors=("invalid_code", "account_locked"),
)
def mfa_verify(call: Call) -> dict:
    _limit_ip(call)
    return login.verify_mfa(call.body.mfa_token, call.body.method, call.body.code, clock.now()).as_reply()


@operation(
    "POST",
    "/auth/token/refresh",
    schemas="identity",
    summary="Swap a refresh token for a new pair",
    tag="identity",
    body="Refresh",
    response="Tokens",
    description=(
        "Swaps the session's refresh token for a new pair (the access token lives 15 minutes). For 30 s the "
        "previous refresh token still returns that same new pair (a retry after a lost answer); used after that, "
        "it is `401 token_reused` and the whole session is revoked. An expired, revoked or unknown token is "
        "`401 invalid_refresh_token`: sign in again."
    ),
    errors=("invalid_refresh_token", "token_reused"),
)
def refresh_tokens(call: Call) -> dict:
    return sessions.refresh(call.body.refresh_token, clock.now()).as_reply()


@operation(
    "POST",
    "/auth/logout",
    schemas="identity",
    summary="Sign out of this session",
    tag="identity",
    auth="user",
    status=204,
    description=(
        "Ends the caller's session: `204`, and its access and refresh tokens stop working on the next request "
        "(`401 unauthorized`). Other sessions of the account are not affected (`DELETE /me/sessions` ends them)."
    ),
)
def logout(call: Call) -> Reply:
    sessions.revoke(call.user.session_id, call.user.user_id, reason="logout")
    return Reply(None, 204)


@operation(
    "POST",
    "/auth/password/forgot",
    schemas="identity",
    summary="Send a password reset code",
    tag="identity",
    body="Forgot",
    response="Accepted",
    status=202,
    description=(
        'Always `202 {"status": "sent"}`, in about the same time, whether or not the login has an account '
        "and whether or not anything was sent. For a verified email a 6-digit code goes by email; for a phone, by "
        "SMS. The code is valid 15 minutes, single use, 5 attempts, and stored hashed. Past the SMS limits (per "
        "number: once per 60 s for this reset, 10 codes an hour) or 10 emails an hour nothing is sent, quietly."
    ),
)
def forgot_password(call: Call) -> Reply:
    password_reset.forgot(call.body.login, locale=call.scope.locale, now=clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    "POST",
    "/auth/password/reset",
    schemas="identity",
    summary="Set a new password with the reset code",
    tag="identity",
    body="Reset",
    status=204,
    description=(
        "Sets a new password with the code of `/auth/password/forgot`: `204`, every session of the account is "
        "revoked and a notice goes to the email and the phone.\n\n"
        "Checks, in order: a weak `new_password` is `400 weak_password` and neither uses nor counts the code → "
        "the login's lockout (`423 account_locked` with `Retry-After`; wrong reset codes count toward it) → a "
        "wrong or expired code is `422 invalid_code` with `details.attempts_left`; after 5 wrong ones the reset "
        "is void → an account with TOTP must also give `second_factor`, a TOTP or recovery code: without it "
        "`422 mfa_required` with `details.methods` (the code stays good, repeat with `second_factor`), a wrong "
        "one `422 invalid_code`."
    ),
    errors=("weak_password", "invalid_code", "mfa_required", "account_locked"),
)
def reset_password(call: Call) -> Reply:
    _limit_ip(call)
    body = call.body
    second = (body.second_factor.method, body.second_factor.code) if body.second_factor else None
    password_reset.reset(body.login, body.code, body.new_password, second_factor=second, now=clock.now())
    return Reply(None, 204)
