"""The notice outbox (contract v1.2, section 1 "Faults"): a notice whose send fails never fails the
request; `notify_dispatch` sends it once its backoff has passed, exactly once however often or
concurrently it runs; after 24 h of failures it is `failed` and one alert goes to the alert topic.

SES and SNS fail here the way the real services do: a botocore `ClientError` from the shared client.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from chalicelib.adapters import aws, clock
from chalicelib.adapters.config import get_settings
from chalicelib.services.common import notice_outbox
from tests.helpers.auth import register_user
from tests.helpers.chats import accept, agent_says, close, new_chat, presence
from tests.helpers.http import auth, body_of, post_json
from tests.helpers.outbox import REGION, messages, moto_emails, notices
from tests.helpers.parallel import run_together
from tests.helpers.users import OTHER_PASSWORD, PASSWORD, make_user, signed_in
from tests.support.email_mail import inbound, mail
from tests.support.test_tickets import agent_reply, new_ticket, open_ticket

T0 = datetime(2026, 11, 24, 1, 30, tzinfo=clock.UTC)


@contextmanager
def failing(service: str, operation: str, code: str = "ServiceUnavailable") -> Iterator[None]:
    """Every `operation` call of the app's `service` client fails with the service's own error."""

    def refuse(**kwargs):
        raise ClientError({"Error": {"Code": code, "Message": f"{service} is unavailable"}}, operation)

    events = aws.client(service).meta.events
    events.register(f"before-call.{service}.{operation}", refuse, unique_id="test-outage")
    try:
        yield
    finally:
        events.unregister(f"before-call.{service}.{operation}", unique_id="test-outage")


def run_dispatch(client, at: datetime) -> dict:
    response = post_json(client, "/_local/jobs/notify_dispatch", {"now": clock.isoformat(at)})
    assert response.status_code == 200, response.body
    return body_of(response)["result"]


def alerts() -> list[str]:
    topic = sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[get_settings().alert_topic_arn]
    return [f"{notification[2]}\n{notification[1]}" for notification in topic.sent_notifications]


def password_notices(email: str) -> list:
    return [m for m in notices(email) if "password was changed" in (m.subject or "")]


def change_password(client, account) -> None:
    change = {"current_password": PASSWORD, "new_password": OTHER_PASSWORD}
    assert post_json(client, "/me/password", change, auth(account["access_token"])).status_code == 204


# --- the request path ------------------------------------------------------------------------------


def test_with_ses_healthy_the_notice_is_in_the_outbox_before_the_response_and_not_sent_again(client, seeded):
    clock.set_test_clock(T0)
    account = register_user(client)
    change_password(client, account)
    assert len(password_notices(account["email"])) == 1  # before the response was read
    assert run_dispatch(client, T0 + timedelta(hours=1))["sent"] == 0
    assert len(password_notices(account["email"])) == 1


def test_a_security_notice_waits_out_an_ses_outage_and_is_sent_once_after_its_backoff(client, seeded):
    clock.set_test_clock(T0)
    account = register_user(client)
    with failing("ses", "SendEmail"):
        change_password(client, account)  # the change stands
    assert password_notices(account["email"]) == []
    assert [m for m in notices(account["phone"]) if m.channel == "sms"]  # SNS was fine: the text went

    assert run_dispatch(client, T0 + timedelta(seconds=50))["sent"] == 0  # the first retry is due after 1 m
    assert password_notices(account["email"]) == []
    assert run_dispatch(client, T0 + timedelta(minutes=2))["sent"] == 1
    (email,) = password_notices(account["email"])
    assert "/freeze?token=" in email.body  # the "this wasn't me" link is made as it is sent

    assert run_dispatch(client, T0 + timedelta(minutes=3))["sent"] == 0
    assert len(password_notices(account["email"])) == 1


def test_a_case_update_waits_out_ses_throttling_and_concurrent_runs_send_it_once(client, agent):
    clock.set_test_clock(T0)
    _, agent_headers = agent
    user = make_user(locale="en")
    ticket = new_ticket(client, signed_in(user))
    before = len(messages(user.email, "email"))
    with failing("ses", "SendEmail", "Throttling"):
        assert agent_reply(client, agent_headers, ticket["ticket_id"], "Refunded today.").status_code == 201
    assert len(messages(user.email, "email")) == before
    assert any(ticket["ticket_id"] in m.body for m in messages(user.phone, "sms"))  # told by text meanwhile

    later = T0 + timedelta(minutes=2)
    results = run_together(*(lambda: run_dispatch(client, later) for _ in range(4)))
    assert sum(result["sent"] for result in results) == 1
    replies = [m for m in messages(user.email, "email") if "Refunded today." in m.body]
    assert len(replies) == 1
    assert len(moto_emails(user.email)) == before + 1  # SES itself was called once for it
    assert run_dispatch(client, later + timedelta(minutes=5))["sent"] == 0


def test_an_email_tickets_acknowledgement_is_sent_by_the_job_and_still_threads_the_answer(client, agent):
    clock.set_test_clock(T0)
    sender = "li.lei@mail.example.com"
    with failing("ses", "SendEmail"):
        created = inbound(client, mail(sender))
    assert created["result"] == "ticket_created"
    assert messages(sender) == []

    assert run_dispatch(client, T0 + timedelta(minutes=2))["sent"] == 1
    (ack,) = messages(sender)
    assert created["ticket_id"] in ack.body
    # The MessageId SES gave the job's send is kept: an answer to the acknowledgement finds the ticket.
    ses_id = moto_emails(sender)[-1].id
    answer = mail(
        sender, "Thanks", subject="Other words", headers=f"In-Reply-To: <{ses_id}@{REGION}.amazonses.com>\r\n"
    )
    assert inbound(client, answer) == {"result": "message_added", "ticket_id": created["ticket_id"]}


def test_a_chat_transcript_is_sent_once_when_ses_is_back(client, agent):
    clock.set_test_clock(T0)
    _, agent_headers = agent
    user = make_user(locale="en")
    headers = signed_in(user)
    chat = new_chat(client, headers, body="Where is my refund?")
    presence(client, agent_headers, "online")
    accept(client, agent_headers, chat["chat_id"])
    agent_says(client, agent_headers, chat["chat_id"], "It is on its way.")
    with failing("ses", "SendEmail"):
        assert close(client, headers, chat["chat_id"])["status"] == "resolved"
    transcripts = lambda: [m for m in messages(user.email) if "transcript" in (m.subject or "")]  # noqa: E731
    assert transcripts() == []
    assert run_dispatch(client, T0 + timedelta(minutes=2))["sent"] == 1
    (email,) = transcripts()
    assert "It is on its way." in email.body
    assert run_dispatch(client, T0 + timedelta(minutes=4))["sent"] == 0 and len(transcripts()) == 1


def test_an_acknowledgement_recorded_with_its_ticket_is_sent_once_however_often_the_key_is_replayed(client):
    clock.set_test_clock(T0)
    user = make_user(locale="en")
    headers = signed_in(user)
    with failing("ses", "SendEmail"):
        first = open_ticket(client, headers, key="ticket-under-outage")
        again = open_ticket(client, headers, key="ticket-under-outage")
    assert first.status_code == 201 and again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert body_of(again)["ticket_id"] == body_of(first)["ticket_id"]
    assert messages(user.email) == []

    assert run_dispatch(client, T0 + timedelta(minutes=2))["sent"] == 1
    (ack,) = messages(user.email)
    assert body_of(first)["ticket_id"] in ack.subject
    assert run_dispatch(client, T0 + timedelta(minutes=5))["sent"] == 0 and len(messages(user.email)) == 1


# --- the schedule and giving up --------------------------------------------------------------------


def test_retries_follow_the_backoff_for_24_hours_then_the_notice_fails_with_one_alert(client, seeded, frozen_clock):
    clock.set_test_clock(T0)
    account = register_user(client)
    with failing("ses", "SendEmail"):
        change_password(client, account)
        failed_at, attempts = T0, 1
        for delay in (*notice_outbox.RETRY_DELAYS, *[notice_outbox.RETRY_DELAYS[-1]] * 3):  # the last repeats
            due = min(failed_at + delay, T0 + notice_outbox.GIVE_UP_AFTER)
            early = run_dispatch(client, due - timedelta(seconds=30))
            assert early["retrying"] == 0 and early["failed"] == 0, (attempts, early)  # not due yet
            outcome = run_dispatch(client, due + timedelta(seconds=1))
            attempts += 1
            failed_at = due + timedelta(seconds=1)
            if outcome["failed"]:
                break
            assert outcome["retrying"] == 1, (attempts, outcome)
        assert outcome["failed"] == 1
        assert failed_at >= T0 + notice_outbox.GIVE_UP_AFTER
        assert attempts == 12  # the request's, 9 after 1 m … 8 h (~15.9 h), one 8 h on, one at the 24 h mark

    (alert,) = alerts()
    assert "Notice not sent for 24 hours" in alert
    assert account["email"] not in alert and f"{account['email'][0]}***@" in alert  # masked, no text
    # Given up: SES being back changes nothing, and nothing more is alerted.
    assert run_dispatch(client, T0 + timedelta(hours=30))["sent"] == 0
    assert password_notices(account["email"]) == [] and len(alerts()) == 1
