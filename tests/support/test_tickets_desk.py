"""Support tickets as agents work them: the queue, the case, replies, status changes and their history."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from chalicelib.adapters import clock, outbox
from chalicelib.store.tickets import Ticket
from chalicelib.store.users import User
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.users import make_user, signed_in
from tests.support.test_tickets import NOV_24, agent_reply, new_ticket, read, set_status, write


def second_agent() -> tuple[User, dict[str, str]]:
    user = make_user(role="agent")  # TOTP enrolled, as /admin needs
    return user, signed_in(user)


def case(client, agent_headers, ticket_id) -> dict:
    response = client.get(f"/admin/tickets/{ticket_id}", headers=agent_headers)
    assert response.status_code == 200, response.body
    return body_of(response)


def queue(client, agent_headers, query="") -> dict:
    response = client.get(f"/admin/tickets{query}", headers=agent_headers)
    assert response.status_code == 200, response.body
    return body_of(response)


# --- who may ------------------------------------------------------------------------------------------


def test_the_desk_is_for_agents_only(client, agent):
    headers = signed_in(make_user())
    ticket_id = new_ticket(client, headers)["ticket_id"]
    assert_error(client.get("/admin/tickets", headers=headers), 403, "forbidden")
    assert_error(client.get(f"/admin/tickets/{ticket_id}", headers=headers), 403, "forbidden")
    assert_error(agent_reply(client, headers, ticket_id), 403, "forbidden")
    assert_error(set_status(client, headers, ticket_id, "solved"), 403, "forbidden")
    assert_error(client.get("/admin/tickets"), 401, "unauthorized")
    assert_error(client.get(f"/admin/tickets/{ticket_id}"), 401, "unauthorized")
    assert_error(agent_reply(client, {}, ticket_id), 401, "unauthorized")
    assert_error(set_status(client, {}, ticket_id, "solved"), 401, "unauthorized")
    # nothing happened to the ticket
    assert read(client, headers, ticket_id)["status"] == "new"
    assert len(read(client, headers, ticket_id)["messages"]) == 1


@pytest.mark.parametrize("ticket_id", ["tkt_" + "0" * 32, "nonsense"])
def test_an_unknown_ticket_is_404_for_agents(client, agent, ticket_id):
    _, agent_headers = agent
    assert_error(client.get(f"/admin/tickets/{ticket_id}", headers=agent_headers), 404, "not_found")
    assert_error(agent_reply(client, agent_headers, ticket_id), 404, "not_found")
    assert_error(set_status(client, agent_headers, ticket_id, "solved"), 404, "not_found")


# --- the case -----------------------------------------------------------------------------------------


def test_an_agent_reads_the_whole_case(client, agent, seeded):
    agent_user, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    ticket = new_ticket(client, headers, body="Where is my money?", category="transfer")
    agent_reply(client, agent_headers, ticket["ticket_id"], "Checking now.")
    detail = case(client, agent_headers, ticket["ticket_id"])
    assert detail["ticket_id"] == ticket["ticket_id"] and detail["user_id"] == user.user_id
    assert detail["category"] == "transfer" and detail["status"] == "open"
    assert detail["assignee"] == agent_user.user_id
    assert [(m["author"], m["author_id"], m["body"]) for m in detail["messages"]] == [
        ("user", user.user_id, "Where is my money?"),
        ("agent", agent_user.user_id, "Checking now."),
    ]
    actions = [e["action"] for e in detail["events"]]
    assert actions[0] == "created" and sorted(actions[1:]) == ["first_response", "status_changed"]  # one instant
    created = detail["events"][0]
    assert created["actor"] == user.user_id and created["detail"] == {"category": "transfer"}
    assert created["at"] == ticket["created_at"]


# --- replies ------------------------------------------------------------------------------------------


def test_the_first_reply_is_the_first_response(client, agent):
    agent_user, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    ticket_id = new_ticket(client, headers, subject="Card declined")["ticket_id"]
    assert Ticket.get(ticket_id).sla_due is not None
    outbox.clear()

    response = agent_reply(client, agent_headers, ticket_id, "Your bank declined it; please call them.")
    assert response.status_code == 201, response.body
    message = body_of(response)
    assert set(message) == {"message_id", "author", "author_id", "body", "created_at"}
    assert message["author"] == "agent" and message["author_id"] == agent_user.user_id

    stored = Ticket.get(ticket_id)
    assert stored.status == "open"
    assert stored.sla_due is None  # the SLA is met: ticket_sla leaves it alone
    assert stored.first_responded_at == clock.stamp(clock.from_stamp(stored.updated_at))
    assert stored.assignee == agent_user.user_id

    seen = read(client, headers, ticket_id)
    assert seen["status"] == "open"
    assert seen["messages"][-1] == {k: v for k, v in message.items() if k != "author_id"}

    (email,) = outbox.messages(user.email)
    assert email.subject == f"Okpay: new reply on ticket {ticket_id}"
    assert "Your bank declined it; please call them." in email.body and '"Card declined"' in email.body


def test_the_reply_email_follows_the_users_language(client, agent):
    _, agent_headers = agent
    user = make_user(locale="zh-CN")
    headers = signed_in(user)
    ticket_id = new_ticket(client, headers, subject="无法登录")["ticket_id"]
    outbox.clear()
    agent_reply(client, agent_headers, ticket_id, "请尝试重置密码。")
    (email,) = outbox.messages(user.email)
    assert email.subject == f"Okpay 工单 {ticket_id} 有新回复"
    assert "请尝试重置密码。" in email.body and "「无法登录」" in email.body


def test_a_user_without_a_verified_email_gets_a_text_about_a_reply(client, agent):
    _, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    user.email_verified = False
    user.save()
    ticket_id = new_ticket(client, headers)["ticket_id"]
    outbox.clear()
    agent_reply(client, agent_headers, ticket_id, "Secret details only in the app")
    (sms,) = outbox.messages(user.phone)
    assert ticket_id in sms.body and "an agent replied" in sms.body
    assert "Secret details" not in sms.body


def test_later_replies_keep_the_first_response_time(client, agent):
    first_agent, _ = agent
    clock.set_test_clock(NOV_24)
    headers = signed_in(make_user())
    agent_headers = signed_in(first_agent)
    ticket_id = new_ticket(client, headers)["ticket_id"]
    agent_reply(client, agent_headers, ticket_id, "First")
    responded = Ticket.get(ticket_id).first_responded_at
    set_status(client, agent_headers, ticket_id, "pending")

    clock.set_test_clock(NOV_24 + timedelta(hours=2))
    other, other_headers = second_agent()
    assert agent_reply(client, other_headers, ticket_id, "Second").status_code == 201
    stored = Ticket.get(ticket_id)
    assert stored.first_responded_at == responded
    assert stored.assignee == other.user_id  # the agent who last replied
    assert stored.status == "pending"  # only the first reply moves the status
    detail = case(client, other_headers, ticket_id)
    assert [e["action"] for e in detail["events"]].count("first_response") == 1
    assert detail["first_responded_at"] == clock.isoformat(clock.from_stamp(responded))


def test_a_first_reply_on_an_opened_ticket_keeps_it_open(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user())
    ticket_id = new_ticket(client, headers)["ticket_id"]
    set_status(client, agent_headers, ticket_id, "open")
    assert Ticket.get(ticket_id).sla_due is not None  # taking a ticket is not answering it
    agent_reply(client, agent_headers, ticket_id)
    stored = Ticket.get(ticket_id)
    assert stored.status == "open" and stored.sla_due is None and stored.first_responded_at


def test_an_agent_reply_with_a_key_is_written_and_emailed_once(client, agent):
    _, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    ticket_id = new_ticket(client, headers)["ticket_id"]
    outbox.clear()
    keyed = {**agent_headers, "Idempotency-Key": uuid.uuid4().hex}
    first = agent_reply(client, keyed, ticket_id, "Done")
    again = agent_reply(client, keyed, ticket_id, "Done")
    assert first.status_code == again.status_code == 201
    assert body_of(first) == body_of(again) and again.headers.get("Idempotent-Replayed") == "true"
    assert [m["body"] for m in read(client, headers, ticket_id)["messages"]].count("Done") == 1
    assert len(outbox.messages(user.email)) == 1
    assert_error(agent_reply(client, keyed, ticket_id, "Other"), 422, "idempotency_key_reused")


def test_a_malformed_reply_is_400(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user())
    ticket_id = new_ticket(client, headers)["ticket_id"]
    assert_error(agent_reply(client, agent_headers, ticket_id, "   "), 400, "validation_error", field="body")
    assert Ticket.get(ticket_id).status == "new"


# --- status -------------------------------------------------------------------------------------------


def test_status_changes_are_recorded_and_solved_emails_the_user(client, agent):
    agent_user, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    ticket_id = new_ticket(client, headers, subject="Refund question")["ticket_id"]
    agent_reply(client, agent_headers, ticket_id)
    outbox.clear()

    for status in ("pending", "open", "solved"):
        response = set_status(client, agent_headers, ticket_id, status)
        assert response.status_code == 200, response.body
        ticket = body_of(response)
        assert ticket["status"] == status and ticket["ticket_id"] == ticket_id
        assert ticket["user_id"] == user.user_id and ticket["assignee"] == agent_user.user_id
        assert read(client, headers, ticket_id)["status"] == status

    (email,) = outbox.messages(user.email)  # only `solved` is emailed
    assert email.subject == f"Okpay: ticket {ticket_id} solved"
    assert '"Refund question"' in email.body and "reply in the app to reopen" in email.body

    changes = [e for e in case(client, agent_headers, ticket_id)["events"] if e["action"] == "status_changed"]
    assert [(e["detail"]["from"], e["detail"]["to"], e["detail"]["cause"]) for e in changes] == [
        ("new", "open", "agent_reply"),
        ("open", "pending", "agent"),
        ("pending", "open", "agent"),
        ("open", "solved", "agent"),
    ]
    assert {e["actor"] for e in changes} == {agent_user.user_id}


def test_setting_the_current_status_again_changes_nothing(client, agent):
    _, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    ticket_id = new_ticket(client, headers)["ticket_id"]
    set_status(client, agent_headers, ticket_id, "solved")
    outbox.clear()
    response = set_status(client, agent_headers, ticket_id, "solved")
    assert response.status_code == 200 and body_of(response)["status"] == "solved"
    assert outbox.messages(user.email) == []
    actions = [e["action"] for e in case(client, agent_headers, ticket_id)["events"]]
    assert actions == ["created", "status_changed"]


def test_closed_is_final(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user())
    ticket_id = new_ticket(client, headers)["ticket_id"]
    assert set_status(client, agent_headers, ticket_id, "closed").status_code == 200
    stored = Ticket.get(ticket_id)
    assert stored.status == "closed" and stored.sla_due is None  # never escalated once closed
    for status in ("open", "pending", "solved", "closed"):
        error = assert_error(set_status(client, agent_headers, ticket_id, status), 409, "ticket_closed")
        assert error["details"] == {"status": "closed"}
    assert_error(agent_reply(client, agent_headers, ticket_id), 409, "ticket_closed")
    assert_error(write(client, headers, ticket_id), 409, "ticket_closed")
    detail = case(client, agent_headers, ticket_id)
    assert detail["status"] == "closed" and len(detail["messages"]) == 1
    assert [e["detail"]["to"] for e in detail["events"] if e["action"] == "status_changed"] == ["closed"]


@pytest.mark.parametrize("payload", [{"status": "new"}, {"status": "reopened"}, {}, {"status": "open", "note": 1}])
def test_a_malformed_status_change_is_400(client, agent, payload):
    _, agent_headers = agent
    headers = signed_in(make_user())
    ticket_id = new_ticket(client, headers)["ticket_id"]
    response = post_json(client, f"/admin/tickets/{ticket_id}/status", payload, agent_headers)
    assert_error(response, 400, "validation_error")
    assert Ticket.get(ticket_id).status == "new"


# --- the queue ----------------------------------------------------------------------------------------


def _tickets_in_every_state(client, agent_user) -> dict[str, str]:
    """Five tickets opened a minute apart, each left in another status; name -> ticket id."""
    clock.set_test_clock(NOV_24)
    headers = signed_in(make_user())
    made = {}
    for minute, name in enumerate(("open", "new", "pending", "new_too", "solved")):
        clock.set_test_clock(NOV_24 + timedelta(minutes=minute))
        made[name] = new_ticket(client, headers, subject=name)["ticket_id"]
    agent_headers = signed_in(agent_user)
    agent_reply(client, agent_headers, made["open"])
    agent_reply(client, agent_headers, made["pending"])
    set_status(client, agent_headers, made["pending"], "pending")
    set_status(client, agent_headers, made["solved"], "solved")
    return made


def test_the_queue_is_the_active_tickets_oldest_due_first(client, agent):
    agent_user, _ = agent
    made = _tickets_in_every_state(client, agent_user)
    page = queue(client, signed_in(agent_user))
    assert [t["ticket_id"] for t in page["data"]] == [made["open"], made["new"], made["pending"], made["new_too"]]
    assert [t["status"] for t in page["data"]] == ["open", "new", "pending", "new"]
    assert page["next_cursor"] is None
    first = page["data"][0]
    assert first["user_id"] and first["first_responded_at"] and first["assignee"] == agent_user.user_id
    assert page["data"][1]["first_responded_at"] is None and page["data"][1]["assignee"] is None


def test_the_queue_pages_across_statuses(client, agent):
    agent_user, _ = agent
    made = _tickets_in_every_state(client, agent_user)
    agent_headers = signed_in(agent_user)
    seen, cursor = [], None
    for _ in range(10):
        page = queue(client, agent_headers, "?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert len(page["data"]) <= 1
        seen += [t["ticket_id"] for t in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [made["open"], made["new"], made["pending"], made["new_too"]]

    two = queue(client, agent_headers, "?limit=2")
    rest = queue(client, agent_headers, f"?limit=2&cursor={two['next_cursor']}")
    assert [t["ticket_id"] for t in two["data"] + rest["data"]] == seen


def test_the_queue_filters_by_status(client, agent):
    agent_user, _ = agent
    made = _tickets_in_every_state(client, agent_user)
    agent_headers = signed_in(agent_user)
    by_status = {
        status: [t["ticket_id"] for t in queue(client, agent_headers, f"?status={status}")["data"]]
        for status in ("new", "open", "pending", "solved", "closed")
    }
    assert by_status == {
        "new": [made["new"], made["new_too"]],
        "open": [made["open"]],
        "pending": [made["pending"]],
        "solved": [made["solved"]],
        "closed": [],
    }
    assert_error(client.get("/admin/tickets?status=escalated", headers=agent_headers), 400, "validation_error")


def test_a_queue_cursor_belongs_to_its_filter(client, agent):
    agent_user, _ = agent
    _tickets_in_every_state(client, agent_user)
    agent_headers = signed_in(agent_user)
    cursor = queue(client, agent_headers, "?status=new&limit=1")["next_cursor"]
    assert cursor
    assert len(queue(client, agent_headers, f"?status=new&limit=1&cursor={cursor}")["data"]) == 1
    for other in (f"?status=open&cursor={cursor}", f"?cursor={cursor}"):
        assert_error(client.get(f"/admin/tickets{other}", headers=agent_headers), 400, "invalid_cursor")
    assert_error(client.get("/admin/tickets?cursor=bogus", headers=agent_headers), 400, "invalid_cursor")


def test_a_users_list_cursor_is_no_queue_cursor(client, agent):
    agent_user, _ = agent
    headers = signed_in(make_user())
    new_ticket(client, headers)
    new_ticket(client, headers)
    cursor = body_of(client.get("/support/tickets?limit=1", headers=headers))["next_cursor"]
    assert cursor
    assert_error(client.get(f"/admin/tickets?cursor={cursor}", headers=signed_in(agent_user)), 400, "invalid_cursor")


def test_an_unanswered_ticket_past_its_due_time_shows_overdue(client, agent):
    agent_user, _ = agent
    clock.set_test_clock(NOV_24)
    headers = signed_in(make_user())
    ticket_id = new_ticket(client, headers)["ticket_id"]
    clock.set_test_clock(NOV_24 + timedelta(hours=23, minutes=59))
    assert queue(client, signed_in(agent_user))["data"][0]["overdue"] is False
    clock.set_test_clock(NOV_24 + timedelta(hours=24, minutes=1))
    agent_headers = signed_in(agent_user)
    assert queue(client, agent_headers)["data"][0]["overdue"] is True
    agent_reply(client, agent_headers, ticket_id)
    assert queue(client, agent_headers)["data"][0]["overdue"] is False
    late = [e for e in case(client, agent_headers, ticket_id)["events"] if e["action"] == "first_response"]
    assert late[0]["detail"] == {"late": True}


# --- the OpenAPI document -----------------------------------------------------------------------------


def test_every_ticket_reply_is_documented(client, agent, seeded):
    """The `client` fixture checks every reply against the served document (tests/helpers/contract.py)."""
    _, agent_headers = agent
    headers = signed_in(make_user())
    created = post_json(
        client, "/support/tickets", {"subject": "s", "body": "b", "category": "kyc", "transaction_id": None}, headers
    )
    assert created.status_code == 201 and "transaction_id" not in body_of(created)
    ticket_id = body_of(created)["ticket_id"]
    one = f"/support/tickets/{ticket_id}"
    assert client.get("/support/tickets", headers=headers).status_code == 200
    assert client.get(one, headers=headers).status_code == 200
    assert write(client, headers, ticket_id).status_code == 201
    assert agent_reply(client, agent_headers, ticket_id).status_code == 201
    assert set_status(client, agent_headers, ticket_id, "solved").status_code == 200
    assert write(client, headers, ticket_id).status_code == 201  # reopens it
    assert set_status(client, agent_headers, ticket_id, "closed").status_code == 200
    assert set_status(client, agent_headers, ticket_id, "open").status_code == 409
    assert write(client, headers, ticket_id).status_code == 409
    assert client.get("/admin/tickets?status=closed", headers=agent_headers).status_code == 200
    case = client.get(f"/admin/tickets/{ticket_id}", headers=agent_headers)
    assert case.status_code == 200
    actions = sorted(event["action"] for event in body_of(case)["events"])
    assert actions == ["created", "first_response", *["status_changed"] * 4]
    assert client.get(one, headers={}).status_code == 401
    assert client.get("/support/tickets/tkt_unknown", headers=headers).status_code == 404


def test_the_document_lists_each_ticket_routes_errors(client):
    paths = body_of(client.get("/openapi.json"))["paths"]

    def codes(path, method):
        responses = paths[path][method]["responses"]
        return {status: responses[status]["description"] for status in responses if status >= "400"}

    create = codes("/support/tickets", "post")
    assert {"400", "401", "404", "422", "429"} <= set(create)
    assert "`not_found`" in create["404"] and "`idempotency_key_reused`" in create["422"]
    assert "`ticket_closed`" in codes("/support/tickets/{ticket_id}/messages", "post")["409"]
    assert "`invalid_cursor`" in codes("/support/tickets", "get")["400"]
    assert "`forbidden`" in codes("/admin/tickets", "get")["403"]
    assert "`ticket_closed`" in codes("/admin/tickets/{ticket_id}/status", "post")["409"]
    assert "`ticket_closed`" in codes("/admin/tickets/{ticket_id}/messages", "post")["409"]
    assert "addition to the contract" in paths["/admin/tickets/{ticket_id}"]["get"]["description"]


# --- races: the status read is re-checked by the write ------------------------------------------------


def _stale_first(monkeypatch, module, name, stale):
    """`module.name` answers `stale` once (what a request read before a concurrent change), then the truth."""
    real = getattr(module, name)
    answers = [stale]
    monkeypatch.setattr(module, name, lambda *args: answers.pop() if answers else real(*args))


def test_a_user_message_racing_a_close_is_409_and_not_written(client, agent, monkeypatch):
    from chalicelib.errors import OkpayError
    from chalicelib.services.support import tickets

    _, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    ticket_id = new_ticket(client, headers)["ticket_id"]
    set_status(client, agent_headers, ticket_id, "solved")
    stale = Ticket.get(ticket_id)
    set_status(client, agent_headers, ticket_id, "closed")
    _stale_first(monkeypatch, tickets, "own_ticket", stale)
    with pytest.raises(OkpayError) as refused:
        tickets.add_user_message(user.user_id, ticket_id, "Hello?", clock.now())
    assert refused.value.code == "ticket_closed"
    assert len(read(client, headers, ticket_id)["messages"]) == 1


def test_a_user_message_racing_a_solve_still_reopens(client, agent, monkeypatch):
    from chalicelib.services.support import tickets

    _, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    ticket_id = new_ticket(client, headers)["ticket_id"]
    set_status(client, agent_headers, ticket_id, "pending")
    stale = Ticket.get(ticket_id)
    set_status(client, agent_headers, ticket_id, "solved")  # lands between the read and the write
    _stale_first(monkeypatch, tickets, "own_ticket", stale)
    tickets.add_user_message(user.user_id, ticket_id, "Not solved!", clock.now())
    assert Ticket.get(ticket_id).status == "open"
    last = case(client, agent_headers, ticket_id)["events"][-1]
    assert last["detail"] == {"from": "solved", "to": "open", "cause": "reopened"}


def test_two_agents_answering_at_once_make_one_first_response(client, agent, monkeypatch):
    from chalicelib.services.support import ticket_desk

    _, agent_headers = agent
    headers = signed_in(make_user())
    ticket_id = new_ticket(client, headers)["ticket_id"]
    stale = Ticket.get(ticket_id)
    agent_reply(client, agent_headers, ticket_id, "I got it")
    responded = Ticket.get(ticket_id).first_responded_at
    other, _ = second_agent()
    _stale_first(monkeypatch, ticket_desk, "agent_ticket", stale)
    ticket_desk.reply(other.user_id, ticket_id, "Me too", clock.now())
    stored = Ticket.get(ticket_id)
    assert stored.first_responded_at == responded and stored.assignee == other.user_id
    detail = case(client, agent_headers, ticket_id)
    assert [e["action"] for e in detail["events"]].count("first_response") == 1
    assert [m["body"] for m in detail["messages"]] == [detail["messages"][0]["body"], "I got it", "Me too"]
