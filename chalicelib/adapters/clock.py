"""The one clock business code reads.

In the local stage `PUT /_local/clock` sets a test clock that then runs on from the time given, so
every deadline, expiry and limit window moves with it. TOTP is the exception: authenticator apps
follow real time, so that code reads `real_now()`.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The instants the app accepts: datetime arithmetic and ISO offsets stay well-defined inside them.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)

_lock = threading.Lock()
_offset: timedelta | None = None  # test clock minus real time, when a test clock is set


def real_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """The current time (UTC, aware), from the test clock when one is set."""
    offset = _offset
    current = real_now()
    return current + offset if offset is not None else current


def set_test_clock(moment: datetime) -> None:
    global _offset
    with _lock:
        _offset = moment.astimezone(UTC) - real_now()


def clear_test_clock() -> None:
    global _offset
    with _lock:
        _offset = None


def test_clock_is_set() -> bool:
    return _offset is not None


def to_shanghai(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


def shanghai_day(moment: datetime) -> str:
    """The Asia/Shanghai calendar day of `moment` as YYYYMMDD: daily caps and budgets reset at its midnight."""
    return to_shanghai(moment).strftime("%Y%m%d")


def isoformat(moment: datetime) -> str:
    """ISO 8601 with the +08:00 offset users read their times in, to the second."""
    return to_shanghai(moment).isoformat(timespec="seconds")


def stamp(moment: datetime) -> str:
    """How times are stored: UTC, fixed width with microseconds, so stored strings sort by time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def parse_instant(text: str) -> datetime:
    """Parse ISO 8601; a time without an offset is read in Asia/Shanghai, as every calendar rule is."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"instant out of range: {text!r}") from None
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"instant out of range: {text!r}")
    return moment
