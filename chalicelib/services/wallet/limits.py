"""What a user may send and how much is left: the one place that answers it.

Levels follow the PBOC classes of payment accounts (2015 No. 43). Caps are in CNY minor units and
count payments and transfers in CNY equivalent; conversions and withdrawals to the user's own
same-name card do not count. Windows are read in Asia/Shanghai: `lifetime` since the account was
opened, `year` the calendar year. Usage lives in counters (`limit#<user>#<window id>`) that every
money movement updates inside its own transaction, so a limit cannot be raced past.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.services.common.money import BASE_CURRENCY
from chalicelib.store.counters import Counter


@dataclass(frozen=True)
class LevelRule:
    window: str | None  # None: may not send at all
    cap: int  # CNY minor units


# Configuration: change here, nowhere else.
LEVEL_RULES: dict[int, LevelRule] = {
    0: LevelRule(window=None, cap=0),
    1: LevelRule(window="lifetime", cap=1_000_00),
    2: LevelRule(window="year", cap=100_000_00),
    3: LevelRule(window="year", cap=200_000_00),
}


@dataclass(frozen=True)
class Allowance:
    level: int
    can_send: bool
    window: str | None
    cap: int
    used: int
    remaining: int
    resets_at: datetime | None
    counter_id: str | None

    def as_limit(self) -> dict:
        return {
            "window": self.window,
            "cap": self.cap,
            "used": self.used,
            "remaining": self.remaining,
            "resets_at": clock.isoformat(self.resets_at) if self.resets_at else None,
        }

    def exceeded_details(self) -> dict:
        return {
            "remaining": {"amount": self.remaining, "currency": BASE_CURRENCY},
            "window": self.window,
            "resets_at": clock.isoformat(self.resets_at) if self.resets_at else None,
        }


def window_of(level: int, now: datetime) -> tuple[str | None, str | None, datetime | None]:
    """(window name, window id for counters, when it resets) for a level at `now`."""
    rule = LEVEL_RULES[level]
    if rule.window == "lifetime":
        return "lifetime", "lifetime", None
    if rule.window == "year":
        year = clock.to_shanghai(now).year
        resets = datetime(year + 1, 1, 1, tzinfo=clock.SHANGHAI)
        return "year", f"year#{year}", resets
    return None, None, None


def limit_counter_id(user_id: str, window_id: str) -> str:
    return f"limit#{user_id}#{window_id}"


def allowance(user_id: str, level: int, now: datetime) -> Allowance:
    """The allowance, reading the usage counter."""
    _, window_id, _ = window_of(level, now)
    used = 0
    if window_id:
        try:
            used = int(Counter.get(limit_counter_id(user_id, window_id), consistent_read=True).count)
        except Counter.DoesNotExist:
            used = 0
    return allowance_from(user_id, level, used, now)


def allowance_from(user_id: str, level: int, used: int, now: datetime) -> Allowance:
    """The allowance, given the usage already read (money-out reads it with everything else)."""
    rule = LEVEL_RULES[level]
    window, window_id, resets_at = window_of(level, now)
    if window is None:
        return Allowance(level, False, None, 0, 0, 0, None, None)
    counter_id = limit_counter_id(user_id, window_id)
    return Allowance(level, True, window, rule.cap, used, max(0, rule.cap - used), resets_at, counter_id)


def counter_keys(user_id: str, now: datetime) -> list[str]:
    """The counters of both windows: which one applies is not known before the KYC case is read."""
    return [limit_counter_id(user_id, window_of(level, now)[1]) for level in (1, 2)]


def count_in(work: Any, user_id: str, level: int, cny: int, now: datetime) -> None:
    """Add `cny` to the user's usage inside `work` (a unit of work); the level's cap holds at commit.

    Both windows always count, so a user who moves from level 1 (lifetime) to level 2 (year)
    mid-year has this year's earlier spending in the new window too.
    """
    rule = LEVEL_RULES[level]
    _, active, _ = window_of(level, now)
    for window_id in (window_of(1, now)[1], window_of(2, now)[1]):
        # The cap holds even against a concurrent movement that passed the same check.
        capped = window_id == active
        work.update(
            Counter(limit_counter_id(user_id, window_id)),
            actions=[Counter.count.add(cny)],
            condition=(Counter.count.does_not_exist() | (Counter.count <= rule.cap - cny)) if capped else None,
        )
