"""dispute_sla: remind at 80 % of the window to respond_by, escalate past it; each notice once, in
the right language, from a Query (never a Scan), in batches that resume from a cursor."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import datetime, timedelta

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from chalicelib.adapters import clock, outbox
from chalicelib.adapters.config import get_settings
from chalicelib.jobs import dispute_sla, sla_runner
from chalicelib.jobs.registry import run_job
from chalicelib.services.support import sla
from chalicelib.store.audit import events_of
from chalicelib.store.disputes import Dispute, get_dispute
from chalicelib.store.job_state import read_position
from chalicelib.store.tickets import Ticket
from chalicelib.store.users import User
from tests.helpers.http import body_of, post_json
from tests.helpers.users import make_user

REGION = "ap-southeast-1"
FILED = datetime.fromisoformat("2026-11-23T10:00:00+08:00")  # a Monday
RESPOND_BY = datetime.fromisoformat("2026-11-26T23:59:59+08:00")  # the 3rd working day after
REMIND_AT = sla.reminder_at(FILED, RESPOND_BY)
SUPPORT = "support@okpay.local"


@pytest.fixture(autouse=True)
def _no_scans(monkeypatch):
    """The jobs read what is due through GSI by_sla_due; a Scan anywhere fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("Scan used")

    monkeypatch.setattr(Dispute, "scan", classmethod(refuse))
    monkeypatch.setattr(Ticket, "scan", classmethod(refuse))
    monkeypatch.setattr(User, "scan", classmethod(refuse))


# --- making cases -----------------------------------------------------------------------------


def make_agent(locale="zh-CN") -> User:
    return make_user(locale=locale, role="agent")


def make_dispute(user: User, *, assignee: User | None = None, filed=FILED, respond_by=RESPOND_BY) -> Dispute:
    """A dispute as `POST /disputes` leaves it."""
    dispute = Dispute(
        f"dsp_{uuid.uuid4().hex}",
        status="open",
        user_id=user.user_id,
        transaction_id=f"txn_{uuid.uuid4().hex}",
        transaction_type="payment",
        reason="not_received",
        description="never arrived",
        amount=5000,
        currency="CNY",
        respond_by=clock.stamp(respond_by),
        sla_due=clock.stamp(sla.reminder_at(filed, respond_by)),
        sla_stage="none",
        escalated=False,
        assignee=assignee.user_id if assignee else None,
        created_at=clock.stamp(filed),
        updated_at=clock.stamp(filed),
    )
    dispute.save()
    return dispute


def agent_replies(dispute: Dispute, at: datetime) -> None:
    """What the first agent reply does to the item (chalicelib.services.support.dispute_desk.reply)."""
    dispute.update(
        actions=[
            Dispute.status.set("under_review"),
            Dispute.agent_replied_at.set(clock.stamp(at)),
            Dispute.sla_due.remove(),
            Dispute.updated_at.set(clock.stamp(at)),
        ]
    )


# --- reading what happened --------------------------------------------------------------------


def run(moment: datetime) -> dict:
    return run_job("dispute_sla", moment)


def run_over_http(client, moment: datetime, job: str = "dispute_sla") -> dict:
    response = post_json(client, f"/_local/jobs/{job}", {"now": moment.isoformat()})
    assert response.status_code == 200, response.body
    body = body_of(response)
    assert body["job"] == job
    return body["result"]


def alerts() -> list[tuple[str, str]]:
    """(subject, message) of every publish to the alert topic (the support lead)."""
    topic = sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[get_settings().alert_topic_arn]
    return [(notification[2], notification[1]) for notification in topic.sent_notifications]


def mail_to(address: str) -> list[outbox.OutboxMessage]:
    return outbox.messages(address)


def ids_in(texts, prefix="dsp_") -> list[str]:
    """Every case id named in these messages (or texts), with repeats."""
    found = []
    for text in texts:
        found += re.findall(prefix + r"[0-9a-f]{32}", text if isinstance(text, str) else text.body)
    return found


def fresh(dispute: Dispute) -> Dispute:
    return get_dispute(dispute.dispute_id)


def actions_of(dispute: Dispute) -> list[str]:
    return [event.action for event in events_of(f"dispute#{dispute.dispute_id}")]


