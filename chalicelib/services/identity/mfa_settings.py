"""Turning second factors on and off. Every change needs the password and tells both contacts.

TOTP is enrolled in two steps: a pending secret, active only once the first code from the app is
accepted; that also returns the first recovery codes.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import MFA_DETAILS, phrase
from chalicelib.services.identity import notices, reauth, totp
from chalicelib.store.conditions import condition_failed
from chalicelib.store.security_events import record_security_event
from chalicelib.store.users import User


def begin_totp(user: User, password: str, now: datetime, *, session_id: str) -> dict:
    if user.totp_enabled:  # the contract's order: 409 before the password's 422
        raise OkpayError("totp_already_enabled")
    reauth.confirm_password(user, password, now, session_id=session_id)
    secret = totp.new_secret()
    user.update(actions=[User.totp_pending_secret.set(totp.seal_secret(user.user_id, secret))])
    account_name = user.phone or user.email or user.user_id
    return {"secret": secret, "otpauth_uri": totp.provisioning_uri(secret, account_name)}


def activate_totp(user: User, code: str, now: datetime, *, session_id: str) -> list[str]:
    if user.totp_enabled:
        raise OkpayError("totp_already_enabled")
    if not user.totp_pending_secret:
        raise OkpayError("not_found")
    matched: list[int] = []

    def right() -> bool:
        step = totp.matching_step(totp.open_secret(user.user_id, user.totp_pending_secret), code)
        matched.extend([] if step is None else [step])
        return step is not None

    reauth.confirm_code(user, now, right, session_id=session_id)
    step = matched[0]
    codes, hashes = totp.new_recovery_codes()
    try:
        user.update(
            actions=[
                User.totp_secret.set(user.totp_pending_secret),
                User.totp_pending_secret.remove(),
                User.totp_last_step.set(step),
                User.recovery_code_hashes.set(hashes),
            ],
            condition=User.totp_secret.does_not_exist() & (User.totp_pending_secret == user.totp_pending_secret),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        # Another request got there first: a concurrent activation, or a new enrolment's secret.
        user.refresh(consistent_read=True)
        if user.totp_enabled:
            raise OkpayError("totp_already_enabled") from None
        raise OkpayError("invalid_code", details={"attempts_left": reauth.attempts_left(session_id)}) from None
    _changed(user, "totp_on", now)
    return codes


def disable_totp(user: User, password: str, code: str, now: datetime, *, session_id: str) -> None:
    if not user.totp_enabled:
        raise OkpayError("not_found")
    reauth.confirm_password(user, password, now, session_id=session_id)
    reauth.confirm_second_factor(user, code, now, session_id=session_id)
    user.update(actions=[User.totp_secret.remove(), User.totp_last_step.remove(), User.recovery_code_hashes.remove()])
    _changed(user, "totp_off", now)


def set_code_factors(
    user: User, password: str, *, sms: bool | None, email: bool | None, now: datetime, session_id: str
) -> dict:
    if email and not (user.email and user.email_verified):  # 400 before the password's 422 (check order)
        raise OkpayError("validation_error", field="email", reason="contact_not_verified")
    reauth.confirm_password(user, password, now, session_id=session_id)
    actions, changes = [], []
    if sms is not None and sms != bool(user.mfa_sms):
        actions.append(User.mfa_sms.set(sms))
        changes.append("sms_on" if sms else "sms_off")
    if email is not None and email != bool(user.mfa_email):
        actions.append(User.mfa_email.set(email))
        changes.append("email_on" if email else "email_off")
    if actions:
        user.update(actions=actions)
        for change in changes:
            _changed(user, change, now)
    return settings_of(user)


def new_recovery_codes(user: User, password: str, now: datetime, *, session_id: str) -> list[str]:
    if not user.totp_enabled:
        raise OkpayError("not_found")
    reauth.confirm_password(user, password, now, session_id=session_id)
    codes, hashes = totp.new_recovery_codes()
    user.update(actions=[User.recovery_code_hashes.set(hashes)])
    _changed(user, "recovery_codes", now)
    return codes


def settings_of(user: User) -> dict:
    return {"totp": user.totp_enabled, "sms": bool(user.mfa_sms), "email": bool(user.mfa_email)}


def _changed(user: User, change: str, now: datetime) -> None:
    logger.info("mfa changed", extra={"event": f"mfa_{change}", "user_id": user.user_id})
    record_security_event(user.user_id, "mfa_changed", clock.stamp(now), detail=change)
    notices.notify_security_event(user, "mfa_changed", now, detail=phrase(MFA_DETAILS, change, user.locale))
