"""`password_age` job (daily): one reminder per 180-day period to users whose password is old.

Users whose reminder falls due on a day are found through GSI by_password_review_day (no Scan).
Each user's review day is moved on 180 days with a conditional write *before* the reminder goes
out, so overlapping or repeated runs remind nobody twice. Days missed while the job did not run
are caught up (at most a week back); a run handles at most MAX_USERS and the next one resumes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.i18n.locale import DEFAULT_LOCALE
from chalicelib.services.common import notice_outbox
from chalicelib.services.identity.password_age import PERIOD, change_recommended
from chalicelib.store.conditions import condition_failed
from chalicelib.store.job_state import read_position, save_position
from chalicelib.store.users import User, get_user

JOB = "password_age"
CATCH_UP_DAYS = 7
MAX_USERS = 500


def run(now: datetime) -> dict[str, Any]:
    today = clock.to_shanghai(now).date()
    done = read_position(JOB)
    first = max(date.fromisoformat(done) + timedelta(days=1), today - timedelta(days=CATCH_UP_DAYS)) if done else today
    reminded, checked, days = 0, 0, []
    day = first
    while day <= today:
        finished, day_checked, day_reminded = _remind_due_on(day, now, budget=MAX_USERS - checked)
        checked += day_checked
        reminded += day_reminded
        days.append(day.isoformat())
        if not finished:
            break
        save_position(JOB, day.isoformat(), clock.stamp(now))
        day += timedelta(days=1)
    return {"ran_at": clock.isoformat(now), "days": days, "checked": checked, "reminded": reminded}


def _remind_due_on(day: date, now: datetime, *, budget: int) -> tuple[bool, int, int]:
    checked = reminded = 0
    for key in User.by_password_review_day.query(day.isoformat()):
        if checked >= budget:
            return False, checked, reminded
        checked += 1
        user = get_user(key.user_id)
        if user is None or user.status != "active" or user.password_review_day != day.isoformat():
            continue
        if _claim_reminder(user, day) and change_recommended(user, now):
            _send_reminder(user, now)
            reminded += 1
    return True, checked, reminded


def _claim_reminder(user: User, day: date) -> bool:
    """Move the user's review day on by a period; False if another run already did."""
    try:
        user.update(
            actions=[User.password_review_day.set((day + PERIOD).isoformat())],
            condition=User.password_review_day == day.isoformat(),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _send_reminder(user: User, now: datetime) -> None:
    """Recorded in the notice outbox right after the claim that moved the review day (the change), then
    sent; `notify_dispatch` retries a failed send."""
    days, locale = PERIOD.days, user.locale or DEFAULT_LOCALE
    if user.email and user.email_verified:
        reminder = notice_outbox.email(user.email, "password_age_email", locale, now, days=days)
    elif user.phone:
        reminder = notice_outbox.sms(user.phone, "password_age_sms", locale, now, days=days)
    else:
        return
    if notice_outbox.deliver([reminder], now):
        logger.info("password age reminder recorded", extra={"user_id": user.user_id, "event": "password_age_reminder"})
