"""Working days in mainland China (Asia/Shanghai) and the dispute `respond_by` deadline built on them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays
import pytest

from chalicelib.adapters import business_calendar as calendar
from chalicelib.adapters import notify

CST = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Each test starts with no cached years and no unpublished-year alert sent yet."""
    calendar._reset()
    yield
    calendar._reset()


@pytest.fixture
def alerts(monkeypatch):
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(notify, "alert_operators", lambda title, detail: sent.append((title, detail)))
    return sent


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def deadline_in_shanghai(filed_at: datetime) -> datetime:
    return calendar.respond_by(filed_at).astimezone(CST)


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year, 12, 31) - first).days + 1)]


def chinese_calendar_publishes(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def holidays_publishes(year: int) -> bool:
    return year in holidays.country_holidays("CN", years=year).special_public_holidays


def holidays_working_day(calendar_of_year: holidays.HolidayBase, day: date) -> bool:
    make_up = {d for d in calendar_of_year.weekend_workdays if d.year == day.year}
    return (day.weekday() < 5 and day not in calendar_of_year) or day in make_up


# 2025 and 2026 must always be checked; the current and next year join as soon as both libraries publish them.
_THIS_YEAR = date.today().year
AGREEMENT_YEARS = sorted(
    {2025, 2026} | {y for y in (_THIS_YEAR, _THIS_YEAR + 1) if chinese_calendar_publishes(y) and holidays_publishes(y)}
)


@pytest.mark.parametrize("year", AGREEMENT_YEARS)
def test_both_libraries_and_the_calendar_agree_on_every_day(year, alerts):
    assert chinese_calendar_publishes(year) and holidays_publishes(year)
    assert calendar.is_published(year)
    other = holidays.country_holidays("CN", years=year)
    disagreements = [
        day
        for day in days_of(year)
        if not chinese_calendar.is_workday(day) == holidays_working_day(other, day) == calendar.is_working_day(day)
    ]
    assert disagreements == []
    assert alerts == []
    assert calendar.unpublished_years_seen() == set()


def test_2027_is_not_published_yet():
    """Assumption as of 2026-11-25: neither library carries the 2027 schedule.

    When this fails a library update has published 2027: check the agreement test now covers it (it
    does once both libraries publish it), then move this test on to the next unpublished year.
    """
    assert not chinese_calendar_publishes(2027), "chinesecalendar now publishes 2027: re-check agreement"
    assert not holidays_publishes(2027), "holidays now publishes 2027: re-check agreement"
    assert calendar.is_published(2027) is False


def test_a_year_neither_library_publishes_is_reported_unpublished():
    assert not chinese_calendar_publishes(2000) and not holidays_publishes(2000)
    assert calendar.is_published(2000) is False


def test_a_year_only_holidays_publishes_uses_its_schedule(alerts):
    # chinesecalendar starts in 2004; holidays has 2003: Oct 1–7 off, Saturday/Sunday Sep 27–28 worked.
    assert not chinese_calendar_publishes(2003) and holidays_publishes(2003)
    assert calendar.is_published(2003)
    assert calendar.is_working_day(date(2003, 9, 27)) and calendar.is_working_day(date(2003, 9, 28))
    assert not calendar.is_working_day(date(2003, 10, 6)) and not calendar.is_working_day(date(2003, 10, 7))
    assert calendar.is_working_day(date(2003, 10, 8))
    assert alerts == []


def test_make_up_days_and_holidays_around_2025_national_day():
    assert calendar.is_working_day(date(2025, 9, 28))  # Sunday, make-up day
    assert calendar.is_working_day(date(2025, 10, 11))  # Saturday, make-up day
    assert not any(calendar.is_working_day(date(2025, 10, d)) for d in range(1, 9))
    assert calendar.next_working_day(date(2025, 9, 30)) == date(2025, 10, 9)
    assert calendar.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)
    assert calendar.add_working_days(date(2025, 10, 9), 3) == date(2025, 10, 13)


def test_add_working_days_needs_at_least_one():
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2025, 9, 30), 0)


def test_filed_on_a_working_day_before_cutoff_starts_that_day():
    # Sep 30 (Tue) → Oct 9, Oct 10, Oct 11 (Saturday make-up day).
    assert calendar.start_day(shanghai("2025-09-30T10:00:00")) == date(2025, 9, 30)
    assert deadline_in_shanghai(shanghai("2025-09-30T10:00:00")) == shanghai("2025-10-11T23:59:59")


def test_filed_at_the_cutoff_starts_the_next_working_day():
    # Start Oct 9 → Oct 10, Oct 11 (make-up), Oct 13.
    assert calendar.start_day(shanghai("2025-09-30T17:30:00")) == date(2025, 10, 9)
    assert deadline_in_shanghai(shanghai("2025-09-30T17:30:00")) == shanghai("2025-10-13T23:59:59")


def test_one_second_before_the_cutoff_still_counts_that_day():
    assert calendar.start_day(shanghai("2025-11-12T17:29:59")) == date(2025, 11, 12)
    assert deadline_in_shanghai(shanghai("2025-11-12T17:29:59")) == shanghai("2025-11-17T23:59:59")
    assert calendar.start_day(shanghai("2025-11-12T17:30:00")) == date(2025, 11, 13)
    assert deadline_in_shanghai(shanghai("2025-11-12T17:30:00")) == shanghai("2025-11-18T23:59:59")


def test_filed_on_an_ordinary_sunday_starts_monday():
    assert calendar.start_day(shanghai("2025-09-21T10:00:00")) == date(2025, 9, 22)
    assert deadline_in_shanghai(shanghai("2025-09-21T10:00:00")) == shanghai("2025-09-25T23:59:59")