# --- the tests --------------------------------------------------------------------------------


def test_nothing_happens_before_the_80_percent_point(stage):
    make_dispute(make_user(locale="zh-CN"), assignee=make_agent())
    result = run(REMIND_AT - timedelta(minutes=1))
    assert result["checked"] == 0 and result["reminded"] == 0 and result["escalated"] == 0
    assert result["finished"] is True
    assert outbox.messages() == [] and alerts() == []


def test_at_80_percent_the_assignee_gets_one_digest_and_the_queue_gets_the_unassigned(client):
    agent = make_agent(locale="en")
    user = make_user(locale="zh-CN")
    mine = [make_dispute(user, assignee=agent), make_dispute(user, assignee=agent)]
    unassigned = make_dispute(user)

    result = run_over_http(client, REMIND_AT)
    assert (result["checked"], result["reminded"], result["escalated"]) == (3, 3, 0)

    (digest,) = mail_to(agent.email)  # one email for both cases
    assert digest.subject == "Okpay support: 2 case(s) due soon"
    assert sorted(ids_in([digest])) == sorted(d.dispute_id for d in mine)
    assert "2026-11-26 23:59 (Beijing time)" in digest.body
    (queue_mail,) = mail_to(SUPPORT)
    assert queue_mail.subject == "Okpay 客服提醒：1 个案件即将超时"  # the support mailbox reads Chinese
    assert ids_in([queue_mail]) == [unassigned.dispute_id]
    assert mail_to(user.email) == []  # a reminder is for staff only
    assert alerts() == []

    for dispute in [*mine, unassigned]:
        item = fresh(dispute)
        assert item.sla_stage == "reminded" and item.sla_due == item.respond_by and item.escalated is False
        assert item.updated_at == dispute.updated_at  # nothing the user sees changed
        assert actions_of(dispute) == ["sla_reminded"]

    again = run_over_http(client, REMIND_AT + timedelta(minutes=15))
    assert again["checked"] == 0 and again["reminded"] == 0
    assert len(outbox.messages()) == 2


def test_past_respond_by_the_case_is_escalated_the_lead_alerted_once_and_each_user_told_once(stage):
    agent = make_agent()
    chinese = make_user(locale="zh-CN")
    english = make_user(locale="en")
    texted = make_user(locale="zh-CN", email_verified=False)
    cases = [make_dispute(chinese, assignee=agent), make_dispute(english), make_dispute(texted)]
    run(REMIND_AT)
    outbox.clear()

    result = run(RESPOND_BY + timedelta(seconds=1))
    assert (result["checked"], result["reminded"], result["escalated"]) == (3, 0, 3)

    for dispute in cases:
        item = fresh(dispute)
        assert item.escalated is True and item.sla_stage == "escalated" and item.sla_due is None
        assert item.status == "open"  # still waiting for an agent, now flagged
        assert item.updated_at == clock.stamp(RESPOND_BY + timedelta(seconds=1))
        assert actions_of(dispute) == ["sla_reminded", "escalated"]
        (event,) = [e for e in events_of(f"dispute#{dispute.dispute_id}") if e.action == "escalated"]
        assert event.actor == "job#dispute_sla"

    ((subject, message),) = alerts()  # one page to the lead for the whole batch
    assert "3 dispute(s) escalated" in subject
    assert sorted(ids_in([message])) == sorted(d.dispute_id for d in cases)

    (zh,) = mail_to(chinese.email)
    assert zh.subject == f"Okpay 申诉 {cases[0].dispute_id} 已升级处理"
    assert "未能在承诺时间内得到答复" in zh.body
    (en,) = mail_to(english.email)
    assert en.subject == f"Okpay: appeal {cases[1].dispute_id} escalated"
    assert len(mail_to(texted.email)) == 1
    (sms,) = outbox.messages(texted.phone)  # the email is not verified: a text as well
    assert sms.body == f"【Okpay】您的申诉（{cases[2].dispute_id}）已升级由客服主管处理。详情请在 App 中查看。"
    assert mail_to(agent.email) == [] and mail_to(SUPPORT) == []
    (lead,) = mail_to(get_settings().support_lead_email)  # the configured address gets the same page
    assert "3 dispute(s) escalated" in lead.subject
    assert sorted(ids_in([lead.body])) == sorted(d.dispute_id for d in cases)

    again = run(RESPOND_BY + timedelta(hours=1))
    assert again["checked"] == 0 and again["escalated"] == 0
    assert len(outbox.messages()) == 5 and len(alerts()) == 1


