"""/me: the signed-in user's profile, contacts, password, sessions, second factors, closing."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.pagination import paginate
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.errors import OkpayError
from chalicelib.services.account import profile as accounts
from chalicelib.services.identity import contacts, mfa_settings, sessions
from chalicelib.services.wallet import transfers


def _me(call: Call):
    return accounts.active_account(call.user.account)


@operation(
    "GET",
    "/me",
    schemas="account",
    summary="The signed-in user's profile",
    tag="account",
    auth="user",
    response="Profile",
)
def read_profile(call: Call) -> dict:
    return accounts.profile(_me(call), clock.now())


@operation(
    "PATCH",
    "/me",
    schemas="account",
    summary="Change display name or language",
    tag="account",
    auth="user",
    body="ProfileChange",
    response="Profile",
)
def change_profile(call: Call) -> dict:
    user = accounts.update_profile(_me(call), display_name=call.body.display_name, locale=call.body.locale)
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
    errors=("invalid_code", "email_in_use", "phone_in_use"),
)
def verify_contact(call: Call) -> dict:
    user = contacts.verify(_me(call), call.body.channel, call.body.code, clock.now())
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
    errors=("rate_limited",),
)
def resend_contact_code(call: Call) -> Reply:
    contacts.resend(_me(call), call.body.channel, clock.now())
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
    errors=("invalid_password", "email_in_use", "phone_in_use", "rate_limited"),
)
def change_contact(call: Call) -> Reply:
    body = call.body
    contacts.request_change(
        _me(call), body.channel, body.value, body.password, clock.now(), session_id=call.user.session_id
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
    errors=("weak_password", "invalid_password", "rate_limited"),
)
def change_password(call: Call) -> Reply:
    accounts.change_password(
        _me(call), call.body.current_password, call.body.new_password, session_id=call.user.session_id, now=clock.now()
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
    errors=("not_found",),
)
def revoke_session(call: Call) -> Reply:
    if not sessions.revoke(call.params["session_id"], call.user.user_id, reason="revoked_by_user"):
        raise OkpayError("not_found")
    return Reply(None, 204)


@operation(
    "DELETE",
    "/me/sessions",
    schemas="account",
    summary="Sign out every other device",
    tag="account",
    auth="user",
    status=204,
)
def revoke_other_sessions(call: Call) -> Reply:
    sessions.revoke_all(call.user.user_id, except_session=call.user.session_id, reason="revoked_by_user")
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
    errors=("invalid_password", "totp_already_enabled", "rate_limited"),
)
def begin_totp(call: Call) -> dict:
    return mfa_settings.begin_totp(_me(call), call.body.password, clock.now(), session_id=call.user.session_id)


@operation(
    "POST",
    "/me/mfa/totp/activate",
    schemas="account",
    summary="Turn the authenticator app on with its first code",
    tag="account",
    auth="user",
    body="CodeOnly",
    response="RecoveryCodesShown",
    errors=("invalid_code", "totp_already_enabled", "not_found", "rate_limited"),
)
def activate_totp(call: Call) -> dict:
    return {
        "recovery_codes": mfa_settings.activate_totp(
            _me(call), call.body.code, clock.now(), session_id=call.user.session_id
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
    errors=("invalid_password", "invalid_code", "not_found", "rate_limited"),
)
def disable_totp(call: Call) -> Reply:
    mfa_settings.disable_totp(
        _me(call), call.body.password, call.body.code, clock.now(), session_id=call.user.session_id
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
    errors=("invalid_password", "rate_limited"),
)
def set_mfa(call: Call) -> dict:
    body = call.body
    return mfa_settings.set_code_factors(
        _me(call), body.password, sms=body.sms, email=body.email, now=clock.now(), session_id=call.user.session_id
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
    errors=("invalid_password", "not_found", "rate_limited"),
)
def new_recovery_codes(call: Call) -> dict:
    return {
        "codes": mfa_settings.new_recovery_codes(
            _me(call), call.body.password, clock.now(), session_id=call.user.session_id
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
    errors=("invalid_password", "account_not_empty", "rate_limited"),
)
def close_account(call: Call) -> Reply:
    now = clock.now()
    accounts.close_account(_me(call), call.body.password, now, session_id=call.user.session_id)
    # Transfers waiting for confirmation to or from the account can no longer complete (v1.2).
    transfers.cancel_pending(call.user.user_id, now)
    return Reply(None, 204)
