"""password_age: one reminder per 180-day period, in the user's language; never twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.adapters import clock, outbox
from chalicelib.store.users import User
from tests.helpers.http import body_of, post_json
from tests.helpers.users import make_user

CHANGED = datetime.fromisoformat("2026-01-10T09:00:00+08:00")


def run_at(client, moment):
    response = post_json(client, "/_local/jobs/password_age", {"now": moment})
    assert response.status_code == 200
    return body_of(response)["result"]


def test_nobody_is_reminded_before_180_days(client):
    make_user(user_id="usr_a001", password_changed_at=CHANGED)
    result = run_at(client, "2026-07-08T10:00:00+08:00")  # day 179
    assert result["reminded"] == 0
    assert outbox.messages() == []


def test_the_reminder_goes_once_on_the_due_day_in_the_users_language(client):
    make_user(user_id="usr_a002", password_changed_at=CHANGED, locale="zh-CN")
    make_user(
        user_id="usr_a003", password_changed_at=CHANGED, locale="en", email_verified=False, phone="+8613800138003"
    )
    due = (CHANGED + timedelta(days=180)).date().isoformat()
    first = run_at(client, f"{due}T10:00:00+08:00")
    assert first["reminded"] == 2
    (email,) = outbox.messages("usr_a002@example.com")
    assert email.subject == "Okpay 提醒：建议更新密码" and "180" in email.body
    (sms,) = outbox.messages("+8613800138003")  # no verified email: by SMS
    assert "180 days" in sms.body
    again = run_at(client, f"{due}T11:00:00+08:00")
    assert again["reminded"] == 0
    assert len(outbox.messages()) == 2


def test_a_missed_day_is_caught_up_and_the_next_period_reminds_again(client):
    make_user(user_id="usr_a004", password_changed_at=CHANGED)
    due = CHANGED + timedelta(days=180)
    run_at(client, (due - timedelta(days=2)).isoformat())  # the job ran two days before
    assert run_at(client, (due + timedelta(days=2)).isoformat())["reminded"] == 1  # then was down on the day
    assert run_at(client, (due + timedelta(days=181)).isoformat())["reminded"] == 1
    assert len(outbox.messages("usr_a004@example.com")) == 2


def test_closed_accounts_and_fresh_passwords_get_nothing(client):
    make_user(user_id="usr_a005", password_changed_at=CHANGED, status="closed")
    user = make_user(user_id="usr_a006", password_changed_at=CHANGED)
    user.update(actions=[User.password_changed_at.set(clock.stamp(CHANGED + timedelta(days=100)))])
    due = (CHANGED + timedelta(days=180)).isoformat()
    assert run_at(client, due)["reminded"] == 0
    assert outbox.messages() == []