def test_a_run_that_starts_past_the_deadline_escalates_without_a_late_reminder(stage):
    agent = make_agent()
    user = make_user(locale="zh-CN")
    dispute = make_dispute(user, assignee=agent)
    result = run(RESPOND_BY + timedelta(days=2))
    assert (result["reminded"], result["escalated"]) == (0, 1)
    assert mail_to(agent.email) == [] and mail_to(SUPPORT) == []
    assert len(mail_to(user.email)) == 1 and len(alerts()) == 1
    assert actions_of(dispute) == ["escalated"]


def test_a_dispute_the_agent_answered_is_never_escalated(stage):
    agent = make_agent()
    user = make_user(locale="zh-CN")
    answered = make_dispute(user, assignee=agent)
    run(REMIND_AT)
    agent_replies(answered, REMIND_AT + timedelta(hours=1))
    outbox.clear()

    result = run(RESPOND_BY + timedelta(hours=1))
    assert result["checked"] == 0 and result["escalated"] == 0
    item = fresh(answered)
    assert item.escalated is False and item.status == "under_review"
    assert outbox.messages() == [] and alerts() == []


def test_a_reply_after_the_job_read_the_case_wins(stage):
    # The job read the case from the index, then the agent answered: the conditional step fails.
    dispute = make_dispute(make_user(locale="zh-CN"))
    (seen,) = Dispute.by_sla_due.query("open", Dispute.sla_due <= clock.stamp(REMIND_AT))
    agent_replies(dispute, REMIND_AT)
    assert sla_runner.take_step(dispute_sla.DISPUTES, seen, RESPOND_BY + timedelta(hours=1)) is None
    assert fresh(dispute).escalated is False and fresh(dispute).sla_stage == "none"


def test_a_withdrawn_dispute_is_left_alone(stage):
    dispute = make_dispute(make_user(locale="zh-CN"))
    (seen,) = Dispute.by_sla_due.query("open", Dispute.sla_due <= clock.stamp(REMIND_AT))
    dispute.update(actions=[Dispute.status.set("withdrawn")])  # sla_due not yet removed: the condition holds
    assert sla_runner.take_step(dispute_sla.DISPUTES, seen, RESPOND_BY) is None
    assert fresh(dispute).escalated is False


def test_an_escalated_case_left_in_the_index_is_taken_out_without_a_notice(stage):
    dispute = make_dispute(make_user(locale="zh-CN"))
    dispute.update(actions=[Dispute.sla_stage.set("escalated"), Dispute.escalated.set(True)])
    result = run(RESPOND_BY + timedelta(hours=1))
    assert (result["checked"], result["skipped"], result["escalated"]) == (1, 1, 0)
    assert fresh(dispute).sla_due is None
    assert outbox.messages() == [] and alerts() == []


@pytest.mark.parametrize("moment", [REMIND_AT, RESPOND_BY + timedelta(minutes=1)], ids=["remind", "escalate"])
def test_overlapping_runs_notify_each_case_once(stage, monkeypatch, moment):
    monkeypatch.setattr(sla_runner, "PAGE", 5)  # many pages, so the two runs interleave
    agent = make_agent()
    users = [make_user(locale="zh-CN") for _ in range(12)]
    cases = [make_dispute(user, assignee=agent if n % 2 else None) for n, user in enumerate(users)]
    results: list[dict] = []
    barrier = threading.Barrier(2)

    def one_run():
        barrier.wait()
        results.append(run(moment))

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 2
    if moment == REMIND_AT:
        assert sum(result["reminded"] for result in results) == 12
        digests = mail_to(agent.email) + mail_to(SUPPORT)
        assert sorted(ids_in(digests)) == sorted(d.dispute_id for d in cases)  # each case in one digest
        assert all(mail_to(user.email) == [] for user in users)
    else:
        assert sum(result["escalated"] for result in results) == 12
        assert all(len(mail_to(user.email)) == 1 for user in users)
        named = ids_in(message for _, message in alerts())
        assert sorted(named) == sorted(d.dispute_id for d in cases)
        for dispute in cases:
            assert actions_of(dispute) == ["escalated"]


