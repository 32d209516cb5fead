"""Login lockout: attempts count per normalised login identifier, whether or not an account exists.

After 5 consecutive failures attempts are refused for 2^(n−5) s, up to 15 min (`423 account_locked`
with Retry-After), so even the right password is refused. Refused attempts do not extend it. Wrong
MFA and reset codes count in the same counter; only a completed login clears it.

An attempt is counted *before* the secret is checked (contract v1.2, "Attempt caps hold under
concurrency"): `begin_attempt` swaps the counter from the value it read to the next one, and sets
the lock in the same write when the count reaches 5. A parallel burst therefore queues on one item
and is locked exactly like a serial one; an attempt that turns out right is forgiven afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.adapters import aws, clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.store.conditions import condition_failed
from chalicelib.store.counters import Counter

FREE_FAILURES = 5
MAX_LOCK = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)  # a failure streak older than this is forgotten
SWAP_ROUNDS = 25  # more concurrent attempts on one login than this are refused as locked


@dataclass(frozen=True)
class Attempt:
    """One counted attempt: the count it brought the login to."""

    login_key: str
    number: int

    @property
    def left(self) -> int:
        """How many more failures the login may have before it is locked."""
        return max(0, FREE_FAILURES - self.number)


def counter_id(login_key: str) -> str:
    return f"login_fail#{login_key}"


def begin_attempt(login_key: str, now: datetime) -> Attempt:
    """Count an attempt before the secret is checked; `423 account_locked` while locked."""
    for _ in range(SWAP_ROUNDS):
        record = _read(login_key)
        if record is not None and record.locked_until and clock.from_stamp(record.locked_until) > now:
            raise _locked(clock.from_stamp(record.locked_until), now)
        # TTL deletion is lazy (up to days), so an old streak is forgotten here, not by DynamoDB.
        stale = record is None or (record.expires_ttl is not None and record.expires_ttl <= now)
        number = 1 if stale else int(record.count) + 1
        actions = [Counter.count.set(number), Counter.expires_ttl.set(now + FORGET_AFTER)]
        if number >= FREE_FAILURES:
            actions.append(Counter.locked_until.set(clock.stamp(now + _lock_for(number))))
        else:
            actions.append(Counter.locked_until.remove())
        seen = Counter.count.does_not_exist() if record is None else Counter.count == record.count
        try:
            Counter(counter_id(login_key)).update(actions=actions, condition=seen)
        except UpdateError as error:
            if not condition_failed(error):
                raise
            continue  # another attempt counted first: read again
        return Attempt(login_key, number)
    raise OkpayError("account_locked", retry_after=1)


@contextmanager
def forgiven_if_busy(attempt: Attempt) -> Iterator[None]:
    """Around what follows a right password: if it fails only because AWS was busy (503 try_again),
    the attempt is forgiven, so retrying through an outage never locks the owner out (section 1)."""
    try:
        yield
    except Exception as error:
        if aws.is_busy(error) or (isinstance(error, OkpayError) and error.code == "try_again"):
            try:
                forgive(attempt)
            except Exception:  # the 503 stands; the streak lapses on its own
                logger.exception("login attempt not forgiven after a busy failure")
        raise


def forgive(attempt: Attempt) -> None:
    """The attempt was right but did not complete a login (an MFA step follows, a reset): uncount it.

    Only while nobody counted after it, so a concurrent failure is never forgiven with it.
    """
    try:
        Counter(counter_id(attempt.login_key)).update(
            actions=[Counter.count.set(attempt.number - 1), Counter.locked_until.remove()],
            condition=Counter.count == attempt.number,
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise


def attempts_left(login_key: str) -> int:
    record = _read(login_key)
    return max(0, FREE_FAILURES - (int(record.count) if record else 0))


def clear(login_key: str) -> None:
    try:
        Counter(counter_id(login_key)).delete()
    except DeleteError as error:
        if not condition_failed(error):
            raise


def _read(login_key: str) -> Counter | None:
    try:
        return Counter.get(counter_id(login_key), consistent_read=True)
    except Counter.DoesNotExist:
        return None


def _lock_for(failures: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(failures - FREE_FAILURES, 20)), MAX_LOCK)


def _locked(until: datetime, now: datetime) -> OkpayError:
    return OkpayError("account_locked", retry_after=max(1, math.ceil((until - now).total_seconds())))
