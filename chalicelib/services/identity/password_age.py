"""Password age (NIST SP 800-63B): after 180 days recommend a change and remind once; never force.

Each user carries `password_review_day`, the Shanghai date its next reminder is due, indexed by
GSI by_password_review_day; the daily job queries the days since its last run (no Scan) and moves
each reminded user's day 180 days on, so one period gets one reminder.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from chalicelib.adapters import clock
from chalicelib.store.users import User

PERIOD = timedelta(days=180)


def change_recommended(user: User, now: datetime) -> bool:
    if not user.password_changed_at:
        return False
    return now - clock.from_stamp(user.password_changed_at) >= PERIOD


def review_day(changed_at: datetime) -> date:
    return clock.to_shanghai(changed_at + PERIOD).date()


def schedule_review(user: User, changed_at: datetime, *, save: bool = False) -> None:
    """Set the day the next reminder falls due (on `user`, and in the table when `save`)."""
    day = review_day(changed_at).isoformat()
    user.password_review_day = day
    user.user_id_sort = user.user_id
    if save:
        user.update(actions=[User.password_review_day.set(day), User.user_id_sort.set(user.user_id)])
