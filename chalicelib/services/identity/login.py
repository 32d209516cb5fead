"""Signing in: password, then (when any factor is on) a second step with an `mfa_token`.

Unknown accounts and wrong passwords answer alike (`401 invalid_credentials`) and take alike long:
the password is always verified, against a dummy hash when there is no account. Failures count
per normalised login identifier (chalicelib.services.identity.lockout), counted before the password is checked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.common import rate_limits
from chalicelib.services.identity import lockout, notices, one_time_codes, reauth, sessions, totp
from chalicelib.services.identity.login_ids import parse_login
from chalicelib.services.identity.passwords import hash_password, needs_rehash, verify_password
from chalicelib.store.codes import Code
from chalicelib.store.conditions import condition_failed
from chalicelib.store.security_events import record_security_event
from chalicelib.store.users import User, claim_once, device_claim, get_user

MFA_TOKEN_LIFETIME = timedelta(minutes=10)
MFA_CODE_LIFETIME = timedelta(minutes=5)
MFA_ATTEMPTS = 5


@dataclass(frozen=True)
class MfaChallenge:
    mfa_token: str
    methods: list[str]

    def as_reply(self) -> dict:
        return {"mfa_required": True, "mfa_token": self.mfa_token, "mfa_methods": self.methods}


def login(login_text: str, password: str, *, device_id: str, device_name: str | None, now: datetime):
    """Tokens, or an MfaChallenge when the account has a second factor."""
    login_id = parse_login(login_text)
    attempt = lockout.begin_attempt(login_id.key, now)  # counted before the password is checked
    user = login_id.find_user()
    if not verify_password(user.password_hash if user else None, password) or user is None:
        logger.info("login failed", extra={"event": "login_failed", "user_id": user.user_id if user else None})
        if user is not None:
            record_security_event(user.user_id, "login_failed", clock.stamp(now), device_name=device_name)
        raise OkpayError("invalid_credentials")
    with lockout.forgiven_if_busy(attempt):  # the password was right: a 503 now is not a failure
        if needs_rehash(user.password_hash):
            user.update(actions=[User.password_hash.set(hash_password(password))])
        methods = user.mfa_methods()
        if methods:
            token = secrets.token_urlsafe(32)
            Code(
                _mfa_record_id(token),
                code_hash="-",
                expires_at=clock.stamp(now + MFA_TOKEN_LIFETIME),
                expires_ttl=now + MFA_TOKEN_LIFETIME + timedelta(hours=1),
                max_attempts=MFA_ATTEMPTS,
                created_at=clock.stamp(now),
                user_id=user.user_id,
                data={
                    "login_key": login_id.key,
                    "device_id": device_id,
                    "device_name": device_name or "",
                    "methods": methods,
                },
            ).save()
            lockout.forgive(attempt)  # the password was right; the second step counts on its own
            logger.info("login needs second factor", extra={"event": "mfa_required", "user_id": user.user_id})
            return MfaChallenge(token, methods)
        return complete_login(user, login_id.key, device_id=device_id, device_name=device_name, now=now)


def send_mfa_code(mfa_token: str, method: str, now: datetime) -> None:
    record, user = _challenge(mfa_token, now)
    if method not in record.data.as_dict()["methods"]:
        raise OkpayError("validation_error", field="method", reason="mfa_method")
    code_id = _mfa_code_id(mfa_token, method)
    minutes = int(MFA_CODE_LIFETIME.total_seconds() // 60)
    if method == "sms":
        counted: rate_limits.SmsCount | rate_limits.WindowCount = rate_limits.SmsCount(user.phone, code_id, now)
        wait = rate_limits.reserve_sms_code(user.phone, code_id, now)
        if wait is not None:
            raise OkpayError("rate_limited", retry_after=wait)
    else:  # email codes: the same hourly cap as SMS, so nobody can mail-bomb an address
        counted = rate_limits.WindowCount(f"email_code#{user.user_id}", timedelta(hours=1), now)
        rate_limits.hit(counted.key, limit=rate_limits.SMS_PER_HOUR, window=counted.window, now=now)
    issued = one_time_codes.issue(code_id, lifetime=MFA_CODE_LIFETIME, now=now, user_id=user.user_id)
    if issued is None:
        raise OkpayError("invalid_code", details={"attempts_left": 0})
    code, locale = issued.code, user.locale
    if method == "sms":
        notices.send_code_by_sms(user.phone, code, purpose="mfa", minutes=minutes, locale=locale, counted=[counted])
    else:
        notices.send_code_by_email(user.email, code, purpose="mfa", minutes=minutes, locale=locale, counted=[counted])


def verify_mfa(mfa_token: str, method: str, code: str, now: datetime) -> sessions.TokenPair:
    record, user = _challenge(mfa_token, now)
    data = record.data.as_dict()
    if method not in data["methods"]:
        raise OkpayError("validation_error", field="method", reason="mfa_method")
    # Both caps count before the code is compared: the login's lockout and the token's 5 tries.
    lockout.begin_attempt(data["login_key"], now)
    record = one_time_codes.reserve_attempt(_mfa_record_id(mfa_token), now)
    if not _second_factor_ok(user, mfa_token, method, code, now):
        logger.info("mfa failed", extra={"event": "mfa_failed", "user_id": user.user_id, "method": method})
        record_security_event(
            user.user_id, "mfa_failed", clock.stamp(now), device_name=data.get("device_name") or None, detail=method
        )
        raise OkpayError("invalid_code", details={"attempts_left": one_time_codes.attempts_left(record)})
    try:  # the token works once, even for two right codes at the same moment
        record.delete(condition=Code.code_id.exists())
    except DeleteError as error:
        if condition_failed(error):
            raise OkpayError("invalid_code", details={"attempts_left": 0}) from None
        raise
    one_time_codes.discard(_mfa_code_id(mfa_token, "sms"))
    one_time_codes.discard(_mfa_code_id(mfa_token, "email"))
    logger.info("mfa passed", extra={"event": "mfa_passed", "user_id": user.user_id, "method": method})
    return complete_login(
        user,
        data["login_key"],
        device_id=data["device_id"],
        device_name=data.get("device_name") or None,
        now=now,
        second_factor=method,
    )


def complete_login(
    user: User,
    login_key: str,
    *,
    device_id: str,
    device_name: str | None,
    now: datetime,
    second_factor: str | None = None,
):
    lockout.clear(login_key)
    reauth.clear_step_up_failures(user.user_id, now)  # a password login lifts a step-up block
    pair = sessions.start_session(
        user, device_id=device_id, device_name=device_name, now=now, second_factor=second_factor
    )
    shown = device_name or device_id[:32]
    record_security_event(user.user_id, "login", clock.stamp(now), device_name=shown)
    if claim_once(device_claim(user.user_id, device_id), user.user_id, clock.stamp(now)):
        # A device not seen before on this account: tell both contacts.
        record_security_event(user.user_id, "new_device", clock.stamp(now), device_name=shown)
        notices.notify_security_event(user, "new_device", now, device=shown)
    logger.info("login succeeded", extra={"event": "login", "user_id": user.user_id, "session_id": pair.session_id})
    return pair


def _second_factor_ok(user: User, mfa_token: str, method: str, code: str, now: datetime) -> bool:
    if method == "totp":
        return totp.accept_totp(user, code)
    if method == "recovery_code":
        return totp.use_recovery_code(user, code)
    try:
        one_time_codes.check(_mfa_code_id(mfa_token, method), code, now=now)
    except OkpayError:
        return False
    return True


def _challenge(mfa_token: str, now: datetime) -> tuple[Code, User]:
    """The live MFA challenge for this token; a void or expired one is `422 invalid_code`."""
    try:
        record = Code.get(_mfa_record_id(mfa_token), consistent_read=True)
    except Code.DoesNotExist:
        raise OkpayError("invalid_code", details={"attempts_left": 0}) from None
    user = get_user(record.user_id) if record.user_id else None
    if clock.from_stamp(record.expires_at) <= now or user is None or user.status == "closed":
        raise OkpayError("invalid_code", details={"attempts_left": 0})
    return record, user


def _mfa_record_id(token: str) -> str:
    return f"mfa#{hashlib.sha256(token.encode()).hexdigest()}"


def _mfa_code_id(token: str, method: str) -> str:
    return f"mfa_code#{hashlib.sha256(token.encode()).hexdigest()}#{method}"
