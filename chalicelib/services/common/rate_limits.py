"""Rate limits kept in DynamoDB, so every Lambda instance sees the same counts.

- SMS codes, per phone number: one per purpose and object a minute, ten an hour (sliding).
  Notices are not counted here (they have their own quiet cap).
- Fixed windows for everything else (per client IP, per account): `hit(...)`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.adapters import clock
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
