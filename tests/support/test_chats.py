"""Live chat as the user sees it (contract section 12): start one, write, read, close, reopen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.adapters import clock
from tests.helpers.chats import (
    accept,
    agent_says,
    close,
    get_chat,
    messages_of,
    new_chat,
    presence,
    say,
    start_chat,
)
from tests.helpers.clock import move_clock
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.outbox import messages as sent_to
from tests.helpers.users import make_user, signed_in

NOV_24 = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
CHAT_FIELDS = {"chat_id", "status", "category", "queue_position", "waiting_since", "last_seq", "unread"}
CHAT_FIELDS |= {"created_at", "updated_at"}


# --- starting a chat -------------------------------------------------------------------------------


def test_a_new_chat_waits_in_the_queue_with_its_body_as_seq_1(client):
    clock.set_test_clock(NOV_24)
    headers = signed_in(make_user())
    chat = new_chat(client, headers, body="  My top-up is missing.  ", category="payment")
    assert set(chat) == CHAT_FIELDS, chat
    assert chat["chat_id"].startswith("chat_")
    assert chat["status"] == "waiting" and chat["category"] == "payment"
    assert chat["last_seq"] == 1 and chat["unread"] == 0 and chat["queue_position"] >= 1
    assert chat["waiting_since"] == chat["created_at"] == chat["updated_at"]
    assert chat["created_at"].endswith("+08:00")
    (first,) = messages_of(client, headers, chat["chat_id"])["data"]
    assert first["seq"] == 1 and first["sender"] == "user" and first["body"] == "My top-up is missing."
    assert get_chat(client, headers, chat["chat_id"]) == chat


def test_category_defaults_to_other(client):
    chat = new_chat(client, signed_in(make_user()))
    assert chat["category"] == "other"


def test_queue_positions_follow_waiting_since(client):
    first = new_chat(client, signed_in(make_user()))
    second_headers = signed_in(make_user())
    second = new_chat(client, second_headers)
    assert second["queue_position"] == first["queue_position"] + 1
    assert get_chat(client, second_headers, second["chat_id"])["queue_position"] == second["queue_position"]


def test_one_open_chat_at_a_time(client):
    headers = signed_in(make_user())
    chat = new_chat(client, headers)
    error = assert_error(start_chat(client, headers), 409, "chat_exists")
    assert error["details"] == {"chat_id": chat["chat_id"]}
    close(client, headers, chat["chat_id"])
    assert start_chat(client, headers).status_code == 201


def test_a_transaction_must_be_the_callers(client):
    headers = signed_in(make_user())
    response = start_chat(client, headers, transaction_id="txn_0000000000000000")
    assert_error(response, 404, "not_found", field="transaction_id")


def test_bodies_are_validated(client):
    headers = signed_in(make_user())
    assert_error(start_chat(client, headers, body=""), 400, "validation_error", field="body")
    assert_error(start_chat(client, headers, body="x" * 2001), 400, "validation_error", field="body")
    assert_error(start_chat(client, headers, category="billing"), 400, "validation_error", field="category")
    chat = new_chat(client, headers)
    response = post_json(client, f"/support/chats/{chat['chat_id']}/messages", {"body": "hi"}, headers)
    assert_error(response, 400, "validation_error", field="client_msg_id")
    response = say(client, headers, chat["chat_id"], "hi", client_msg_id="x" * 65)
    assert_error(response, 400, "validation_error", field="client_msg_id")


def test_an_idempotency_key_replays_the_start(client):
    headers = signed_in(make_user())
    first = start_chat(client, headers, key="start-1")
    again = start_chat(client, headers, key="start-1")
    assert first.status_code == again.status_code == 201
    assert body_of(again)["chat_id"] == body_of(first)["chat_id"]
    assert again.headers.get("Idempotent-Replayed") == "true"


# --- reading and writing ---------------------------------------------------------------------------


def test_another_users_chat_is_not_found(client):
    chat = new_chat(client, signed_in(make_user()))
    stranger = signed_in(make_user())
    assert_error(client.get(f"/support/chats/{chat['chat_id']}", headers=stranger), 404, "not_found")
    assert_error(say(client, stranger, chat["chat_id"], "hello"), 404, "not_found")
    assert_error(close(client, stranger, chat["chat_id"], expect=None), 404, "not_found")
    assert_error(client.get("/support/chats/chat_nope/messages", headers=stranger), 404, "not_found")


def test_messages_count_up_with_no_gaps_and_page_by_after_seq(client):
    headers = signed_in(make_user())
    chat = new_chat(client, headers)
    for n in range(2, 6):
        response = say(client, headers, chat["chat_id"], f"message {n}")
        assert response.status_code == 201
        assert body_of(response)["seq"] == n
    page = messages_of(client, headers, chat["chat_id"], after_seq=1, limit=2)
    assert [m["seq"] for m in page["data"]] == [2, 3]
    rest = client.get(f"/support/chats/{chat['chat_id']}/messages?cursor={page['next_cursor']}", headers=headers)
    assert [m["seq"] for m in body_of(rest)["data"]] == [4, 5]
    assert body_of(rest)["next_cursor"] is None
    assert get_chat(client, headers, chat["chat_id"])["last_seq"] == 5


def test_the_same_client_msg_id_is_stored_once(client):
    headers = signed_in(make_user())
    chat = new_chat(client, headers)
    first = say(client, headers, chat["chat_id"], "hello", client_msg_id="m-1")
    again = say(client, headers, chat["chat_id"], "something else", client_msg_id="m-1")
    assert first.status_code == 201 and again.status_code == 200
    assert body_of(again) == body_of(first)
    assert body_of(again)["body"] == "hello" and body_of(again)["client_msg_id"] == "m-1"
    assert [m["seq"] for m in messages_of(client, headers, chat["chat_id"])["data"]] == [1, 2]


def test_card_numbers_are_masked(client):
    headers = signed_in(make_user())
    chat = new_chat(client, headers, body="card 4111 1111 1111 1111 failed")
    say(client, headers, chat["chat_id"], "or 5500-0000-0000-0004 maybe")
    say(client, headers, chat["chat_id"], "order 4111 1111 1111 1112 and 6222020000000000001")
    say(client, headers, chat["chat_id"], "4012888888881881")
    bodies = [m["body"] for m in messages_of(client, headers, chat["chat_id"])["data"]]
    assert bodies == [
        "card **** 1111 failed",
        "or **** 0004 maybe",
        "order 4111 1111 1111 1112 and 6222020000000000001",  # neither passes Luhn
        "**** 1881",
    ]


def test_twenty_messages_a_minute(client):
    clock.set_test_clock(NOV_24)
    headers = signed_in(make_user())
    chat = new_chat(client, headers)  # the first message counts
    for n in range(19):
        assert say(client, headers, chat["chat_id"], f"m{n}").status_code == 201
    response = say(client, headers, chat["chat_id"], "one too many")
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1
    move_clock(timedelta(minutes=1))
    assert say(client, headers, chat["chat_id"], "next minute").status_code == 201


def test_read_marks_count_unread_and_never_move_back(client, agent):
    _, agent_headers = agent
    headers = signed_in(make_user())
    chat = new_chat(client, headers)
    presence(client, agent_headers, "online")
    accept(client, agent_headers, chat["chat_id"])  # seq 2: the system message
    agent_says(client, agent_headers, chat["chat_id"], "Hello")  # seq 3
    say(client, headers, chat["chat_id"], "Hi")  # seq 4: the user's own
    agent_says(client, agent_headers, chat["chat_id"], "Let me check")  # seq 5
    assert get_chat(client, headers, chat["chat_id"])["unread"] == 3
    read = post_json(client, f"/support/chats/{chat['chat_id']}/read", {"up_to_seq": 3}, headers)
    assert read.status_code == 204 and read.body in (b"", "", None)
    assert get_chat(client, headers, chat["chat_id"])["unread"] == 1
    post_json(client, f"/support/chats/{chat['chat_id']}/read", {"up_to_seq": 1}, headers)
    assert get_chat(client, headers, chat["chat_id"])["unread"] == 1  # not moved back
    post_json(client, f"/support/chats/{chat['chat_id']}/read", {"up_to_seq": 99}, headers)
    assert get_chat(client, headers, chat["chat_id"])["unread"] == 0
    bad = post_json(client, f"/support/chats/{chat['chat_id']}/read", {"up_to_seq": -1}, headers)
    assert_error(bad, 400, "validation_error", field="up_to_seq")


def test_the_users_chats_newest_first(client):
    headers = signed_in(make_user())
    first = new_chat(client, headers)
    close(client, headers, first["chat_id"])
    second = new_chat(client, headers)
    page = body_of(client.get("/support/chats?limit=1", headers=headers))
    assert [c["chat_id"] for c in page["data"]] == [second["chat_id"]]
    rest = body_of(client.get(f"/support/chats?limit=1&cursor={page['next_cursor']}", headers=headers))
    assert [c["chat_id"] for c in rest["data"]] == [first["chat_id"]]
    assert rest["data"][0]["status"] == "resolved"


# --- closing, transcripts and reopening --------------------------------------------------------------


def test_closing_emails_the_transcript_once_in_english(client, agent):
    clock.set_test_clock(NOV_24)
    _, agent_headers = agent
    user = make_user(locale="en")
    headers = signed_in(user)
    chat = new_chat(client, headers, body="My card 4111111111111111 was charged twice")
    presence(client, agent_headers, "online")
    accept(client, agent_headers, chat["chat_id"])
    agent_says(client, agent_headers, chat["chat_id"], "I will refund one of them.")
    agent_says(client, agent_headers, chat["chat_id"], "secret note", internal=True)
    closed = close(client, headers, chat["chat_id"])
    assert closed["status"] == "resolved" and "queue_position" not in closed
    (email,) = sent_to(user.email)
    assert email.subject == f"Okpay: your chat transcript ({chat['chat_id']})"
    assert "[2026-11-24 09:30] You: My card **** 1111 was charged twice" in email.body
    assert "Okpay 客服: I will refund one of them." in email.body  # the seeded agent's display name
    assert "4111111111111111" not in email.body and "secret note" not in email.body
    again = close(client, headers, chat["chat_id"])
    assert again["status"] == "resolved"
    assert len(sent_to(user.email)) == 1  # nothing sent again


def test_the_transcript_follows_the_users_language(client):
    clock.set_test_clock(NOV_24)
    user = make_user(locale="zh-CN")
    headers = signed_in(user)
    chat = new_chat(client, headers, body="你好")
    close(client, headers, chat["chat_id"])
    (email,) = sent_to(user.email)
    assert email.subject == f"Okpay 在线客服对话记录（{chat['chat_id']}）"
    assert "[2026-11-24 09:30] 您: 你好" in email.body
    assert "Okpay: 您已结束对话。" in email.body


def test_no_transcript_without_a_verified_email(client):
    user = make_user(email_verified=False)
    headers = signed_in(user)
    chat = new_chat(client, headers)
    close(client, headers, chat["chat_id"])
    assert sent_to(user.email) == []


def test_a_message_within_24_hours_reopens_the_chat_and_later_it_is_closed(client):
    clock.set_test_clock(NOV_24)
    user = make_user()
    headers = signed_in(user)
    chat = new_chat(client, headers)
    close(client, headers, chat["chat_id"])  # seq 2: the system message
    move_clock(timedelta(hours=23))
    headers = signed_in(user)  # access tokens do not last a day
    response = say(client, headers, chat["chat_id"], "One more thing")
    assert response.status_code == 201 and body_of(response)["seq"] == 3
    reopened = get_chat(client, headers, chat["chat_id"])
    assert reopened["status"] == "waiting" and reopened["queue_position"] >= 1
    assert reopened["waiting_since"] > chat["waiting_since"]
    assert_error(start_chat(client, headers), 409, "chat_exists")  # it is open again
    close(client, headers, chat["chat_id"])
    move_clock(timedelta(hours=24, seconds=1))
    headers = signed_in(user)
    error = assert_error(say(client, headers, chat["chat_id"], "Hello?"), 409, "chat_closed")
    assert "details" not in error
    assert get_chat(client, headers, chat["chat_id"])["status"] == "resolved"


def test_reopening_while_another_chat_is_open_is_chat_exists(client):
    headers = signed_in(make_user())
    old = new_chat(client, headers)
    close(client, headers, old["chat_id"])
    current = new_chat(client, headers)
    error = assert_error(say(client, headers, old["chat_id"], "back"), 409, "chat_exists")
    assert error["details"] == {"chat_id": current["chat_id"]}
    assert get_chat(client, headers, old["chat_id"])["status"] == "resolved"
