"""Support tickets as the user sees them: open one, the acknowledgement, list, read, write on it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters import clock, outbox
from chalicelib.store.tickets import Ticket
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.support import customer
from tests.helpers.users import make_user, signed_in
from tests.helpers.wallet import pay

NOV_24 = datetime(2026, 11, 24, 1, 15, tzinfo=UTC)  # 09:15 in Beijing
TICKET_FIELDS = {
    "ticket_id",
    "subject",
    "category",
    "status",
    "source",
    "first_response_due",
    "escalated",
    "created_at",
    "updated_at",
}


def open_ticket(client, headers, key=None, **fields):
    payload = {"subject": "Top-up not arrived", "body": "I topped up 100 CNY an hour ago.", "category": "payment"}
    payload.update(fields)
    extra = {"Idempotency-Key": key} if key else {}
    return post_json(client, "/support/tickets", payload, {**headers, **extra})


def new_ticket(client, headers, **fields) -> dict:
    response = open_ticket(client, headers, **fields)
    assert response.status_code == 201, response.body
    return body_of(response)


def write(client, headers, ticket_id, text="Any news?", key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return post_json(client, f"/support/tickets/{ticket_id}/messages", {"body": text}, {**headers, **extra})


def agent_reply(client, agent_headers, ticket_id, text="We are looking into it."):
    return post_json(client, f"/admin/tickets/{ticket_id}/messages", {"body": text}, agent_headers)


def set_status(client, agent_headers, ticket_id, status):
    return post_json(client, f"/admin/tickets/{ticket_id}/status", {"status": status}, agent_headers)


def read(client, headers, ticket_id) -> dict:
    response = client.get(f"/support/tickets/{ticket_id}", headers=headers)
    assert response.status_code == 200, response.body
    return body_of(response)


# --- opening a ticket --------------------------------------------------------------------------------


def test_a_new_ticket_is_new_and_due_24_hours_later(client):
    clock.set_test_clock(NOV_24)
    headers = signed_in(make_user())
    ticket = new_ticket(client, headers, subject="  Top-up not arrived  ")
    assert set(ticket) == TICKET_FIELDS, ticket  # no transaction named: no transaction_id
    assert ticket["ticket_id"].startswith("tkt_") and len(ticket["ticket_id"]) == 36
    assert ticket["status"] == "new"
    assert ticket["subject"] == "Top-up not arrived"
    assert ticket["category"] == "payment"
    assert ticket["escalated"] is False
    created = datetime.fromisoformat(ticket["created_at"])
    assert ticket["created_at"].endswith("+08:00")
    assert created - NOV_24 < timedelta(minutes=1)
    assert datetime.fromisoformat(ticket["first_response_due"]) - created == timedelta(hours=24)
    assert ticket["updated_at"] == ticket["created_at"]


def test_the_sla_clock_starts_at_creation(client):
    clock.set_test_clock(NOV_24)
    headers = signed_in(make_user())
    ticket = new_ticket(client, headers)
    stored = Ticket.get(ticket["ticket_id"])
    created = clock.from_stamp(stored.created_at)
    assert clock.from_stamp(stored.first_response_due) == created + timedelta(hours=24)
    assert clock.from_stamp(stored.sla_due) == created + timedelta(hours=24) * 0.8  # the reminder
    assert stored.sla_stage == "none" and stored.status == "new"


def test_the_first_message_is_the_body(client):
    headers = signed_in(make_user())
    ticket = new_ticket(client, headers, body="  My top-up of 100 CNY is missing.  ")
    detail = read(client, headers, ticket["ticket_id"])
    assert set(detail) == TICKET_FIELDS | {"messages"}
    (message,) = detail["messages"]
    assert message["body"] == "My top-up of 100 CNY is missing."
    assert message["author"] == "user"
    assert message["message_id"].startswith("msg_")
    assert message["created_at"] == ticket["created_at"]


def test_the_acknowledgement_email_names_the_ticket(client):
    clock.set_test_clock(NOV_24)
    user = make_user(locale="en")
    headers = signed_in(user)
    ticket = new_ticket(client, headers, subject="Card declined")
    (email,) = outbox.messages(user.email)
    assert email.channel == "email"
    assert email.subject == f"Okpay support: request {ticket['ticket_id']} received"
    assert ticket["ticket_id"] in email.body and '"Card declined"' in email.body
    assert "2026-11-25 09:15" in email.body  # the due time, Beijing time
    assert outbox.messages(user.phone) == []  # a verified email: no SMS as well


def test_the_acknowledgement_follows_the_users_language(client):
    clock.set_test_clock(NOV_24)
    user = make_user(locale="zh-CN")
    headers = signed_in(user)
    ticket = new_ticket(client, headers, subject="转账未到账")
    (email,) = outbox.messages(user.email)
    assert email.subject == f"Okpay 客服已收到您的问题：{ticket['ticket_id']}"
    assert "「转账未到账」" in email.body and f"工单编号 {ticket['ticket_id']}" in email.body
    assert "2026-11-25 09:15" in email.body


def test_without_a_verified_email_the_acknowledgement_also_goes_by_text(client):
    user = make_user(locale="en")
    headers = signed_in(user)
    user.email_verified = False
    user.save()
    ticket = new_ticket(client, headers)
    (email,) = outbox.messages(user.email)  # the address the user gave, as a help desk writes to it
    assert ticket["ticket_id"] in email.subject
    (sms,) = outbox.messages(user.phone)
    assert ticket["ticket_id"] in sms.body and "received" in sms.body


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"subject": "   "}, "subject"),
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 121}, "subject"),
        ({"body": ""}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"category": "billing"}, "category"),
        ({"category": None}, "category"),
        ({"subjcet": "typo"}, "subjcet"),
        ({"transaction_id": 12}, "transaction_id"),
    ],
)
def test_malformed_tickets_are_400(client, fields, field):
    user = make_user()
    headers = signed_in(user)
    response = open_ticket(client, headers, **fields)
    assert_error(response, 400, "validation_error", field=field)
    assert list(Ticket.by_user.query(user.user_id)) == []
    assert outbox.messages(user.email) == []


def test_the_longest_subject_and_body_are_taken(client):
    headers = signed_in(make_user())
    ticket = new_ticket(client, headers, subject="s" * 120, body="b" * 5000, category="other")
    assert ticket["subject"] == "s" * 120
    assert read(client, headers, ticket["ticket_id"])["messages"][0]["body"] == "b" * 5000


def test_every_ticket_route_needs_a_session(client):
    headers = signed_in(make_user())
    ticket = new_ticket(client, headers)
    path = f"/support/tickets/{ticket['ticket_id']}"
    assert_error(open_ticket(client, {}), 401, "unauthorized")
    assert_error(client.get("/support/tickets"), 401, "unauthorized")
    assert_error(client.get(path), 401, "unauthorized")
    assert_error(write(client, {}, ticket["ticket_id"]), 401, "unauthorized")
    assert_error(client.get(path, headers={"Authorization": "Bearer nonsense"}), 401, "unauthorized")


def test_a_ticket_may_name_the_callers_own_transaction(client, seeded):
    _, headers = customer(client)
    transaction_id = pay(client, headers)
    ticket = new_ticket(client, headers, category="payment", transaction_id=transaction_id)
    assert ticket["transaction_id"] == transaction_id
    assert read(client, headers, ticket["ticket_id"])["transaction_id"] == transaction_id


def test_another_users_or_an_unknown_transaction_is_404(client, seeded):
    _, payer_headers = customer(client)
    theirs = pay(client, payer_headers)
    user = make_user()
    headers = signed_in(user)
    for transaction_id in (theirs, "txn_" + "0" * 32, "trf_nonsense"):
        response = open_ticket(client, headers, transaction_id=transaction_id)
        assert_error(response, 404, "not_found", field="transaction_id")
    assert list(Ticket.by_user.query(user.user_id)) == []
    assert outbox.messages(user.email) == []


def test_opening_more_than_ten_tickets_a_day_is_429(client):
    clock.set_test_clock(NOV_24)
    user = make_user()
    headers = signed_in(user)
    for _ in range(10):
        new_ticket(client, headers)
    response = open_ticket(client, headers)
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0
    assert len(list(Ticket.by_user.query(user.user_id))) == 10
    other_headers = signed_in(make_user())
    new_ticket(client, other_headers)  # the cap is per user
    clock.set_test_clock(NOV_24 + timedelta(days=1))
    new_ticket(client, signed_in(user))  # a new day (and a fresh access token)


# --- Idempotency-Key --------------------------------------------------------------------------------


def test_the_same_key_and_body_answer_the_same_ticket_once(client):
    user = make_user()
    headers = signed_in(user)
    key = uuid.uuid4().hex
    first = open_ticket(client, headers, key=key)
    again = open_ticket(client, headers, key=key)
    assert first.status_code == again.status_code == 201
    assert body_of(again) == body_of(first)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [t.ticket_id for t in Ticket.by_user.query(user.user_id)] == [body_of(first)["ticket_id"]]
    assert len(outbox.messages(user.email)) == 1  # one acknowledgement


def test_the_same_key_with_another_body_is_422(client):
    user = make_user()
    headers = signed_in(user)
    key = uuid.uuid4().hex
    assert open_ticket(client, headers, key=key).status_code == 201
    assert_error(open_ticket(client, headers, key=key, subject="Something else"), 422, "idempotency_key_reused")
    assert len(list(Ticket.by_user.query(user.user_id))) == 1


def test_a_key_is_optional_and_without_one_each_request_opens_a_ticket(client):
    user = make_user()
    headers = signed_in(user)
    new_ticket(client, headers)
    new_ticket(client, headers)
    assert len(list(Ticket.by_user.query(user.user_id))) == 2


def test_a_message_with_a_key_is_written_once(client):
    headers = signed_in(make_user())
    ticket = new_ticket(client, headers)
    key = uuid.uuid4().hex
    first = write(client, headers, ticket["ticket_id"], "Still waiting", key=key)
    again = write(client, headers, ticket["ticket_id"], "Still waiting", key=key)
    assert first.status_code == again.status_code == 201
    assert body_of(again) == body_of(first) and again.headers.get("Idempotent-Replayed") == "true"
    assert [m["body"] for m in read(client, headers, ticket["ticket_id"])["messages"]][1:] == ["Still waiting"]


# --- listing and reading ------------------------------------------------------------------------------


def test_the_list_is_the_callers_newest_first_and_pages(client):
    clock.set_test_clock(NOV_24)
    headers = signed_in(make_user())
    opened = []
    for minute in range(3):
        clock.set_test_clock(NOV_24 + timedelta(minutes=minute))
        opened.append(new_ticket(client, headers, subject=f"Question {minute}")["ticket_id"])
    other_headers = signed_in(make_user())
    new_ticket(client, other_headers)

    whole = body_of(client.get("/support/tickets", headers=headers))
    assert [t["ticket_id"] for t in whole["data"]] == opened[::-1]
    assert whole["next_cursor"] is None
    assert set(whole["data"][0]) == TICKET_FIELDS

    seen, cursor = [], None
    for _ in range(5):
        path = "/support/tickets?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = body_of(client.get(path, headers=headers))
        assert len(page["data"]) <= 1
        seen += [t["ticket_id"] for t in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == opened[::-1]


def test_a_cursor_must_be_the_callers_own(client):
    headers = signed_in(make_user())
    new_ticket(client, headers)
    new_ticket(client, headers)
    cursor = body_of(client.get("/support/tickets?limit=1", headers=headers))["next_cursor"]
    assert cursor
    other_headers = signed_in(make_user())
    new_ticket(client, other_headers)
    new_ticket(client, other_headers)
    assert_error(client.get(f"/support/tickets?cursor={cursor}", headers=other_headers), 400, "invalid_cursor")
    assert_error(client.get("/support/tickets?cursor=bogus", headers=headers), 400, "invalid_cursor")
    assert_error(client.get("/support/tickets?limit=0", headers=headers), 400, "validation_error", field="limit")
    assert_error(client.get("/support/tickets?limit=101", headers=headers), 400, "validation_error", field="limit")


def test_a_user_with_no_tickets_gets_an_empty_list(client):
    headers = signed_in(make_user())
    assert body_of(client.get("/support/tickets", headers=headers)) == {"data": [], "next_cursor": None}


def test_another_users_ticket_is_404(client):
    owner_headers = signed_in(make_user())
    ticket = new_ticket(client, owner_headers)
    headers = signed_in(make_user())
    assert_error(client.get(f"/support/tickets/{ticket['ticket_id']}", headers=headers), 404, "not_found")
    assert_error(write(client, headers, ticket["ticket_id"]), 404, "not_found")
    assert len(read(client, owner_headers, ticket["ticket_id"])["messages"]) == 1


@pytest.mark.parametrize("ticket_id", ["tkt_" + "0" * 32, "nonsense", "dsp_" + "0" * 32])
def test_an_unknown_ticket_is_404(client, ticket_id):
    headers = signed_in(make_user())
    assert_error(client.get(f"/support/tickets/{ticket_id}", headers=headers), 404, "not_found")
    assert_error(write(client, headers, ticket_id), 404, "not_found")


# --- the user writes on their ticket ----------------------------------------------------------------


def test_a_message_is_201_and_joins_the_conversation(client):
    clock.set_test_clock(NOV_24)
    headers = signed_in(make_user())
    ticket = new_ticket(client, headers)
    clock.set_test_clock(NOV_24 + timedelta(minutes=10))
    response = write(client, headers, ticket["ticket_id"], "  Here is the receipt number: 123.  ")
    assert response.status_code == 201
    message = body_of(response)
    assert set(message) == {"message_id", "author", "body", "created_at"}
    assert message["author"] == "user" and message["body"] == "Here is the receipt number: 123."
    detail = read(client, headers, ticket["ticket_id"])
    assert detail["messages"][-1] == message
    assert detail["status"] == "new"  # still waiting for the first agent reply
    assert detail["updated_at"] == message["created_at"] != detail["created_at"]


@pytest.mark.parametrize("payload", [{"body": ""}, {"body": "x" * 5001}, {"body": "hi", "extra": 1}, {"text": "hi"}])
def test_a_malformed_message_is_400(client, payload):
    headers = signed_in(make_user())
    ticket = new_ticket(client, headers)
    response = post_json(client, f"/support/tickets/{ticket['ticket_id']}/messages", payload, headers)
    assert_error(response, 400, "validation_error")
    assert len(read(client, headers, ticket["ticket_id"])["messages"]) == 1


def test_writing_on_a_solved_ticket_reopens_it(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user())
    ticket = new_ticket(client, headers)
    assert agent_reply(client, agent_headers, ticket["ticket_id"]).status_code == 201
    assert set_status(client, agent_headers, ticket["ticket_id"], "solved").status_code == 200
    assert read(client, headers, ticket["ticket_id"])["status"] == "solved"
    assert write(client, headers, ticket["ticket_id"], "It is still not there.").status_code == 201
    assert read(client, headers, ticket["ticket_id"])["status"] == "open"
    events = body_of(client.get(f"/admin/tickets/{ticket['ticket_id']}", headers=agent_headers))["events"]
    assert events[-1]["action"] == "status_changed"
    assert events[-1]["detail"] == {"from": "solved", "to": "open", "cause": "reopened"}


def test_writing_on_a_pending_ticket_puts_it_back_to_open(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user())
    ticket = new_ticket(client, headers)
    agent_reply(client, agent_headers, ticket["ticket_id"], "Please send the receipt.")
    set_status(client, agent_headers, ticket["ticket_id"], "pending")
    assert read(client, headers, ticket["ticket_id"])["status"] == "pending"
    write(client, headers, ticket["ticket_id"], "Receipt: 123")
    assert read(client, headers, ticket["ticket_id"])["status"] == "open"


def test_a_closed_ticket_takes_no_more_messages(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user())
    ticket = new_ticket(client, headers)
    set_status(client, agent_headers, ticket["ticket_id"], "closed")
    error = assert_error(write(client, headers, ticket["ticket_id"]), 409, "ticket_closed")
    assert error["details"] == {"status": "closed"}
    detail = read(client, headers, ticket["ticket_id"])
    assert detail["status"] == "closed" and len(detail["messages"]) == 1


def test_a_closed_ticket_refuses_a_message_in_the_users_language(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user(locale="zh-CN"))
    ticket = new_ticket(client, headers)
    set_status(client, agent_headers, ticket["ticket_id"], "closed")
    en = assert_error(write(client, {**headers, "Accept-Language": "en"}, ticket["ticket_id"]), 409, "ticket_closed")
    zh = assert_error(write(client, headers, ticket["ticket_id"]), 409, "ticket_closed")
    assert en["message"] != zh["message"]


def test_more_than_thirty_messages_an_hour_is_429(client):
    clock.set_test_clock(NOV_24)
    headers = signed_in(make_user())
    ticket = new_ticket(client, headers)
    for n in range(30):
        assert write(client, headers, ticket["ticket_id"], f"message {n}").status_code == 201
    response = write(client, headers, ticket["ticket_id"], "one more")
    assert_error(response, 429, "rate_limited")
    assert "Retry-After" in response.headers
    assert len(read(client, headers, ticket["ticket_id"])["messages"]) == 31
