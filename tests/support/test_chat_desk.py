"""Live chat as agents work it (contract section 12): presence, the queue, accept, reply, internal
notes, resolve, to-ticket, own_case."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.adapters import clock
from chalicelib.services.support.chats import open_chat_ids
from chalicelib.store.chat_presence import online_agent_ids
from tests.helpers.chats import (
    accept,
    agent_chat,
    agent_says,
    close,
    get_chat,
    messages_of,
    new_chat,
    presence,
    say,
)
from tests.helpers.http import assert_error, body_of, post_json, put_json
from tests.helpers.outbox import messages as sent_to
from tests.helpers.support import agent_as_customer
from tests.helpers.users import make_user, signed_in

NOV_24 = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # 09:30 in Beijing


def second_agent():
    agent = make_user(role="agent")
    agent.display_name = "客服 小李"
    agent.save()
    return agent, signed_in(agent)


# --- presence --------------------------------------------------------------------------------------


def test_presence_is_set_and_validated(client, agent):
    agent_user, headers = agent
    body = presence(client, headers, "online")
    assert body["agent_id"] == agent_user.user_id
    assert (body["status"], body["max_chats"], body["active_chats"]) == ("online", 3, 0)
    assert agent_user.user_id in online_agent_ids()
    assert presence(client, headers, "away", max_chats=10)["max_chats"] == 10
    assert agent_user.user_id not in online_agent_ids()
    for bad in ({"status": "busy"}, {"status": "online", "max_chats": 0}, {"status": "online", "max_chats": 11}):
        assert_error(put_json(client, "/admin/presence", bad, headers), 400, "validation_error")
    customer = signed_in(make_user())
    assert_error(put_json(client, "/admin/presence", {"status": "online"}, customer), 403, "forbidden")


# --- the queue -------------------------------------------------------------------------------------


def test_the_queue_is_oldest_waiting_first_with_positions(client, agent):
    _, agent_headers = agent
    chats = [new_chat(client, signed_in(make_user())) for _ in range(3)]
    page = body_of(client.get("/admin/chats?status=waiting&limit=2", headers=agent_headers))
    ids = [c["chat_id"] for c in page["data"]]
    whole = []
    while True:
        whole += [c for c in page["data"]]
        if not page["next_cursor"]:
            break
        page = body_of(
            client.get(f"/admin/chats?status=waiting&limit=2&cursor={page['next_cursor']}", headers=agent_headers)
        )
    mine = [c for c in whole if c["chat_id"] in {x["chat_id"] for x in chats}]
    assert [c["chat_id"] for c in mine] == [c["chat_id"] for c in chats]
    assert [c["queue_position"] for c in whole] == list(range(1, len(whole) + 1))
    assert all(c["status"] == "waiting" and "user_id" in c for c in whole)
    assert len(ids) == 2


def test_mine_lists_only_the_callers_active_chats(client, agent):
    _, agent_headers = agent
    _, other_headers = second_agent()
    first = new_chat(client, signed_in(make_user()))
    second = new_chat(client, signed_in(make_user()))
    accept(client, agent_headers, first["chat_id"])
    accept(client, other_headers, second["chat_id"])
    mine = body_of(client.get("/admin/chats?mine=true", headers=agent_headers))["data"]
    assert [c["chat_id"] for c in mine] == [first["chat_id"]]
    assert mine[0]["status"] == "active"
    active = body_of(client.get("/admin/chats?status=active", headers=agent_headers))["data"]
    assert {first["chat_id"], second["chat_id"]} <= {c["chat_id"] for c in active}
    assert_error(client.get("/admin/chats?status=resolved", headers=agent_headers), 400, "validation_error")


# --- accepting -------------------------------------------------------------------------------------


def test_accepting_makes_the_chat_active_and_tells_the_user(client, agent):
    agent_user, agent_headers = agent
    headers = signed_in(make_user())
    chat = new_chat(client, headers)
    presence(client, agent_headers, "online")
    accepted = accept(client, agent_headers, chat["chat_id"])
    assert accepted["status"] == "active" and "queue_position" not in accepted
    assert accepted["assignee"] == {"agent_id": agent_user.user_id, "display_name": "Okpay 客服"}
    seen = get_chat(client, headers, chat["chat_id"])
    assert seen["status"] == "active" and seen["assignee"]["agent_id"] == agent_user.user_id
    assert seen["unread"] == 1 and seen["last_seq"] == 2
    joined = messages_of(client, headers, chat["chat_id"])["data"][-1]
    assert joined["seq"] == 2 and joined["sender"] == "system" and "Okpay 客服" in joined["body"]
    again = accept(client, agent_headers, chat["chat_id"])  # the assignee again: 200, nothing new
    assert again["status"] == "active" and again["last_seq"] == 2
    assert presence(client, agent_headers, "online")["active_chats"] == 1


def test_another_agent_cannot_take_an_accepted_chat(client, agent):
    _, agent_headers = agent
    _, other_headers = second_agent()
    chat = new_chat(client, signed_in(make_user()))
    accept(client, agent_headers, chat["chat_id"])
    assert_error(accept(client, other_headers, chat["chat_id"], expect=None), 409, "chat_taken")
    assert_error(agent_says(client, other_headers, chat["chat_id"]), 409, "chat_taken")
    assert_error(post_json(client, f"/admin/chats/{chat['chat_id']}/resolve", {}, other_headers), 409, "chat_taken")
    assert_error(post_json(client, f"/admin/chats/{chat['chat_id']}/to-ticket", {}, other_headers), 409, "chat_taken")


def test_an_away_agent_or_one_at_max_chats_cannot_accept(client, agent):
    _, agent_headers = agent
    chats = [new_chat(client, signed_in(make_user())) for _ in range(3)]
    presence(client, agent_headers, "away")
    assert_error(accept(client, agent_headers, chats[0]["chat_id"], expect=None), 409, "chat_limit_reached")
    presence(client, agent_headers, "online", max_chats=2)
    accept(client, agent_headers, chats[0]["chat_id"])
    accept(client, agent_headers, chats[1]["chat_id"])
    assert_error(accept(client, agent_headers, chats[2]["chat_id"], expect=None), 409, "chat_limit_reached")
    post_json(client, f"/admin/chats/{chats[0]['chat_id']}/resolve", {}, agent_headers)  # a slot back
    assert accept(client, agent_headers, chats[2]["chat_id"])["status"] == "active"


def test_a_resolved_chat_cannot_be_accepted_or_written_to(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user())
    chat = new_chat(client, headers)
    assert_error(agent_says(client, agent_headers, chat["chat_id"]), 409, "chat_not_active")  # still waiting
    close(client, headers, chat["chat_id"])
    assert_error(accept(client, agent_headers, chat["chat_id"], expect=None), 409, "chat_not_active")
    assert_error(agent_says(client, agent_headers, chat["chat_id"]), 409, "chat_not_active")
    to_ticket = post_json(client, f"/admin/chats/{chat['chat_id']}/to-ticket", {}, agent_headers)
    assert_error(to_ticket, 409, "chat_not_active")


def test_unknown_chats_are_not_found_for_agents(client, agent):
    _, agent_headers = agent
    for path in ("accept", "resolve", "to-ticket"):
        assert_error(post_json(client, f"/admin/chats/chat_missing/{path}", {}, agent_headers), 404, "not_found")
    assert_error(client.get("/admin/chats/chat_missing", headers=agent_headers), 404, "not_found")
    assert_error(agent_says(client, agent_headers, "chat_missing"), 404, "not_found")


def test_an_agent_never_handles_their_own_chat(client):
    _, agent_headers = agent_as_customer(client)
    chat = new_chat(client, agent_headers)  # the agent, as a customer
    assert_error(accept(client, agent_headers, chat["chat_id"], expect=None), 403, "own_case")
    assert_error(agent_says(client, agent_headers, chat["chat_id"]), 403, "own_case")
    assert_error(post_json(client, f"/admin/chats/{chat['chat_id']}/resolve", {}, agent_headers), 403, "own_case")
    assert_error(post_json(client, f"/admin/chats/{chat['chat_id']}/to-ticket", {}, agent_headers), 403, "own_case")


# --- replies and internal notes --------------------------------------------------------------------


def test_the_first_reply_sets_first_response_at_and_notes_stay_internal(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user())
    chat = new_chat(client, headers, body="Where is my money?")
    accept(client, agent_headers, chat["chat_id"])
    note = agent_says(client, agent_headers, chat["chat_id"], "check the bank file", internal=True)
    assert note.status_code == 201
    assert body_of(note)["seq"] is None and body_of(note)["internal"] is True and body_of(note)["after_seq"] == 2
    assert "first_response_at" not in get_chat(client, headers, chat["chat_id"])  # a note is no response
    reply = agent_says(client, agent_headers, chat["chat_id"], "It arrives tomorrow.")
    assert reply.status_code == 201 and body_of(reply)["seq"] == 3 and body_of(reply)["internal"] is False
    seen = get_chat(client, headers, chat["chat_id"])
    assert seen["first_response_at"] == body_of(reply)["sent_at"]
    user_view = messages_of(client, headers, chat["chat_id"])["data"]
    assert [m["seq"] for m in user_view] == [1, 2, 3]
    assert all("check the bank file" not in m["body"] for m in user_view)
    assert user_view[2]["agent_name"] == "Okpay 客服" and "internal" not in user_view[2]
    later = agent_says(client, agent_headers, chat["chat_id"], "Anything else?")
    assert get_chat(client, headers, chat["chat_id"])["first_response_at"] == seen["first_response_at"]
    whole = agent_chat(client, agent_headers, chat["chat_id"])
    assert [(m["seq"], m["internal"]) for m in whole["messages"]] == [
        (1, False),
        (2, False),
        (None, True),
        (3, False),
        (4, False),
    ]
    assert whole["messages"][2]["after_seq"] == 2 and whole["user_id"]
    assert body_of(later)["seq"] == 4


def test_agent_messages_mask_card_numbers(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user())
    chat = new_chat(client, headers)
    accept(client, agent_headers, chat["chat_id"])
    agent_says(client, agent_headers, chat["chat_id"], "Is it 4111-1111-1111-1111?")
    assert messages_of(client, headers, chat["chat_id"])["data"][-1]["body"] == "Is it **** 1111?"


# --- resolving and to-ticket -----------------------------------------------------------------------


def test_resolving_emails_the_transcript_once(client, agent):
    clock.set_test_clock(NOV_24)
    _, agent_headers = agent
    user = make_user(locale="zh-CN")
    headers = signed_in(user)
    chat = new_chat(client, headers, body="你好，充值没到账")
    accept(client, agent_headers, chat["chat_id"])
    agent_says(client, agent_headers, chat["chat_id"], "已为您查询，明天到账。")
    resolved = body_of(post_json(client, f"/admin/chats/{chat['chat_id']}/resolve", {}, agent_headers))
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    assert open_chat_ids(user.user_id) == []
    (email,) = sent_to(user.email)
    assert email.subject == f"Okpay 在线客服对话记录（{chat['chat_id']}）"
    assert "[2026-11-24 09:30] 您: 你好，充值没到账" in email.body
    assert "Okpay 客服: 已为您查询，明天到账。" in email.body
    again = post_json(client, f"/admin/chats/{chat['chat_id']}/resolve", {}, agent_headers)
    assert again.status_code == 200 and body_of(again)["status"] == "resolved"
    assert len(sent_to(user.email)) == 1
    assert presence(client, agent_headers, "online")["active_chats"] == 0  # the slot was given back


def test_any_agent_resolves_a_waiting_chat(client, agent):
    _, agent_headers = agent
    user = make_user()
    chat = new_chat(client, signed_in(user))
    assert open_chat_ids(user.user_id) == [chat["chat_id"]]
    response = post_json(client, f"/admin/chats/{chat['chat_id']}/resolve", {}, agent_headers)
    assert response.status_code == 200 and body_of(response)["status"] == "resolved"


def test_to_ticket_opens_a_chat_ticket_with_the_transcript(client, agent):
    clock.set_test_clock(NOV_24)
    _, agent_headers = agent
    user = make_user(locale="en")
    headers = signed_in(user)
    chat = new_chat(client, headers, body="My withdrawal is stuck", category="payment")
    accept(client, agent_headers, chat["chat_id"])
    agent_says(client, agent_headers, chat["chat_id"], "I will pass this to the payments team.")
    agent_says(client, agent_headers, chat["chat_id"], "internal only", internal=True)
    response = post_json(client, f"/admin/chats/{chat['chat_id']}/to-ticket", {}, agent_headers)
    assert response.status_code == 201, response.body
    ticket = body_of(response)
    assert ticket["source"] == "chat" and ticket["status"] == "new" and ticket["category"] == "payment"
    assert ticket["user_id"] == user.user_id
    seen = get_chat(client, headers, chat["chat_id"])
    assert seen["status"] == "resolved" and seen["ticket_id"] == ticket["ticket_id"]
    last = messages_of(client, headers, chat["chat_id"])["data"][-1]
    assert last["sender"] == "system" and ticket["ticket_id"] in last["body"]
    mine = body_of(client.get(f"/support/tickets/{ticket['ticket_id']}", headers=headers))
    assert mine["source"] == "chat"
    (first,) = mine["messages"]
    assert "You: My withdrawal is stuck" in first["body"]
    assert "I will pass this to the payments team." in first["body"] and "internal only" not in first["body"]
    (email,) = sent_to(user.email)
    assert email.subject == f"Okpay: your chat became ticket {ticket['ticket_id']}"
    assert "My withdrawal is stuck" in email.body
    assert presence(client, agent_headers, "online")["active_chats"] == 0


def test_tickets_opened_in_the_app_say_so(client):
    headers = signed_in(make_user())
    payload = {"subject": "Hi", "body": "Question", "category": "other"}
    ticket = body_of(post_json(client, "/support/tickets", payload, headers))
    assert ticket["source"] == "app"


def test_a_user_message_reaches_the_assignee_view_as_unread(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user())
    chat = new_chat(client, headers)
    accept(client, agent_headers, chat["chat_id"])
    say(client, headers, chat["chat_id"], "hello?")
    assert agent_chat(client, agent_headers, chat["chat_id"])["unread"] == 1
    agent_says(client, agent_headers, chat["chat_id"], "hi")
    assert agent_chat(client, agent_headers, chat["chat_id"])["unread"] == 0


# --- what is pushed (chat_push is the WebSocket layer's interface) -----------------------------------


def test_pushes_keep_internal_notes_from_the_user(client, agent, monkeypatch):
    from chalicelib.services.support import chat_push

    frames: list[tuple[str, object, dict]] = []
    monkeypatch.setattr(chat_push, "to_user", lambda user_id, frame: frames.append(("user", user_id, frame)))
    monkeypatch.setattr(chat_push, "to_agents", lambda ids, frame: frames.append(("agents", list(ids), frame)))
    monkeypatch.setattr(chat_push, "to_online_agents", lambda frame: frames.append(("online", None, frame)))
    agent_user, agent_headers = agent
    user = make_user()
    headers = signed_in(user)
    chat = new_chat(client, headers)
    (waiting,) = [f for f in frames if f[0] == "online"]
    assert waiting[2]["type"] == "chat.waiting" and waiting[2]["chat"]["chat_id"] == chat["chat_id"]
    frames.clear()
    accept(client, agent_headers, chat["chat_id"])
    kinds = {(who, frame["type"]) for who, _, frame in frames}
    assert kinds == {
        ("user", "message.new"),
        ("agents", "message.new"),
        ("user", "chat.updated"),
        ("agents", "chat.updated"),
    }
    frames.clear()
    agent_says(client, agent_headers, chat["chat_id"], "note for agents", internal=True)
    assert [(who, target) for who, target, _ in frames] == [("agents", [agent_user.user_id])]
    assert frames[0][2]["message"]["internal"] is True
    frames.clear()
    agent_says(client, agent_headers, chat["chat_id"], "hello")
    to_user = [frame for who, target, frame in frames if who == "user"]
    assert [f["message"]["body"] for f in to_user] == ["hello"] and "internal" not in to_user[0]["message"]
    assert all(target == user.user_id for who, target, _ in frames if who == "user")
