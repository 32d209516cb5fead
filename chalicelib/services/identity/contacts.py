"""Verifying and changing a user's email and phone.

A contact is claimed (table `claims`) only once verified, so an unverified address blocks nobody.
A change sends a code to the new contact and a notice to the old; verifying the code switches
them in one transaction: claim the new, release the old, update the user, use up the code.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import clock, notify
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.common import rate_limits
from chalicelib.services.common.emails import normalize_email
from chalicelib.services.common.phones import normalize_phone
from chalicelib.services.identity import notices, one_time_codes, protection, reauth
from chalicelib.store.base import shared_connection
from chalicelib.store.codes import Code
from chalicelib.store.conditions import condition_failed
from chalicelib.store.security_events import record_security_event
from chalicelib.store.users import Claim, User, email_claim, find_claim_owner, phone_claim

CODE_LIFETIME = timedelta(minutes=30)
EMAIL_CODES_PER_HOUR = 10
CHANNELS = ("email", "phone")


def code_id(user_id: str, channel: str) -> str:
    return f"contact#{user_id}#{channel}"


def send_email_verification(user: User, now: datetime) -> None:
    """Email a code that proves the user's (not yet verified) email."""
    if not user.email or user.email_verified:
        return
    _send(user, "email", user.email, purpose="verify_email", now=now)


def request_change(user: User, channel: str, value: str, password: str, now: datetime, *, session_id: str) -> None:
    # The check order: a malformed value (400) before the password (422).
    if channel == "email":
        new_value = normalize_email(value, field="value")
    else:
        new_value = normalize_phone(value, field="value")
        if not notify.can_text(new_value):
            raise OkpayError("validation_error", field="value", reason="phone_country")
    reauth.confirm_password(user, password, now, session_id=session_id)
    if channel == "email" and new_value == user.email and user.email_verified:
        return
    if channel == "phone" and new_value == user.phone:
        return
    owner = find_claim_owner(_claim(channel, new_value))
    if owner and owner != user.user_id:
        raise OkpayError(f"{channel}_in_use")
    _send(user, channel, new_value, purpose=f"change_{channel}", now=now)
    notices.notify_security_event(user, "contact_change_requested", now, channel=channel)


def resend(user: User, channel: str, now: datetime) -> None:
    """Send the pending code for `channel` again; quietly nothing when none is pending."""
    try:
        pending = Code.get(code_id(user.user_id, channel), consistent_read=True)
    except Code.DoesNotExist:
        pending = None
    if pending and clock.from_stamp(pending.expires_at) > now and pending.data:
        data = pending.data.as_dict()
        _send(user, channel, data["value"], purpose=data["purpose"], now=now)
    elif channel == "email":
        send_email_verification(user, now)


def verify(user: User, channel: str, code: str, now: datetime) -> User:
    record = one_time_codes.check(code_id(user.user_id, channel), code, now=now, consume=False)
    data = record.data.as_dict() if record.data else {}
    value = data.get("value")
    if not value:
        raise OkpayError("invalid_code", details={"attempts_left": 0})
    previous = user.email if channel == "email" else user.phone
    previous_verified = user.email_verified if channel == "email" else user.phone_verified
    switching = previous != value  # a change, not the first verification of the registration email
    if switching:
        protection.refuse_if_frozen(user)  # contact changes wait for the freeze to be lifted (section 11)
    claim = _claim(channel, value)
    owner = find_claim_owner(claim)
    if owner and owner != user.user_id:
        raise OkpayError(f"{channel}_in_use")
    stamp = clock.stamp(now)
    field, verified = (User.email, User.email_verified) if channel == "email" else (User.phone, User.phone_verified)
    try:
        # Throttled or conflicting (503): the right code keeps its attempt for the user's retry.
        with one_time_codes.kept_if_busy(record), TransactWrite(connection=shared_connection()) as transaction:
            if owner is None:
                transaction.save(
                    Claim(claim, user_id=user.user_id, created_at=stamp), condition=Claim.claim.does_not_exist()
                )
            if previous and previous_verified and previous != value:
                transaction.delete(Claim(_claim(channel, previous)), condition=Claim.user_id == user.user_id)
            account = protection.not_frozen() & protection.still_open() if switching else protection.still_open()
            transaction.update(user, actions=[field.set(value), verified.set(True)], condition=account)
            transaction.delete(record, condition=Code.code_hash == record.code_hash)
    except TransactWriteError as error:
        if not condition_failed(error):
            raise
        reasons = [reason.code if reason else None for reason in (error.cancellation_reasons or [])]
        if owner is None and reasons and reasons[0] == "ConditionalCheckFailed":
            raise OkpayError(f"{channel}_in_use") from None
        if switching:
            user.refresh(consistent_read=True)
            protection.refuse_if_frozen(user)  # frozen since it was read
        raise OkpayError("invalid_code", details={"attempts_left": 0}) from None
    logger.info("contact verified", extra={"user_id": user.user_id, "event": f"{channel}_verified"})
    user.refresh(consistent_read=True)
    if switching:
        if previous and previous_verified:
            # The replaced contact hears about it too, once (the other contact gets the notice below).
            old = {"email": previous} if channel == "email" else {"phone": previous}
            only = ("email",) if channel == "email" else ("sms",)
            notices.notify_security_event(user, "contact_changed", now, channel=channel, channels=only, **old)
        record_security_event(user.user_id, "contact_changed", clock.stamp(now), detail=channel)
        notices.notify_security_event(user, "contact_changed", now, channel=channel)
    return user


def _send(user: User, channel: str, value: str, *, purpose: str, now: datetime) -> None:
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    if channel == "phone":
        counted: rate_limits.SmsCount | rate_limits.WindowCount = rate_limits.SmsCount(
            value, f"{purpose}#{user.user_id}", now
        )
        wait = rate_limits.reserve_sms_code(value, f"{purpose}#{user.user_id}", now)
        if wait is not None:
            raise OkpayError("rate_limited", retry_after=wait)
    else:
        # Email codes per account, like SMS per number: resend and change must not mail-bomb anyone.
        counted = rate_limits.WindowCount(f"email_code#{user.user_id}", timedelta(hours=1), now)
        rate_limits.hit(counted.key, limit=EMAIL_CODES_PER_HOUR, window=counted.window, now=now)
    issued = one_time_codes.issue(
        code_id(user.user_id, channel),
        lifetime=CODE_LIFETIME,
        now=now,
        user_id=user.user_id,
        data={"value": value, "purpose": purpose},
    )
    if issued is None:
        raise OkpayError("rate_limited", retry_after=int(CODE_LIFETIME.total_seconds()))
    code, locale = issued.code, user.locale
    if channel == "email":
        notices.send_code_by_email(value, code, purpose=purpose, minutes=minutes, locale=locale, counted=[counted])
    else:
        notices.send_code_by_sms(value, code, purpose=purpose, minutes=minutes, locale=locale, counted=[counted])


def _claim(channel: str, value: str) -> str:
    return email_claim(value) if channel == "email" else phone_claim(value)