def test_a_run_out_of_time_saves_a_cursor_and_the_next_runs_finish_the_rest(stage, monkeypatch):
    monkeypatch.setattr(sla_runner, "PAGE", 2)
    monkeypatch.setattr(sla_runner, "TIME_BUDGET", 0.0)  # one page per run
    users = [make_user(locale="zh-CN") for _ in range(5)]
    cases = [make_dispute(user, filed=FILED + timedelta(minutes=n)) for n, user in enumerate(users)]
    moment = RESPOND_BY + timedelta(hours=1)

    first = run(moment)
    assert (first["checked"], first["escalated"], first["finished"]) == (2, 2, False)
    assert '"status": "open"' in read_position("dispute_sla")
    second = run(moment)
    assert (second["escalated"], second["finished"]) == (2, False)
    third = run(moment)
    assert (third["escalated"], third["finished"]) == (1, True)
    assert read_position("dispute_sla") == ""  # cleared: the next run starts from the beginning

    assert all(len(mail_to(user.email)) == 1 for user in users)
    assert len(alerts()) == 3  # one per batch
    assert all(fresh(dispute).escalated for dispute in cases)
    assert run(moment)["checked"] == 0


def test_cases_that_keep_failing_do_not_starve_the_rest(stage, monkeypatch):
    monkeypatch.setattr(sla_runner, "PAGE", 2)
    monkeypatch.setattr(sla_runner, "TIME_BUDGET", 0.0)
    users = [make_user(locale="zh-CN") for _ in range(4)]
    cases = [make_dispute(user, filed=FILED + timedelta(minutes=n)) for n, user in enumerate(users)]
    stuck = {cases[0].dispute_id, cases[1].dispute_id}  # the oldest page
    update = Dispute.update

    def throttled(self, *args, **kwargs):
        if self.dispute_id in stuck:
            raise RuntimeError("ProvisionedThroughputExceededException")
        return update(self, *args, **kwargs)

    monkeypatch.setattr(Dispute, "update", throttled)
    moment = RESPOND_BY + timedelta(hours=1)
    first = run(moment)
    assert (first["failed"], first["escalated"], first["finished"]) == (2, 0, False)
    second = run(moment)  # goes on after the failing page instead of reading it again
    assert second["escalated"] == 2 and second["failed"] == 0
    while not run(moment)["finished"]:
        pass

    stuck.clear()  # the table recovers; the next run starts from the beginning again
    third = run(moment)
    assert third["escalated"] == 2
    assert all(len(mail_to(user.email)) == 1 for user in users)
    assert all(fresh(dispute).escalated for dispute in cases)


def test_a_run_record_is_kept_when_the_run_did_something(stage):
    make_dispute(make_user(locale="zh-CN"))
    run(REMIND_AT - timedelta(hours=1))
    assert events_of("job#dispute_sla") == []  # idle runs leave no trace
    run(REMIND_AT)
    (record,) = events_of("job#dispute_sla")
    assert record.action == "run" and "#run_" in record.event_key
    assert record.detail["reminded"] == 1 and record.detail["finished"] is True


def test_claimed_cases_are_still_announced_when_reading_users_fails(stage, monkeypatch):
    agent = make_agent()
    user = make_user(locale="zh-CN")
    reminded = make_dispute(user, assignee=agent)
    overdue = make_dispute(user, filed=FILED - timedelta(days=5), respond_by=RESPOND_BY - timedelta(days=5))

    def unavailable(*args, **kwargs):
        raise RuntimeError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(User, "batch_get", classmethod(unavailable))
    result = run(REMIND_AT)
    assert (result["reminded"], result["escalated"]) == (1, 1)
    (told,) = mail_to(user.email)  # looked up on its own
    assert overdue.dispute_id in told.subject
    (digest,) = mail_to(SUPPORT)  # the assignee unknown: the queue is reminded instead
    assert ids_in([digest]) == [reminded.dispute_id]
    assert len(alerts()) == 1
