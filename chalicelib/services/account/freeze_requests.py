"""Freezing an account without signing in (contract v1.2, section 11): a user who lost the phone, or
who got a notice of a change they did not make, stops all money leaving in one step.

- `POST /auth/freeze {login}` → `request_code`: one 6-digit freeze code (15 min, stored hashed,
  5 comparisons in all) to each verified contact. Answers alike, in at least the same time, whether
  or not the login has an account and whether or not anything was sent (the SMS per-number limits,
  10 emails an hour, a code whose 5 tries are spent), as `/auth/password/forgot` does.
- `POST /auth/freeze/confirm {login, code}` → `freeze_by_code`: reason `lost_device`.
- `POST /auth/freeze/link {token}` → `freeze_by_link`: the single-use token of a notice's "this
  wasn't me" line (chalicelib.services.identity.freeze_links), reason `suspected_fraud`.

Both freeze with chalicelib.services.account.freezes (every session revoked in the freeze's own
write). An account that is already frozen answers `200 {status: frozen}` too, and every session is
revoked: whoever asks is signed out, in a panic, and needs exactly that state (frozen, nobody signed
in), not an error. A notice's token says "someone else made this change": a freeze the user set
for another reason becomes `suspected_fraud` (so only an agent lifts it, section 11); a right code
only proves access to a contact, so it keeps the reason.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.account import freezes
from chalicelib.services.common import rate_limits
from chalicelib.services.common.unit_of_work import unit_of_work
from chalicelib.services.identity import freeze_links, notices, one_time_codes, sessions
from chalicelib.services.identity.login_ids import parse_login
from chalicelib.services.identity.password_reset import FORGOT_MIN_SECONDS
from chalicelib.store.audit import audit_event
from chalicelib.store.conditions import condition_failed
from chalicelib.store.security_events import record_security_event
from chalicelib.store.users import User

CODE_LIFETIME = timedelta(minutes=15)
EMAILS_PER_HOUR = 10
# /auth/freeze takes at least this long, sent or not, so timing does not reveal accounts (as forgot).
REQUEST_MIN_SECONDS = FORGOT_MIN_SECONDS


def freeze_code_id(user_id: str) -> str:
    return f"freeze#{user_id}"


def request_code(login_text: str, now: datetime) -> None:
    """Send a freeze code to the login's verified contacts, quietly nothing when it cannot be sent."""
    started = time.monotonic()
    try:
        _send_freeze_code(login_text, now)
    finally:
        remaining = REQUEST_MIN_SECONDS - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)


def freeze_by_code(login_text: str, code: str, now: datetime) -> dict:
    """`{status: frozen}` for the right code (used once); else `422 invalid_code` with attempts_left.
    The attempt is counted before the comparison, so a burst compares at most 5 times."""
    user = parse_login(login_text).find_user()
    if user is None:
        raise OkpayError("invalid_code", details={"attempts_left": 0})
    try:
        record = one_time_codes.check(freeze_code_id(user.user_id), code, now=now)
    except OkpayError:
        logger.info("freeze code wrong", extra={"event": "freeze_code_failed", "user_id": user.user_id})
        raise
    with one_time_codes.kept_if_busy(record):  # nothing frozen (503): the code works for the retry
        return _freeze_signed_out(user.user_id, "lost_device", now)


def freeze_by_link(token: str, now: datetime) -> dict:
    """`{status: frozen}` for a live token (used once); else `422 invalid_token`."""
    redeemed = freeze_links.redeem(token, now)
    try:
        return _freeze_signed_out(redeemed.user_id, "suspected_fraud", now)
    except (ClientError, PynamoDBException):
        freeze_links.give_back(redeemed)  # nothing was frozen: the user's retry must still work
        raise
    except OkpayError as error:
        if error.code == "try_again":
            freeze_links.give_back(redeemed)
        raise


def _send_freeze_code(login_text: str, now: datetime) -> None:
    login_id = parse_login(login_text)
    # Every caller alike, known or not: 503 while SMS or email cannot be sent (contract, section 1).
    # Both channels, whatever the login: which ones a code goes to depends on the account.
    notices.ensure_channel_can_send("sms")
    notices.ensure_channel_can_send("email")
    user = login_id.find_user()
    if user is None:
        return
    sms = rate_limits.SmsCount(user.phone, freeze_code_id(user.user_id), now)
    if not (user.phone and user.phone_verified):
        sms = None
    email = rate_limits.WindowCount(f"freeze_email#{user.user_id}", timedelta(hours=1), now)
    if not (user.email and user.email_verified):
        email = None
    # Past a limit nothing is sent at all: a new code would void the one sent a moment ago.
    if sms and rate_limits.reserve_sms_code(sms.phone, sms.purpose_key, now) is not None:
        return
    if email and not rate_limits.quietly_allowed(email.key, limit=EMAILS_PER_HOUR, window=email.window, now=now):
        email = None
    if not (sms or email):
        return
    issued = one_time_codes.issue(freeze_code_id(user.user_id), lifetime=CODE_LIFETIME, now=now, user_id=user.user_id)
    if issued is None:
        return  # 5 wrong tries spent: no new code until this one expires
    _send(user, issued.code, sms=sms, email=email)
    logger.info("freeze code sent", extra={"event": "freeze_requested", "user_id": user.user_id})


def _send(user: User, code: str, *, sms: rate_limits.SmsCount | None, email: rate_limits.WindowCount | None) -> None:
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    if sms:  # a code, never a link: the SMS is typed back into the app
        notices.send_code_by_sms(user.phone, code, purpose="freeze", minutes=minutes, locale=user.locale, counted=[sms])
    if email:
        notices.send_code_by_email(
            user.email, code, purpose="freeze", minutes=minutes, locale=user.locale, counted=[email]
        )


def _freeze_signed_out(user_id: str, reason: str, now: datetime) -> dict:
    """Freeze with every session revoked; an account already frozen has every session revoked too."""
    try:
        freezes.freeze(user_id, reason, freezes.Actor.owner(user_id), now)
    except OkpayError as error:
        if error.code != "already_frozen":
            raise
        if reason == freezes.NEEDS_AGENT_REVIEW:
            _needs_agent_review(user_id, now)
        revoked = sessions.revoke_all(user_id, reason="freeze_request")
        record_security_event(user_id, "session_revoked", clock.stamp(now), detail="all")
        logger.info(
            "freeze asked for a frozen account: sessions revoked",
            extra={"event": "freeze_repeated", "user_id": user_id, "sessions_revoked": revoked},
        )
    return {"status": "frozen"}


def _needs_agent_review(user_id: str, now: datetime) -> None:
    """Raise a user's own freeze to `suspected_fraud`: conditioned on it still being that freeze by the
    user, so an agent's freeze (already theirs to lift) or a lifted one is left as it is."""
    stamp = clock.stamp(now)
    try:
        with unit_of_work(now) as work:
            work.update(
                User(user_id),
                actions=[User.freeze_reason.set(freezes.NEEDS_AGENT_REVIEW)],
                condition=(User.status == "frozen") & (User.frozen_by == "user"),
                label="user",
            )
            detail = {"reason": freezes.NEEDS_AGENT_REVIEW, "by": "user", "cause": "freeze_link"}
            work.save(audit_event(freezes.audit_subject(user_id), user_id, "freeze_reason_raised", stamp, detail))
    except TransactWriteError as error:
        if not condition_failed(error):
            raise
