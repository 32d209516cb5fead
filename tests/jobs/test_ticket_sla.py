"""ticket_sla: remind at 80 % of the 24 hours to the first response, escalate past it; the statuses
new, open and pending only; each notice once; batches that resume from a cursor across statuses."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

import pytest

from chalicelib.adapters import clock, outbox
from chalicelib.adapters.config import get_settings
from chalicelib.jobs import sla_runner, ticket_sla
from chalicelib.jobs.registry import run_job
from chalicelib.services.support import sla
from chalicelib.store.audit import events_of
from chalicelib.store.job_state import read_position
from chalicelib.store.tickets import Ticket, get_ticket
from chalicelib.store.users import User
from tests.helpers.users import make_user
from tests.jobs.test_dispute_sla import SUPPORT, alerts, ids_in, make_agent, run_over_http

OPENED = datetime.fromisoformat("2026-11-28T21:30:00+08:00")  # a Saturday night: calendar hours count
DUE = OPENED + timedelta(hours=24)
REMIND_AT = sla.reminder_at(OPENED, DUE)  # 19.2 h in


@pytest.fixture(autouse=True)
def _no_scans(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("Scan used")

    monkeypatch.setattr(Ticket, "scan", classmethod(refuse))
    monkeypatch.setattr(User, "scan", classmethod(refuse))


def make_ticket(user: User, *, status="new", assignee: User | None = None, opened=OPENED) -> Ticket:
    """A ticket as `POST /support/tickets` leaves it (then moved to `status` by an agent, if asked)."""
    due = opened + timedelta(hours=24)
    ticket = Ticket(
        f"tkt_{uuid.uuid4().hex}",
        status=status,
        user_id=user.user_id,
        subject="无法提现",
        category="payment",
        first_response_due=clock.stamp(due),
        sla_due=clock.stamp(sla.reminder_at(opened, due)),
        sla_stage="none",
        escalated=False,
        assignee=assignee.user_id if assignee else None,
        created_at=clock.stamp(opened),
        updated_at=clock.stamp(opened),
    )
    ticket.save()
    return ticket


def run(moment: datetime) -> dict:
    return run_job("ticket_sla", moment)


def fresh(ticket: Ticket) -> Ticket:
    return get_ticket(ticket.ticket_id)


def tickets_in(texts) -> list[str]:
    return ids_in(texts, prefix="tkt_")


def actions_of(ticket: Ticket) -> list[str]:
    return [event.action for event in events_of(f"ticket#{ticket.ticket_id}")]


def test_nothing_happens_before_the_80_percent_point(stage):
    make_ticket(make_user(locale="zh-CN"))
    result = run(REMIND_AT - timedelta(seconds=1))
    assert (result["checked"], result["reminded"], result["escalated"]) == (0, 0, 0)
    assert outbox.messages() == [] and alerts() == []


def test_at_80_percent_one_digest_per_recipient_over_every_sla_status(client):
    user = make_user(locale="zh-CN")
    agent = make_agent()
    queued = [make_ticket(user, status=status) for status in ("new", "open", "pending")]
    assigned = [make_ticket(user, status="open", assignee=agent), make_ticket(user, status="pending", assignee=agent)]

    result = run_over_http(client, REMIND_AT, job="ticket_sla")
    assert (result["checked"], result["reminded"], result["escalated"]) == (5, 5, 0)
    again = run_over_http(client, REMIND_AT + timedelta(minutes=15), job="ticket_sla")
    assert again["checked"] == 0

    (queue_mail,) = outbox.messages(SUPPORT)  # the unassigned ones, whatever their status
    assert queue_mail.subject == "Okpay 客服提醒：3 个案件即将超时"
    assert "工单" in queue_mail.body and "（北京时间）" in queue_mail.body
    assert sorted(tickets_in([queue_mail])) == sorted(t.ticket_id for t in queued)
    (digest,) = outbox.messages(agent.email)
    assert sorted(tickets_in([digest])) == sorted(t.ticket_id for t in assigned)
    assert outbox.messages(user.email) == [] and alerts() == []
    for ticket in [*queued, *assigned]:
        item = fresh(ticket)
        assert item.sla_stage == "reminded" and item.sla_due == item.first_response_due
        assert actions_of(ticket) == ["sla_reminded"]


def test_past_the_due_time_escalated_lead_alerted_once_user_told_once(stage):
    chinese = make_user(locale="zh-CN")
    texted = make_user(locale="zh-CN", email_verified=False)
    english = make_user(locale="en")
    tickets = [make_ticket(chinese), make_ticket(texted, status="open"), make_ticket(english, status="pending")]
    run(REMIND_AT)
    outbox.clear()

    result = run(DUE)  # due at the instant: escalated
    assert (result["reminded"], result["escalated"]) == (0, 3)
    for ticket in tickets:
        item = fresh(ticket)
        assert item.escalated is True and item.sla_due is None and item.sla_stage == "escalated"
        assert actions_of(ticket) == ["sla_reminded", "escalated"]

    ((subject, message),) = alerts()
    assert "3 ticket(s) escalated" in subject
    assert sorted(tickets_in([message])) == sorted(t.ticket_id for t in tickets)
    (zh,) = outbox.messages(chinese.email)
    assert zh.subject == f"Okpay 工单 {tickets[0].ticket_id} 已升级处理"
    assert "未能在 24 小时内得到答复" in zh.body
    assert len(outbox.messages(texted.email)) == 1  # not verified: the email, and a text as well
    (sms,) = outbox.messages(texted.phone)
    assert sms.body == f"【Okpay】您的工单（{tickets[1].ticket_id}）已升级由客服主管处理。详情请在 App 中查看。"
    (en,) = outbox.messages(english.email)
    assert en.subject == f"Okpay: ticket {tickets[2].ticket_id} escalated"

    assert run(DUE + timedelta(hours=2))["checked"] == 0
    assert len(outbox.messages(get_settings().support_lead_email)) == 1  # the lead's copy of the page
    assert len(outbox.messages()) == 5 and len(alerts()) == 1


def test_a_run_past_the_due_time_escalates_without_a_reminder(stage):
    user = make_user(locale="zh-CN")
    ticket = make_ticket(user)
    result = run(DUE + timedelta(days=1))
    assert (result["reminded"], result["escalated"]) == (0, 1)
    assert outbox.messages(SUPPORT) == []
    assert len(outbox.messages(user.email)) == 1
    assert actions_of(ticket) == ["escalated"]


def test_a_first_response_before_the_due_time_stops_the_clock(stage):
    ticket = make_ticket(make_user(locale="zh-CN"))
    (seen,) = Ticket.by_sla_due.query("new", Ticket.sla_due <= clock.stamp(DUE))  # the job's read
    ticket.update(  # the first agent reply, as chalicelib.services.support.tickets makes it
        actions=[
            Ticket.first_responded_at.set(clock.stamp(REMIND_AT)),
            Ticket.sla_due.remove(),
            Ticket.status.set("open"),
        ]
    )
    assert sla_runner.take_step(ticket_sla.TICKETS, seen, DUE) is None  # the stale read loses
    assert run(DUE + timedelta(hours=1))["checked"] == 0
    assert fresh(ticket).escalated is False
    assert outbox.messages() == [] and alerts() == []


def test_a_solved_ticket_is_not_touched_until_the_user_reopens_it(stage):
    user = make_user(locale="zh-CN")
    ticket = make_ticket(user, status="solved")  # solved without a reply: its SLA step stays
    assert run(DUE + timedelta(hours=1))["checked"] == 0
    assert fresh(ticket).sla_stage == "none" and fresh(ticket).escalated is False
    assert outbox.messages() == [] and alerts() == []

    ticket.update(actions=[Ticket.status.set("open")])  # the user writes again
    assert run(DUE + timedelta(hours=2))["escalated"] == 1
    assert len(outbox.messages(user.email)) == 1


def test_a_ticket_solved_after_the_job_read_it_is_left_alone(stage):
    ticket = make_ticket(make_user(locale="zh-CN"))
    (seen,) = Ticket.by_sla_due.query("new", Ticket.sla_due <= clock.stamp(DUE))
    ticket.update(actions=[Ticket.status.set("solved")])
    assert sla_runner.take_step(ticket_sla.TICKETS, seen, DUE) is None
    assert fresh(ticket).escalated is False


def test_overlapping_runs_tell_each_user_once_and_page_the_lead_per_batch(stage, monkeypatch):
    monkeypatch.setattr(sla_runner, "PAGE", 3)
    users = [make_user(locale="zh-CN") for _ in range(9)]
    tickets = [make_ticket(user, status=("new", "open", "pending")[n % 3]) for n, user in enumerate(users)]
    results: list[dict] = []
    barrier = threading.Barrier(3)

    def one_run():
        barrier.wait()
        results.append(run(DUE + timedelta(minutes=5)))

    threads = [threading.Thread(target=one_run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(result["escalated"] for result in results) == 9
    assert all(len(outbox.messages(user.email)) == 1 for user in users)
    assert sorted(tickets_in(message for _, message in alerts())) == sorted(t.ticket_id for t in tickets)
    assert all(actions_of(ticket) == ["escalated"] for ticket in tickets)


def test_the_cursor_carries_a_run_over_to_the_next_status(stage, monkeypatch):
    monkeypatch.setattr(sla_runner, "PAGE", 2)
    monkeypatch.setattr(sla_runner, "MAX_CASES", 2)  # a run stops once it has read 2 cases
    users = [make_user(locale="zh-CN") for _ in range(6)]
    statuses = ["new", "new", "new", "open", "pending", "pending"]
    tickets = [
        make_ticket(user, status=status, opened=OPENED + timedelta(minutes=n))
        for n, (user, status) in enumerate(zip(users, statuses, strict=True))
    ]
    moment = DUE + timedelta(hours=1)
    runs = [run(moment)]
    assert runs[0]["finished"] is False and '"status": "new"' in read_position("ticket_sla")
    while not runs[-1]["finished"]:
        runs.append(run(moment))
        assert len(runs) < 10
    # new ×2 | new, open | pending ×2, then stops before `new` | all three statuses empty: finished
    assert [r["escalated"] for r in runs] == [2, 2, 2, 0]
    assert read_position("ticket_sla") == ""
    assert all(fresh(ticket).escalated for ticket in tickets)
    assert all(len(outbox.messages(user.email)) == 1 for user in users)
    assert run(moment)["checked"] == 0
