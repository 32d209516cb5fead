"""`chat_queue` job (contract section 12), on the test clock: long waits become tickets, silent
active chats are resolved; repeated or overlapping runs do nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters import clock
from chalicelib.store.users import User, email_claim, find_claim_owner
from localstage.seed import AGENT_EMAIL
from tests.helpers.chats import accept, agent_says, get_chat, messages_of, new_chat, presence, say
from tests.helpers.clock import move_clock
from tests.helpers.http import body_of, post_json
from tests.helpers.outbox import messages as sent_to
from tests.helpers.parallel import run_together
from tests.helpers.users import make_user, signed_in

NOV_24 = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # 09:30 in Beijing


@pytest.fixture
def agent(seeded):
    """The seeded support agent and its headers."""
    user = User.get(find_claim_owner(email_claim(AGENT_EMAIL)))
    return user, signed_in(user, device_id="console")


def run_job(client, at: datetime | None = None) -> dict:
    payload = {"now": clock.isoformat(at)} if at else {}
    response = post_json(client, "/_local/jobs/chat_queue", payload)
    assert response.status_code == 200, response.body
    body = body_of(response)
    assert body["job"] == "chat_queue"
    return body["result"]


def test_a_chat_waiting_10_minutes_becomes_a_ticket_and_only_once(client, agent):
    clock.set_test_clock(NOV_24)
    _, agent_headers = agent
    presence(client, agent_headers, "online")  # someone is online: the 10-minute rule
    user = make_user(locale="en")
    headers = signed_in(user)
    chat = new_chat(client, headers, body="Is anyone there?", category="transfer")
    move_clock(timedelta(minutes=9))
    assert run_job(client)["tickets_created"] == 0
    assert get_chat(client, headers, chat["chat_id"])["status"] == "waiting"
    move_clock(timedelta(minutes=1, seconds=1))
    result = run_job(client)
    assert result["tickets_created"] == 1 and result["nobody_online"] is False
    seen = get_chat(client, headers, chat["chat_id"])
    assert seen["status"] == "resolved" and seen["ticket_id"].startswith("tkt_")
    ticket = body_of(client.get(f"/support/tickets/{seen['ticket_id']}", headers=headers))
    assert ticket["source"] == "chat" and ticket["status"] == "new" and ticket["category"] == "transfer"
    assert "You: Is anyone there?" in ticket["messages"][0]["body"]
    last = messages_of(client, headers, chat["chat_id"])["data"][-1]
    assert last["sender"] == "system" and seen["ticket_id"] in last["body"]
    (email,) = sent_to(user.email)
    assert email.subject == f"Okpay: your chat became ticket {seen['ticket_id']}"
    again = run_job(client)  # run twice: nothing twice
    assert again["tickets_created"] == 0
    assert len(sent_to(user.email)) == 1
    tickets = body_of(client.get("/support/tickets", headers=headers))["data"]
    assert len(tickets) == 1
    # The user can start a new chat: the old one no longer counts as open.
    assert new_chat(client, headers)["status"] == "waiting"


def test_with_nobody_online_two_minutes_are_enough(client, agent):
    clock.set_test_clock(NOV_24)
    _, agent_headers = agent
    presence(client, agent_headers, "away")
    user = make_user(locale="zh-CN")
    headers = signed_in(user)
    chat = new_chat(client, headers, body="有人吗？")
    move_clock(timedelta(minutes=1, seconds=50))
    assert run_job(client)["tickets_created"] == 0
    move_clock(timedelta(seconds=15))
    result = run_job(client)
    assert result == {**result, "tickets_created": 1, "nobody_online": True}
    seen = get_chat(client, headers, chat["chat_id"])
    assert seen["status"] == "resolved" and seen["ticket_id"]
    (email,) = sent_to(user.email)
    assert email.subject == f"Okpay 在线客服对话已转为工单 {seen['ticket_id']}"
    assert "您: 有人吗？" in email.body
    last = messages_of(client, headers, chat["chat_id"])["data"][-1]
    assert last["body"].startswith("暂时没有客服能及时接入")


def test_an_accepted_chat_is_not_turned_into_a_ticket(client, agent):
    clock.set_test_clock(NOV_24)
    _, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    chat = new_chat(client, headers)
    accept(client, agent_headers, chat["chat_id"])
    move_clock(timedelta(minutes=15))
    assert run_job(client)["tickets_created"] == 0
    assert get_chat(client, signed_in(user), chat["chat_id"])["status"] == "active"


def test_a_user_silent_30_minutes_after_a_reply_is_resolved_once(client, agent):
    clock.set_test_clock(NOV_24)
    _, agent_headers = agent
    user = make_user(locale="en")
    headers = signed_in(user)
    chat = new_chat(client, headers)
    accept(client, agent_headers, chat["chat_id"])
    agent_says(client, agent_headers, chat["chat_id"], "Could you send the order number?")
    move_clock(timedelta(minutes=29))
    assert run_job(client)["resolved_idle"] == 0
    move_clock(timedelta(minutes=1, seconds=1))
    runs = run_together(lambda: run_job(client), lambda: run_job(client))  # overlapping runs
    assert sorted(r["resolved_idle"] for r in runs) == [0, 1]
    seen = get_chat(client, signed_in(user), chat["chat_id"])
    assert seen["status"] == "resolved" and "ticket_id" not in seen
    (email,) = sent_to(user.email)
    assert email.subject == f"Okpay: your chat transcript ({chat['chat_id']})"
    assert "Could you send the order number?" in email.body
    assert run_job(client)["resolved_idle"] == 0
    assert len(sent_to(user.email)) == 1
    assert presence(client, signed_in(agent[0]), "online")["active_chats"] == 0


def test_a_chat_is_not_idle_while_the_agent_owes_an_answer(client, agent):
    clock.set_test_clock(NOV_24)
    agent_user, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    chat = new_chat(client, headers)
    accept(client, agent_headers, chat["chat_id"])
    move_clock(timedelta(minutes=40))  # no agent reply yet
    assert run_job(client)["resolved_idle"] == 0
    assert agent_says(client, signed_in(agent_user), chat["chat_id"], "Sorry for the wait.").status_code == 201
    move_clock(timedelta(minutes=5))
    reply = say(client, signed_in(user), chat["chat_id"], "No problem")  # the user answered: the agent's turn
    assert reply.status_code == 201
    move_clock(timedelta(minutes=40))
    assert run_job(client)["resolved_idle"] == 0
    assert get_chat(client, signed_in(user), chat["chat_id"])["status"] == "active"
