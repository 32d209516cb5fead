"""Login lockout: failures count per normalised login identifier, whether or not an account exists.

After 5 consecutive failures attempts are refused for 2^(n−5) s, up to 15 min (`423 account_locked`
with Retry-After), checked before the password so even the right one is refused. Refused attempts
do not extend it. Wrong MFA and reset codes count in the same counter; only a completed login
clears it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.store.conditions import condition_failed
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
            raise OkpayError("account_locked", retry_after=math.ceil((until - now).total_seconds()))


def record_failure(login_key: str, now: datetime) -> None:
    """Count a failure; from the 5th on, lock for 2^(n−5) s (at most 15 min).

    A streak whose last failure is older than FORGET_AFTER starts again from one: TTL deletion is
    lazy (up to days later), so the expiry is checked here rather than left to DynamoDB.
    """
    record = Counter(counter_id(login_key))
    try:
        record.update(
            actions=[Counter.count.add(1), Counter.expires_ttl.set(now + FORGET_AFTER)],
            condition=Counter.expires_ttl.does_not_exist() | (Counter.expires_ttl > now),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        record.update(
            actions=[
                Counter.count.set(1),
                Counter.expires_ttl.set(now + FORGET_AFTER),
                Counter.locked_until.remove(),
            ]
        )
    failures = int(record.count)
    if failures >= FREE_FAILURES:
        lock = min(timedelta(seconds=2 ** min(failures - FREE_FAILURES, 20)), MAX_LOCK)
        record.update(actions=[Counter.locked_until.set(clock.stamp(now + lock))])


def clear(login_key: str) -> None:
    Counter(counter_id(login_key)).delete()
