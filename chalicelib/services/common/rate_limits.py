"""Rate limits kept in DynamoDB, so every Lambda instance sees the same counts.

- SMS codes, per phone number: one per purpose and object a minute, ten an hour (sliding).
  Notices are not counted here (they have their own quiet cap).
- Fixed windows for everything else (per client IP, per account): `hit(...)`.

A code that could not be sent is not counted (contract v1.2, section 1, Faults): the count taken
before the send is given back (`SmsCount`, `WindowCount`), as atomically as it was taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.store.conditions import condition_failed
from chalicelib.store.counters import Counter

SMS_GAP = timedelta(seconds=60)
SMS_PER_HOUR = 10
_RETRIES = 5


def reserve_sms_code(phone: str, purpose_key: str, now: datetime) -> int | None:
    """Reserve one SMS code to `phone`; None when allowed, else the seconds to wait."""
    counter_id = f"sms#{phone}"
    for _ in range(_RETRIES):
        try:
            current = Counter.get(counter_id, consistent_read=True)
        except Counter.DoesNotExist:
            current = None
        hour_ago = now - timedelta(hours=1)
        sent = [at for at in (current.sent_at or []) if datetime.fromisoformat(at) > hour_ago] if current else []
        last_sent = dict(current.last_sent.as_dict()) if current and current.last_sent else {}
        previous = last_sent.get(purpose_key)
        if previous and now - datetime.fromisoformat(previous) < SMS_GAP:
            return _seconds(datetime.fromisoformat(previous) + SMS_GAP - now)
        if len(sent) >= SMS_PER_HOUR:
            return _seconds(datetime.fromisoformat(min(sent)) + timedelta(hours=1) - now)
        last_sent = {key: at for key, at in last_sent.items() if datetime.fromisoformat(at) > now - SMS_GAP}
        last_sent[purpose_key] = clock.stamp(now)
        # Optimistic: written only if nobody else wrote since the read (a limit, not a balance).
        item = Counter(
            counter_id,
            sent_at=[*sent, clock.stamp(now)],
            last_sent=last_sent,
            version=(current.version + 1) if current else 1,
            expires_ttl=now + timedelta(hours=2),
        )
        condition = Counter.version == current.version if current else Counter.counter_id.does_not_exist()
        try:
            item.save(condition=condition)
            return None
        except PutError as error:
            if not condition_failed(error):
                raise
    return 60


def give_back_sms_code(phone: str, purpose_key: str, reserved_at: datetime) -> None:
    """Undo `reserve_sms_code(phone, purpose_key, reserved_at)`: its send time leaves the hour's count
    and the purpose's 60-second gap, written only if nobody wrote since the read (as reserving is)."""
    counter_id = f"sms#{phone}"
    stamp = clock.stamp(reserved_at)
    for _ in range(_RETRIES):
        try:
            current = Counter.get(counter_id, consistent_read=True)
        except Counter.DoesNotExist:
            return
        sent = list(current.sent_at or [])
        if stamp not in sent:
            return
        sent.remove(stamp)  # one send: two reservations at the same instant stay one
        last_sent = dict(current.last_sent.as_dict()) if current.last_sent else {}
        if last_sent.get(purpose_key) == stamp:
            del last_sent[purpose_key]
        item = Counter(
            counter_id, sent_at=sent, last_sent=last_sent, version=current.version + 1, expires_ttl=current.expires_ttl
        )
        try:
            item.save(condition=Counter.version == current.version)
            return
        except PutError as error:
            if not condition_failed(error):
                raise
    logger.warning("sms count not given back: kept changing")


def give_back(key: str, *, window: timedelta, now: datetime) -> None:
    """Undo one `hit(key, window=window, now=now)`, never below zero."""
    slot = int(now.timestamp()) // int(window.total_seconds())
    try:
        Counter(f"{key}#{slot}").update(actions=[Counter.count.add(-1)], condition=Counter.count > 0)
    except UpdateError as error:
        if not condition_failed(error):
            raise


@dataclass(frozen=True)
class SmsCount:
    """A code counted by `reserve_sms_code`, to give back if it is not sent."""

    phone: str
    purpose_key: str
    at: datetime

    def give_back(self) -> None:
        give_back_sms_code(self.phone, self.purpose_key, self.at)


@dataclass(frozen=True)
class WindowCount:
    """A use counted by `hit` (or `quietly_allowed`), to give back if the code is not sent."""

    key: str
    window: timedelta
    at: datetime

    def give_back(self) -> None:
        give_back(self.key, window=self.window, now=self.at)


def hit(key: str, *, limit: int, window: timedelta, now: datetime) -> None:
    """Count one use of `key` in the current fixed window; over `limit` → 429 rate_limited."""
    seconds = int(window.total_seconds())
    slot = int(now.timestamp()) // seconds
    window_end = (slot + 1) * seconds
    forget_at = datetime.fromtimestamp(window_end + seconds, tz=UTC)
    try:
        Counter(f"{key}#{slot}").update(
            actions=[Counter.count.add(1), Counter.expires_ttl.set(forget_at)],
            condition=Counter.count.does_not_exist() | (Counter.count < limit),
        )
    except UpdateError as error:
        if condition_failed(error):
            raise OkpayError("rate_limited", retry_after=max(1, window_end - int(now.timestamp()))) from None
        raise


def quietly_allowed(key: str, *, limit: int, window: timedelta, now: datetime) -> bool:
    """Like `hit`, for routes that must answer the same whether or not anything is sent."""
    try:
        hit(key, limit=limit, window=window, now=now)
    except OkpayError:
        return False
    return True


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))
