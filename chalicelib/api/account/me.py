"""/me: the signed-in user's profile, contacts, password, sessions, second factors, closing."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.account.callers import me, me_unfrozen
from chalicelib.api.pagination import paginate
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.errors import OkpayError
from chalicelib.services.account import profile as accounts
from chalicelib.services.identity import contacts, mfa_settings, sessions
from chalicelib.services.wallet import transfers

# Section 1's re-authentication rule, shared by every route that asks for the password again.
_REAUTH = (
    "\n\nRe-authentication: a wrong `password` is `422 invalid_password` (a wrong code `422 invalid_code`), "
    "never 401. The 5th wrong one in a session, in total (a right one does not reset the count), revokes that "
    "session (later calls: `401 unauthorized`) and a security notice goes to the verified email and phone; "
    "while 5 tries are being compared, more are `429 rate_limited`. These failures never lock the owner's "
    "sign-in."
)


# Section 11: while the account is frozen, contact and MFA changes are refused, right after validation.
_FROZEN = (
    "\n\nWhile the account is frozen: `403 account_frozen`, right after validation (before the password is compared)."
)


@operation(
    "GET",
    "/me",
    schemas="account",
    summary="The signed-in user's profile",
    description=(
        "The caller's profile: email and phone with whether each is verified, display name, language (`locale`, "
        "used for every email and SMS), KYC `status` and `level`, which second factors are on, when the password "
        "was last changed and whether changing it is recommended (older than 180 days; never forced), `role` "
        "(`user` or `agent`), `status` (`active` or `frozen`; while frozen no money leaves the account and "
        "`freeze` says why, since when and by whom) and when the account was opened."
    ),
    tag="account",
    auth="user",
    response="Profile",
)
def read_profile(call: Call) -> dict:
    return accounts.profile(me(call), clock.now())


@operation(
    "PATCH",
    "/me",
    schemas="account",
    summary="Change display name or language",
    description=(
        "Changes `display_name` (1–64 characters after trimming) and/or `locale` (`zh-CN` or `en`); an absent or "
        "null field stays as it is. `200` the profile, as `GET /me` shows it. The new `locale` is used for every "
        "later email and SMS, including those sent by jobs."
    ),
    tag="account",
    auth="user",
    body="ProfileChange",
    response="Profile",
)
def change_profile(call: Call) -> dict:
    user = accounts.update_profile(me(call), display_name=call.body.display_name, locale=call.body.locale)
    return accounts.profile(user, clock.now())


@operation(
    "POST",
    "/me/contacts/verify",
    schemas="account",
    summary="Verify an email or phone with its code",
    tag="account",
    auth="user",
    body="ContactVerify",
    response="Verified",
    description=(
        "Verifies the email or phone with the 6-digit code sent to it (the registration email's code, or the code "
        "of `/me/contacts/change`; 30 minutes): `200`. For a change, verifying switches: the new contact replaces "
        "the old one, which is released for other accounts, and a notice goes to the old contact and to both "
        "current ones.\n\n"
        "A wrong or expired code is `422 invalid_code` with `details.attempts_left` (5 tries per code). "
        "`409 email_in_use` / `409 phone_in_use` when another account verified that contact meanwhile. "
        "While the account is frozen, a change does not switch: `403 account_frozen` (the first verification "
        "of the registration email still works)."
    ),
    errors=("account_frozen", "invalid_code", "email_in_use", "phone_in_use"),
)
def verify_contact(call: Call) -> dict:
    user = contacts.verify(me(call), call.body.channel, call.body.code, clock.now())
    value = user.email if call.body.channel == "email" else user.phone
    return {"channel": call.body.channel, "value": value, "verified": True}


@operation(
    "POST",
    "/me/contacts/resend",
    schemas="account",
    summary="Send the contact's code again",
    tag="account",
    auth="user",
    body="ContactResend",
    response="Accepted",
    status=202,
    description=(
        "Sends a new code for the pending verification on `channel` (a change in progress, else the "
        "registration email): `202`. With nothing pending, `202` and nothing is sent. A phone's codes follow the "
        "SMS limits (once per 60 s for the same change, 10 codes an hour per number), an email's 10 codes an hour "
        "per account: past them `429 rate_limited` with `Retry-After`, as after 5 wrong tries until the code "
        "expires."
    ),
)
def resend_contact_code(call: Call) -> Reply:
    contacts.resend(me(call), call.body.channel, clock.now())
    return Reply({"status": "sent"}, 202)


@operation(
    "POST",
    "/me/contacts/change",
    schemas="account",
    summary="Start changing email or phone",
    tag="account",
    auth="user",
    body="ContactChange",
    response="Accepted",
    status=202,
    description=(
        "Starts replacing the email or phone: `202`; a 6-digit code (30 minutes) goes to the new contact and the "
        "current contacts are told a change was asked for. Verifying the code with `POST /me/contacts/verify` "
        "switches; until then nothing changes. Asking for the contact the account already has answers `202` and "
        "sends nothing.\n\n"
        "Checks, in order: `value` well formed (an email, or a phone in a configured country code; else "
        "`400 validation_error`, `field: value`) → the password → `409 email_in_use` / `409 phone_in_use` when "
        "the contact is verified on another account → the SMS or email limits (`429 rate_limited`)." + _FROZEN + _REAUTH
    ),
    errors=("account_frozen", "invalid_password", "email_in_use", "phone_in_use"),
)
def change_contact(call: Call) -> Reply:
    body = call.body
    contacts.request_change(
        me_unfrozen(call), body.channel, body.value, body.password, clock.now(), session_id=call.user.session_id
    )
    return Reply({"status": "sent"}, 202)


@operation(
    "POST",
    "/me/password",
    schemas="account",
    summary="Change the password",
    tag="account",
    auth="user",
    body="PasswordChange",
    status=204,
    description=(
        "Changes the password: `204`; every other session is revoked (this one stays signed in) and a notice goes "
        "to the email and the phone. A weak `new_password` is `400 weak_password` (the message says why; the same "
        "rules as at registration), checked before `current_password` is compared, so it counts no failure." + _REAUTH
    ),
    errors=("weak_password", "invalid_password"),
)
def change_password(call: Call) -> Reply:
    accounts.change_password(
        me(call), call.body.current_password, call.body.new_password, session_id=call.user.session_id, now=clock.now()
    )
    return Reply(None, 204)


@operation(
    "GET",
    "/me/sessions",
    schemas="account",
    summary="Signed-in devices",
    tag="account",
    auth="user",
    query="PageQuery",
    response="SessionPage",
    description=(
        "The account's live sessions (signed-in devices), newest first, `current: true` on the caller's own. "
        "Paginated: `?limit=` (1–100, default 20) and the opaque `?cursor=` of the previous page "
        "(`400 invalid_cursor` for a cursor of another list)."
    ),
    errors=("invalid_cursor",),
)
def list_sessions(call: Call) -> dict:
    found = sessions.active_sessions(call.user.user_id)
    items = [
        {
            "session_id": s.session_id,
            "device_name": s.device_name,
            "created_at": clock.isoformat(clock.from_stamp(s.created_at)),
            "last_used_at": clock.isoformat(clock.from_stamp(s.last_used_at)),
            "current": s.session_id == call.user.session_id,
        }
        for s in found
    ]
    return paginate(items, call.query, key="session_id", scope=f"sessions#{call.user.user_id}")


@operation(
    "DELETE",
    "/me/sessions/{session_id}",
    schemas="account",
    summary="Sign out one device",
    tag="account",
    auth="user",
    status=204,
    description=(
        "Revokes one of the caller's sessions (the current one included): `204`; its access and refresh tokens "
        "stop working on the next request. A session that is not the caller's, or does not exist, is "
        "`404 not_found`."
    ),
    errors=("not_found",),
)
def revoke_session(call: Call) -> Reply:
    if not sessions.sign_out_device(call.params["session_id"], call.user.user_id, clock.now()):
        raise OkpayError("not_found")
    return Reply(None, 204)


@operation(
    "DELETE",
    "/me/sessions",
    schemas="account",
    summary="Sign out every other device",
    description=(
        "Revokes every session of the account but the current one: `204`; their tokens stop working on the next "
        "request."
    ),
    tag="account",
    auth="user",
    status=204,
)
def revoke_other_sessions(call: Call) -> Reply:
    sessions.sign_out_other_devices(call.user.user_id, call.user.session_id, clock.now())
    return Reply(None, 204)


@operation(
    "POST",
    "/me/mfa/totp",
    schemas="account",
    summary="Start adding an authenticator app",
    tag="account",
    auth="user",
    body="PasswordOnly",
    response="TotpEnrolment",
    description=(
        "Starts adding an authenticator app: `200` a new base32 `secret` and its `otpauth_uri` (for a QR code). It "
        "stays pending, and sign-in unchanged, until `POST /me/mfa/totp/activate` accepts a first code; a new call "
        "replaces the pending secret. TOTP already on: `409 totp_already_enabled`, checked before the password."
        + _FROZEN
        + _REAUTH
    ),
    errors=("account_frozen", "invalid_password", "totp_already_enabled"),
)
def begin_totp(call: Call) -> dict:
    return mfa_settings.begin_totp(me_unfrozen(call), call.body.password, clock.now(), session_id=call.user.session_id)


@operation(
    "POST",
    "/me/mfa/totp/activate",
    schemas="account",
    summary="Turn the authenticator app on with its first code",
    tag="account",
    auth="user",
    body="CodeOnly",
    response="RecoveryCodesShown",
    description=(
        "Turns TOTP on with the authenticator app's current code: `200` with 10 recovery codes, shown only now "
        "(each works once in place of a TOTP code; stored hashed). From now on a TOTP code is asked at sign-in "
        "and at password reset, and a notice goes to both contacts.\n\n"
        "No enrolment pending (`POST /me/mfa/totp` first): `404 not_found`; TOTP already on: "
        "`409 totp_already_enabled`; a wrong code: `422 invalid_code` with `details.attempts_left`, counted as a "
        "re-authentication failure (the 5th in a session revokes it)." + _FROZEN
    ),
    errors=("account_frozen", "invalid_code", "totp_already_enabled", "not_found"),
)
def activate_totp(call: Call) -> dict:
    return {
        "recovery_codes": mfa_settings.activate_totp(
            me_unfrozen(call), call.body.code, clock.now(), session_id=call.user.session_id
        )
    }


@operation(
    "POST",
    "/me/mfa/totp/disable",
    schemas="account",
    summary="Turn the authenticator app off",
    tag="account",
    auth="user",
    body="TotpDisable",
    status=204,
    description=(
        "Turns TOTP off with the password and a current TOTP code (or a recovery code): `204`; the recovery codes "
        "stop working and a notice goes to both contacts. TOTP not on: `404 not_found`. The password is checked "
        "first (`422 invalid_password`), then the code (`422 invalid_code` with `details.attempts_left`)."
        + _FROZEN
        + _REAUTH
    ),
    errors=("account_frozen", "invalid_password", "invalid_code", "not_found"),
)
def disable_totp(call: Call) -> Reply:
    mfa_settings.disable_totp(
        me_unfrozen(call), call.body.password, call.body.code, clock.now(), session_id=call.user.session_id
    )
    return Reply(None, 204)


@operation(
    "PUT",
    "/me/mfa",
    schemas="account",
    summary="Turn SMS or email sign-in codes on or off",
    tag="account",
    auth="user",
    body="MfaChange",
    response="MfaState",
    description=(
        "Turns the sign-in codes by SMS and by email on or off (an absent field stays as it is): `200` the MFA "
        "settings. `email: true` needs a verified email (`400 validation_error`, `field: email`, checked before "
        "the password). Each change sends a notice to both contacts." + _FROZEN + _REAUTH
    ),
    errors=("account_frozen", "invalid_password"),
)
def set_mfa(call: Call) -> dict:
    body = call.body
    return mfa_settings.set_code_factors(
        me_unfrozen(call),
        body.password,
        sms=body.sms,
        email=body.email,
        now=clock.now(),
        session_id=call.user.session_id,
    )


@operation(
    "POST",
    "/me/mfa/recovery-codes",
    schemas="account",
    summary="New recovery codes (the old ones stop working)",
    tag="account",
    auth="user",
    body="PasswordOnly",
    response="NewRecoveryCodes",
    description=(
        "A new set of 10 recovery codes: `200`, shown only now; each works once in place of a TOTP code, they "
        "are stored hashed, and the previous set stops working. A notice goes to both contacts. TOTP not on: "
        "`404 not_found`." + _FROZEN + _REAUTH
    ),
    errors=("account_frozen", "invalid_password", "not_found"),
)
def new_recovery_codes(call: Call) -> dict:
    return {
        "codes": mfa_settings.new_recovery_codes(
            me_unfrozen(call), call.body.password, clock.now(), session_id=call.user.session_id
        )
    }


@operation(
    "POST",
    "/me/close",
    schemas="account",
    summary="Close the account (only when empty)",
    tag="account",
    auth="user",
    body="PasswordOnly",
    status=204,
    description=(
        "Closes the account: `204` when every balance is zero and no dispute is open, else "
        "`409 account_not_empty` (checked after the password). Transfers waiting for confirmation to or from the "
        "account are canceled, every session is revoked and a notice goes to both contacts. The data is kept as "
        "the law requires; the phone and email are released for new accounts. A frozen account is not closed "
        "until the freeze is lifted: `403 account_frozen`, before the password is compared." + _REAUTH
    ),
    errors=("account_frozen", "invalid_password", "account_not_empty"),
)
def close_account(call: Call) -> Reply:
    now = clock.now()
    accounts.close_account(me(call), call.body.password, now, session_id=call.user.session_id)
    # Transfers waiting for confirmation to or from the account can no longer complete (v1.2).
    transfers.cancel_pending(call.user.user_id, now)
    return Reply(None, 204)
