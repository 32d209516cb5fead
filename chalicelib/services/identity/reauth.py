"""Re-authentication of a signed-in user: the password (or a code) again before a sensitive change.

Contract v1.2, section 1: a wrong one is `422 invalid_password` / `invalid_code`, never 401 (the
session is fine). The 5th wrong one in a session (in total: a right one does not reset the count)
revokes that session and a security notice goes to the verified email and the phone. The owner's
sign-in is never locked by these: a stolen session must not lock the owner out.

Under concurrency the cap holds like the one-time codes': each try is counted on the session before
the secret is compared (`reauth_try#<session>`, conditionally under 5), a right one gives its place
back, and wrong ones are counted once more on their own (`reauth_fail#<session>`) so exactly one
request sees the 5th failure and revokes. While 5 tries are already being compared, more are
refused with `429 rate_limited`.

A wrong step-up for money out (chalicelib.services.wallet.step_up) is also counted per day: more
than 10 block money out until the next password login clears the count.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.identity import notices, sessions, totp
from chalicelib.services.identity.passwords import verify_password
from chalicelib.store.conditions import condition_failed
from chalicelib.store.counters import Counter
from chalicelib.store.security_events import record_security_event
from chalicelib.store.sessions import Session
from chalicelib.store.users import User

FAILURES_ALLOWED = 5  # the 5th wrong one revokes the session
STEP_UP_FAILURES_ALLOWED = 10  # a day's wrong step-ups before money out is blocked
KEPT = timedelta(days=31)  # longer than any session lives


def confirm_password(user: User, password: str, now: datetime, *, session_id: str) -> None:
    """`422 invalid_password` unless `password` is the user's."""
    _confirm(user, session_id, now, lambda: verify_password(user.password_hash, password), "invalid_password")


def confirm_second_factor(
    user: User, code: str, now: datetime, *, session_id: str, allow_recovery: bool = True
) -> None:
    """A current TOTP code (or, when allowed, a recovery code); else `422 invalid_code`."""

    def right() -> bool:
        return totp.accept_totp(user, code) or (allow_recovery and totp.use_recovery_code(user, code))

    _confirm(user, session_id, now, right, "invalid_code")


def confirm_code(user: User, now: datetime, right: Callable[[], bool], *, session_id: str) -> None:
    """Any other code checked on a signed-in route (e.g. activating TOTP): the same cap."""
    _confirm(user, session_id, now, right, "invalid_code")


def _confirm(user: User, session_id: str, now: datetime, right: Callable[[], bool], code: str) -> None:
    _reserve_try(session_id, now)
    try:
        accepted = right()
    except Exception:
        _count(_try_id(session_id), -1, now)  # not compared after all (the store failed)
        raise
    if accepted:
        _count(_try_id(session_id), -1, now)  # a right one gives its place back, failures stay
        return
    failures = _count(_fail_id(session_id), 1, now)
    left = max(0, FAILURES_ALLOWED - failures)
    logger.info(
        "re-authentication failed",
        extra={"user_id": user.user_id, "session_id": session_id, "event": "reauth_failed", "attempts_left": left},
    )
    if failures == FAILURES_ALLOWED:
        _revoke(user, session_id, now)
    raise OkpayError(code, details={"attempts_left": left} if code == "invalid_code" else None)


def attempts_left(session_id: str) -> int:
    try:
        failures = int(Counter.get(_fail_id(session_id), consistent_read=True).count)
    except Counter.DoesNotExist:
        failures = 0
    return max(0, FAILURES_ALLOWED - failures)


def _reserve_try(session_id: str, now: datetime) -> None:
    try:
        Counter(_try_id(session_id)).update(
            actions=[Counter.count.add(1), Counter.expires_ttl.set(now + KEPT)],
            condition=Counter.count.does_not_exist() | (Counter.count < FAILURES_ALLOWED),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        # Five tries are spent or being compared right now: nothing more is compared.
        raise OkpayError("rate_limited", retry_after=1) from None


def _count(counter_id: str, step: int, now: datetime) -> int:
    counter = Counter(counter_id)
    counter.update(actions=[Counter.count.add(step), Counter.expires_ttl.set(now + KEPT)])
    return int(counter.count)


def _revoke(user: User, session_id: str, now: datetime) -> None:
    try:
        session = Session.get(session_id)
    except Session.DoesNotExist:
        session = None
    sessions.revoke(session_id, user.user_id, reason="reauth_failures")
    device = (session.device_name or session.device_id or "") if session else ""
    record_security_event(user.user_id, "session_revoked_reauth", clock.stamp(now), device_name=device[:64] or None)
    notices.notify_security_event(user, "reauth_revoked", now, device=device[:64] or "—")


def _try_id(session_id: str) -> str:
    return f"reauth_try#{session_id}"


def _fail_id(session_id: str) -> str:
    return f"reauth_fail#{session_id}"


def step_up_failure_counter_id(user_id: str, now: datetime) -> str:
    return f"stepup_fail#{user_id}#{clock.shanghai_day(now)}"


def step_ups_blocked(failures: int) -> bool:
    """Too many wrong step-ups today: money out waits for the next password login."""
    return failures > STEP_UP_FAILURES_ALLOWED


def record_step_up_failure(user_id: str, now: datetime) -> None:
    Counter(step_up_failure_counter_id(user_id, now)).update(
        actions=[Counter.count.add(1), Counter.expires_ttl.set(now + timedelta(days=2))]
    )


def clear_step_up_failures(user_id: str, now: datetime) -> None:
    """A password login lifts the block."""
    Counter(step_up_failure_counter_id(user_id, now)).delete()
