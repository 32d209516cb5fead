"""Login lockout: failures count per normalised login identifier, whether or not an account exists.

After 5 consecutive failures attempts are refused for 2^(n−5) s, up to 15 min (`423 account_locked`
with Retry-After), checked before the password so even the right one is refused. Refused attempts
do not extend it. Wrong MFA and reset codes count in the same counter; only a completed login
clears it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.store.counters import Counter

FREE_FAILURES = 5
MAX_LOCK = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)  # a failure streak older than this is forgotten


def counter_id(login_key: str) -> str:
    return f"login_fail#{login_key}"


def ensure_not_locked(login_key: str, now: datetime) -> None:
    try:
        record = Counter.get(counter_id(login_key), consistent_read=True)
    except Counter.DoesNotExist:
        return
    if record.locked_until:
        until = datetime.fromisoformat(record.locked_until)
        if until > now:
            raise OkpayError("account_locked", retry_after=int((until - now).total_seconds() + 0.999))


def record_failure(login_key: str, now: datetime) -> None:
    """Count a failure; from the 5th on, lock for 2^(n−5) s (at most 15 min)."""
    record = Counter(counter_id(login_key))
    record.update(actions=[Counter.count.add(1), Counter.expires_ttl.set(now + FORGET_AFTER)])
    failures = int(record.count)
    if failures >= FREE_FAILURES:
        lock = min(timedelta(seconds=2 ** min(failures - FREE_FAILURES, 20)), MAX_LOCK)
        record.update(actions=[Counter.locked_until.set(clock.stamp(now + lock))])


def clear(login_key: str) -> None:
    Counter(counter_id(login_key)).delete()
