"""Mainland-China working days (Asia/Shanghai), for dispute response deadlines.

Working days follow the State Council's published holiday schedule, make-up working days (调休)
included. `chinesecalendar` is the source of truth for the years it carries; `holidays` covers a
year it has published that `chinesecalendar` has not yet. A year neither has published falls back
to Monday–Friday minus the fixed statutory holidays, and operators are alerted once per process so
the libraries get updated: deadlines in that year may be off by the make-up days not yet announced.

`holidays` (~20 ms to import) is imported on first use, to keep the Lambda cold start short;
`chinesecalendar` (~3 ms) at import.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from chalicelib.adapters import notify
from chalicelib.adapters.logging import logger

SHANGHAI = ZoneInfo("Asia/Shanghai")
CUTOFF = time(17, 30)  # filed at or after 17:30 Shanghai time → starts the next working day
END_OF_DAY = time(23, 59, 59)

_lock = threading.Lock()
_unpublished_seen: set[int] = set()


def _days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year, 12, 31) - first).days + 1)]


def _chinese_calendar_has(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:  # how it says the year is outside its data
        return False
    return True


def _holidays_has(year: int) -> bool:
    import holidays  # deferred: heavy (holidays ~20 ms; only a year chinesecalendar lacks)

    # `holidays` lists China's schedule per year as special (substituted) days off; a year without an
    # entry only has the statutory days plus its own "(observed)" estimates, which are not official.
    return year in holidays.country_holidays("CN", years=year).special_public_holidays


@lru_cache(maxsize=64)
def is_published(year: int) -> bool:
    """True when the official schedule for `year` is known to one of the libraries."""
    return _chinese_calendar_has(year) or _holidays_has(year)


@lru_cache(maxsize=64)
def _working_days(year: int) -> frozenset[date]:
    """Every working day of `year`, computed once so a lookup is a set membership test."""
    if _chinese_calendar_has(year):
        return frozenset(day for day in _days_of(year) if chinese_calendar.is_workday(day))

    import holidays  # deferred: heavy (holidays ~20 ms; only a year chinesecalendar lacks)

    if _holidays_has(year):
        # The default (observed) rules reproduce the official schedule for published years; the
        # make-up Saturdays/Sundays of many years are mixed in one set, so keep this year's only.
        calendar = holidays.country_holidays("CN", years=year)
        make_up = {day for day in calendar.weekend_workdays if day.year == year}
        return frozenset(day for day in _days_of(year) if (day.weekday() < 5 and day not in calendar) or day in make_up)

    _report_unpublished(year)
    # observed=False: only the statutory days, not the library's guesses at the year's extra days off.
    statutory = holidays.country_holidays("CN", years=year, observed=False)
    return frozenset(day for day in _days_of(year) if day.weekday() < 5 and day not in statutory)


def _report_unpublished(year: int) -> None:
    with _lock:
        if year in _unpublished_seen:
            return
        _unpublished_seen.add(year)
    logger.warning(
        "working-day calendar not published; using weekdays minus statutory holidays",
        extra={"metric": "calendar_unpublished_year", "year": year},
    )
    try:
        notify.alert_operators(
            f"China holiday schedule for {year} is not in the calendar libraries",
            f"Dispute deadlines in {year} count Monday–Friday minus the fixed statutory holidays, without "
            "make-up working days (调休). Update chinesecalendar and holidays once the State Council "
            f"publishes the {year} schedule.",
        )
    except Exception:  # an alert that cannot be sent must not fail the request computing a deadline
        logger.exception("calendar alert failed", extra={"year": year})


def unpublished_years_seen() -> set[int]:
    """Years this process has fallen back for (a copy)."""
    with _lock:
        return set(_unpublished_seen)


def _reset() -> None:
    """Forget cached years and alerts already sent (tests only)."""
    with _lock:
        _unpublished_seen.clear()
    _working_days.cache_clear()
    is_published.cache_clear()


def is_working_day(day: date) -> bool:
    return day in _working_days(day.year)


def next_working_day(day: date) -> date:
    """The first working day strictly after `day`."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, n: int) -> date:
    """The n-th working day strictly after `day` (n >= 1)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    for _ in range(n):
        day = next_working_day(day)
    return day


def start_day(filed_at: datetime) -> date:
    """The filing date in Shanghai when that is a working day and it was before 17:30, else the next working day."""
    if filed_at.tzinfo is None or filed_at.utcoffset() is None:
        raise ValueError("filed_at must be timezone-aware")
    local = filed_at.astimezone(SHANGHAI)
    if is_working_day(local.date()) and local.time() < CUTOFF:
        return local.date()
    return next_working_day(local.date())


def respond_by(filed_at: datetime, working_days: int = 3) -> datetime:
    """23:59:59 Shanghai time on the `working_days`-th working day after the start day, as an aware UTC datetime."""
    deadline = add_working_days(start_day(filed_at), working_days)
    return datetime.combine(deadline, END_OF_DAY, tzinfo=SHANGHAI).astimezone(UTC)
