"""Sign-up in two steps: prove the phone with an SMS code, then create the account.

`/auth/register/start` always answers the same: a number with an account gets a notice and no
code; limits apply quietly. `/auth/register` checks, in order: the password (400), the code (422),
an email verified on another account (409), then creates the user, its phone claim and spends
the code in one transaction. The spent code names the account until its first session is started:
the same request repeated after a 503 (contract, section 1, Faults) resumes there instead of being
refused for a used code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import clock, notify
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.common import rate_limits
from chalicelib.services.common.emails import normalize_email
from chalicelib.services.common.phones import normalize_phone
from chalicelib.services.identity import contacts, notices, one_time_codes, sessions
from chalicelib.services.identity.password_age import schedule_review
from chalicelib.services.identity.password_policy import check_password
from chalicelib.services.identity.passwords import hash_password, verify_password
from chalicelib.store.base import shared_connection
from chalicelib.store.codes import Code
from chalicelib.store.conditions import condition_failed
from chalicelib.store.users import Claim, User, email_claim, find_claim_owner, get_user, phone_claim

CODE_LIFETIME = timedelta(minutes=10)
REGISTERED = "registered_user"  # on a spent registration code: the account it created
NOTICES_PER_HOUR = 3  # "already registered" notices are not codes, but still capped


@dataclass(frozen=True)
class NewAccount:
    phone: str
    code: str
    email: str
    password: str
    display_name: str


def registration_code_id(phone: str) -> str:
    return f"register#{phone}"


def start(phone_text: str, *, locale: str, now: datetime) -> None:
    phone = normalize_phone(phone_text)
    if not notify.can_text(phone):
        raise OkpayError("validation_error", field="phone", reason="phone_country")
    # Every number alike, registered or not: 503 while SMS cannot be sent (contract, section 1).
    notices.ensure_channel_can_send("sms")
    if find_claim_owner(phone_claim(phone)):
        notice = rate_limits.WindowCount(f"notice#register#{phone}", timedelta(hours=1), now)
        if rate_limits.quietly_allowed(notice.key, limit=NOTICES_PER_HOUR, window=notice.window, now=now):
            # In place of the code a new number gets: it fails (503) like a code would.
            with notices.delivering_code(notice):
                notify.send_sms(phone, "register_existing_sms", locale)
        return
    counted = rate_limits.SmsCount(phone, f"register#{phone}", now)
    if rate_limits.reserve_sms_code(phone, counted.purpose_key, now) is not None:
        logger.info("registration code not sent: rate limited")
        return
    issued = one_time_codes.issue(registration_code_id(phone), lifetime=CODE_LIFETIME, now=now)
    if issued is None:
        logger.info("registration code not sent: attempts used up")
        return
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    notices.send_code_by_sms(phone, issued.code, purpose="register", minutes=minutes, locale=locale, counted=[counted])


def register(account: NewAccount, *, locale: str, now: datetime) -> sessions.TokenPair:
    phone = normalize_phone(account.phone)
    email = normalize_email(account.email)
    check_password(account.password, email=email, phone=phone, display_name=account.display_name)
    code = one_time_codes.check(registration_code_id(phone), account.code, now=now, consume=False)
    created = (code.data.as_dict() if code.data else {}).get(REGISTERED)
    if created is not None:  # this code's account exists: a retry after a 503 that followed it
        return _resume(created, code, account, email, now)
    if find_claim_owner(email_claim(email)):
        raise OkpayError("email_in_use")
    stamp = clock.stamp(now)
    user = User(
        f"usr_{uuid.uuid4().hex}",
        created_at=stamp,
        display_name=account.display_name,
        locale=locale,
        phone=phone,
        phone_verified=True,
        email=email,
        email_verified=False,
        password_hash=hash_password(account.password),
        password_changed_at=stamp,
    )
    schedule_review(user, now)
    try:
        # Throttled or conflicting (503): the right code keeps its attempt for the user's retry.
        with one_time_codes.kept_if_busy(code), TransactWrite(connection=shared_connection()) as transaction:
            transaction.save(user, condition=User.user_id.does_not_exist())
            transaction.save(
                Claim(phone_claim(phone), user_id=user.user_id, created_at=stamp),
                condition=Claim.claim.does_not_exist(),
            )
            # Spending the code in the same transaction: one code, one account, even when raced. It
            # names the account until the session is started, so a retry after a 503 resumes.
            transaction.update(
                code,
                actions=[Code.data.set({REGISTERED: user.user_id})],
                condition=(Code.code_hash == code.code_hash) & Code.data.does_not_exist(),
            )
    except TransactWriteError as error:
        if not condition_failed(error):
            raise
        reasons = [reason.code if reason else None for reason in (error.cancellation_reasons or [])]
        # The code first: a racing registration with the same code used it up (and claimed the
        # phone too), so the loser hears about the code, as it would have a moment later.
        if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
            raise OkpayError("invalid_code", details={"attempts_left": 0}) from None
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            raise OkpayError("phone_in_use") from None
        raise OkpayError("invalid_code", details={"attempts_left": 0}) from None
    logger.info("user registered", extra={"user_id": user.user_id, "event": "register"})
    try:
        contacts.send_email_verification(user, now)
    except Exception:  # the account exists; the user can ask for the code again
        logger.exception("email verification not sent", extra={"user_id": user.user_id})
    return _first_session(user, code, now)


def _resume(user_id: str, code: Code, account: NewAccount, email: str, now: datetime) -> sessions.TokenPair:
    """The same registration again (its code, email and password) after the account was created and
    the answer lost to a 503: the session it did not get. Anything else is a used code."""
    user = get_user(user_id)
    if user is None or user.email != email or not verify_password(user.password_hash, account.password):
        raise OkpayError("invalid_code", details={"attempts_left": 0})
    return _first_session(user, code, now)


def _first_session(user: User, code: Code, now: datetime) -> sessions.TokenPair:
    with one_time_codes.kept_if_busy(code):  # a 503 here: the retry resumes with the same code
        pair = sessions.start_session(user, device_id=None, device_name=None, now=now)
    try:
        one_time_codes.use_up(code)  # left behind (busy, raced): it lapses in 10 minutes
    except Exception:
        logger.warning("registration code not used up", extra={"user_id": user.user_id})
    return pair
