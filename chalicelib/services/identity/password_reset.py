"""Forgotten passwords: a code by email or SMS (15 min, single use, 5 attempts), then a new password.

`forgot` answers the same whether or not the account exists, and takes at least the same time.
An account with TOTP must also give a TOTP or recovery code (`422 mfa_required`). Success revokes
every session and tells both contacts. Wrong codes count with login failures.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.common import rate_limits
from chalicelib.services.identity import lockout, notices, one_time_codes, sessions, totp
from chalicelib.services.identity.login_ids import parse_login
from chalicelib.services.identity.password_age import schedule_review
from chalicelib.services.identity.password_policy import check_password
from chalicelib.services.identity.passwords import hash_password
from chalicelib.store.codes import Code
from chalicelib.store.security_events import record_security_event
from chalicelib.store.users import User

CODE_LIFETIME = timedelta(minutes=15)
# forgot-password takes at least this long, sent or not, so timing does not reveal accounts
FORGOT_MIN_SECONDS = 0.25
RESET_EMAILS_PER_HOUR = 10
RESET_EMAIL_WINDOW = timedelta(hours=1)


def reset_code_id(user_id: str) -> str:
    return f"reset#{user_id}"


def forgot(login_text: str, *, locale: str, now: datetime) -> None:
    started = time.monotonic()
    try:
        _send_reset_code(login_text, now)
    finally:
        remaining = FORGOT_MIN_SECONDS - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)


def _send_reset_code(login_text: str, now: datetime) -> None:
    login_id = parse_login(login_text)
    # Every caller alike, known or not: 503 while the channel the login names cannot send (section 1).
    notices.ensure_channel_can_send("sms" if login_id.kind == "phone" else "email")
    user = login_id.find_user()
    if user is None:
        return
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    if login_id.kind == "phone":
        counted = rate_limits.SmsCount(user.phone, f"reset#{user.user_id}", now)
        if rate_limits.reserve_sms_code(counted.phone, counted.purpose_key, now) is not None:
            return
    else:
        counted = rate_limits.WindowCount(f"reset_email#{user.user_id}", RESET_EMAIL_WINDOW, now)
        if not rate_limits.quietly_allowed(counted.key, limit=RESET_EMAILS_PER_HOUR, window=counted.window, now=now):
            return
    issued = one_time_codes.issue(reset_code_id(user.user_id), lifetime=CODE_LIFETIME, now=now, user_id=user.user_id)
    if issued is None:
        return  # attempts used up: the reset stays void until the code expires
    code, locale = issued.code, user.locale
    if login_id.kind == "phone":
        notices.send_code_by_sms(user.phone, code, purpose="reset", minutes=minutes, locale=locale, counted=[counted])
    else:
        notices.send_code_by_email(user.email, code, purpose="reset", minutes=minutes, locale=locale, counted=[counted])
    logger.info("password reset code sent", extra={"event": "reset_requested", "user_id": user.user_id})


def reset(
    login_text: str,
    code: str,
    new_password: str,
    *,
    second_factor: tuple[str, str] | None,
    now: datetime,
) -> None:
    login_id = parse_login(login_text)
    user = login_id.find_user()
    # A weak password is a 400 that neither uses nor counts the code.
    check_password(
        new_password,
        email=user.email if user else None,
        phone=user.phone if user else None,
        display_name=user.display_name if user else None,
        field="new_password",
    )
    # Counted before the code and the second factor are compared, so a burst is locked like a series.
    attempt = lockout.begin_attempt(login_id.key, now)
    if user is None:
        raise OkpayError("invalid_code", details={"attempts_left": 0})
    try:
        record = one_time_codes.check(reset_code_id(user.user_id), code, now=now, consume=False)
    except OkpayError:
        logger.info("password reset code wrong", extra={"event": "reset_failed", "user_id": user.user_id})
        raise
    if user.totp_enabled:
        _check_second_factor(user, attempt, second_factor)
    with one_time_codes.kept_if_busy(record):  # the password not changed (503): the code works for the retry
        _reset_with_right_code(user, record, attempt, new_password, now)


def _reset_with_right_code(
    user: User, record: Code, attempt: lockout.Attempt, new_password: str, now: datetime
) -> None:
    one_time_codes.use_up(record)
    lockout.forgive(attempt)  # not a failure; only a completed login clears the streak
    schedule_review(user, now)
    # The new password and the end of every session are one write: a sign-in racing the reset
    # either used the old password and is revoked, or comes after and uses the new one.
    new = [
        User.password_hash.set(hash_password(new_password)),
        User.password_changed_at.set(clock.stamp(now)),
        User.password_review_day.set(user.password_review_day),
        User.user_id_sort.set(user.user_id),
    ]
    revoked = sessions.revoke_all(user.user_id, reason="password_reset", user_actions=new)
    logger.info(
        "password reset", extra={"event": "password_reset", "user_id": user.user_id, "sessions_revoked": revoked}
    )
    record_security_event(user.user_id, "password_reset", clock.stamp(now))
    notices.notify_security_event(user, "password_reset", now)


def _check_second_factor(user: User, attempt: lockout.Attempt, second_factor: tuple[str, str] | None) -> None:
    methods = ["totp", "recovery_code"] if user.recovery_code_hashes else ["totp"]
    if second_factor is None:
        lockout.forgive(attempt)  # the reset code was right; the client asks for the second factor
        raise OkpayError("mfa_required", details={"methods": methods})
    method, code = second_factor
    accepted = totp.accept_totp(user, code) if method == "totp" else totp.use_recovery_code(user, code)
    if not accepted:
        logger.info("password reset second factor wrong", extra={"event": "reset_failed", "user_id": user.user_id})
        # The reset code stays good; what is left is the tries before the login is locked.
        raise OkpayError("invalid_code", details={"attempts_left": attempt.left})
