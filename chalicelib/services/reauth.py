"""Re-authentication of a signed-in user: the password (or a code) again before a sensitive change.

A wrong one is `422 invalid_password` / `invalid_code`, never 401 (the session is fine), and counts
in the failure counter of the user's phone, so a stolen session cannot guess the password freely.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services import lockout, totp
from chalicelib.services.passwords import verify_password
from chalicelib.store.users import User


def failure_key(user: User) -> str:
    return user.phone or user.email or user.user_id


def confirm_password(user: User, password: str, now: datetime) -> None:
    if not verify_password(user.password_hash, password):
        lockout.record_failure(failure_key(user), now)
        logger.info("re-authentication failed", extra={"user_id": user.user_id, "event": "reauth_failed"})
        raise OkpayError("invalid_password")


def confirm_second_factor(user: User, code: str, now: datetime, *, allow_recovery: bool = True) -> None:
    """A current TOTP code (or, when allowed, a recovery code); else 422 invalid_code."""
    if totp.accept_totp(user, code) or (allow_recovery and totp.use_recovery_code(user, code)):
        return
    confirm_second_factor_failed(user, now)


def confirm_second_factor_failed(user: User, now: datetime) -> None:
    """Count a wrong code against the user's phone and answer `422 invalid_code`."""
    lockout.record_failure(failure_key(user), now)
    logger.info("second factor failed", extra={"user_id": user.user_id, "event": "second_factor_failed"})
    raise OkpayError("invalid_code", details={"attempts_left": remaining_attempts(user)})


def remaining_attempts(user: User) -> int:
    return attempts_before_lock(failure_key(user))


def attempts_before_lock(login_key: str) -> int:
    """How many more failures `login_key` may have before it is locked."""
    from chalicelib.store.counters import Counter

    try:
        failures = int(Counter.get(lockout.counter_id(login_key), consistent_read=True).count)
    except Counter.DoesNotExist:
        failures = 0
    return max(0, lockout.FREE_FAILURES - failures)