def test_filed_on_a_make_up_sunday_before_cutoff_starts_that_day():
    # Sunday 2025-09-28 was worked. Start Sep 28 → Sep 29, Sep 30, Oct 9.
    assert calendar.start_day(shanghai("2025-09-28T10:00:00")) == date(2025, 9, 28)
    assert deadline_in_shanghai(shanghai("2025-09-28T10:00:00")) == shanghai("2025-10-09T23:59:59")
    # After the cutoff: start Sep 29 → Sep 30, Oct 9, Oct 10.
    assert calendar.start_day(shanghai("2025-09-28T18:00:00")) == date(2025, 9, 29)
    assert deadline_in_shanghai(shanghai("2025-09-28T18:00:00")) == shanghai("2025-10-10T23:59:59")


def test_a_make_up_sunday_counts_inside_the_window():
    # Wed Sep 24 → Sep 25, Sep 26, Sep 28 (Sunday make-up day).
    assert deadline_in_shanghai(shanghai("2025-09-24T09:00:00")) == shanghai("2025-09-28T23:59:59")


def test_2026_spring_festival():
    # Fri Feb 13 → Feb 14 (Saturday make-up), Feb 15–23 off, Feb 24, Feb 25.
    assert calendar.is_working_day(date(2026, 2, 14)) and calendar.is_working_day(date(2026, 2, 28))
    assert not any(calendar.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert deadline_in_shanghai(shanghai("2026-02-13T09:00:00")) == shanghai("2026-02-25T23:59:59")


def test_filed_at_in_utc_is_read_in_shanghai():
    # 09:30Z is 17:30 in Shanghai: the cutoff.
    assert calendar.start_day(datetime(2025, 9, 30, 9, 30, tzinfo=UTC)) == date(2025, 10, 9)
    assert deadline_in_shanghai(datetime(2025, 9, 30, 9, 30, tzinfo=UTC)) == shanghai("2025-10-13T23:59:59")
    assert deadline_in_shanghai(datetime(2025, 9, 30, 9, 29, 59, tzinfo=UTC)) == shanghai("2025-10-11T23:59:59")
    # Monday evening in New York is already Tuesday morning in Shanghai.
    new_york = datetime(2025, 9, 29, 22, 0, tzinfo=ZoneInfo("America/New_York"))
    assert calendar.start_day(new_york) == date(2025, 9, 30)


def test_a_naive_filing_time_is_refused():
    with pytest.raises(ValueError):
        calendar.start_day(datetime(2025, 9, 30, 10, 0))


def test_respond_by_is_utc_and_ends_the_shanghai_day():
    result = calendar.respond_by(shanghai("2025-09-30T10:00:00.123456"))
    assert result.tzinfo is UTC
    assert result == datetime(2025, 10, 11, 15, 59, 59, tzinfo=UTC)
    assert result.microsecond == 0
    assert result.astimezone(CST).isoformat() == "2025-10-11T23:59:59+08:00"


def test_the_working_days_argument_is_honoured():
    assert deadline_in_shanghai(shanghai("2025-09-30T10:00:00")) == shanghai("2025-10-11T23:59:59")
    assert calendar.respond_by(shanghai("2025-09-30T10:00:00"), working_days=1).astimezone(CST) == shanghai(
        "2025-10-09T23:59:59"
    )


def test_a_window_into_an_unpublished_year_falls_back_and_alerts_once(alerts, log_lines):
    # Wed 2026-12-30 → Dec 31, (Jan 1 2027 statutory holiday), Mon Jan 4, Tue Jan 5.
    assert deadline_in_shanghai(shanghai("2026-12-30T10:00:00")) == shanghai("2027-01-05T23:59:59")
    assert calendar.unpublished_years_seen() == {2027}
    assert len(alerts) == 1 and "2027" in alerts[0][0]
    metrics = [json.loads(line) for line in log_lines() if "calendar_unpublished_year" in line]
    assert [(m["metric"], m["year"]) for m in metrics] == [("calendar_unpublished_year", 2027)]

    calendar._working_days.cache_clear()  # even when the year is computed again, the process alerted already
    assert deadline_in_shanghai(shanghai("2026-12-31T10:00:00")) == shanghai("2027-01-06T23:59:59")
    assert calendar.is_working_day(date(2027, 3, 1))
    assert len(alerts) == 1
    assert len([line for line in log_lines() if "calendar_unpublished_year" in line]) == 1


def test_the_fallback_is_weekdays_minus_the_statutory_holidays_only(alerts):
    off_weekdays = {day for day in days_of(2027) if day.weekday() < 5 and not calendar.is_working_day(day)}
    # New Year's Day, Spring Festival eve and day 3 (day 1–2 are a weekend), Qingming, Dragon Boat,
    # Mid-Autumn, National Day Oct 1. No estimated "(observed)" days such as Feb 9–10, May 3–4, Oct 4–5.
    assert off_weekdays == {
        date(2027, 1, 1),
        date(2027, 2, 5),
        date(2027, 2, 8),
        date(2027, 4, 5),
        date(2027, 6, 9),
        date(2027, 9, 15),
        date(2027, 10, 1),
    }
    assert not any(calendar.is_working_day(day) for day in days_of(2027) if day.weekday() >= 5)
    assert len(alerts) == 1


def test_a_failing_alert_does_not_fail_the_deadline(monkeypatch, log_lines):
    def broken(title: str, detail: str) -> None:
        raise RuntimeError("sns down")

    monkeypatch.setattr(notify, "alert_operators", broken)
    assert deadline_in_shanghai(shanghai("2026-12-30T10:00:00")) == shanghai("2027-01-05T23:59:59")
    assert calendar.unpublished_years_seen() == {2027}
    assert any(json.loads(line)["message"] == "calendar alert failed" for line in log_lines())
