"""Live chat under parallel requests (contract section 12): one winner, capacity, gap-free seq,
client_msg_id stored once, 20 a minute, one open chat, one transcript."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.adapters import clock
from chalicelib.store.chats import ChatMessage
from tests.helpers.chats import accept, agent_says, messages_of, new_chat, presence, say, start_chat
from tests.helpers.http import body_of, post_json
from tests.helpers.outbox import messages as sent_to
from tests.helpers.parallel import run_together
from tests.helpers.users import make_user, signed_in

NOV_24 = datetime(2026, 11, 24, 1, 30, 5, tzinfo=UTC)  # early in a minute: a burst stays in one window


def agents(n: int) -> list[tuple[object, dict[str, str]]]:
    made = []
    for _ in range(n):
        agent = make_user(role="agent")
        made.append((agent, signed_in(agent)))
    return made


def codes(responses) -> list[str]:
    return sorted("ok" if r.status_code in (200, 201, 204) else body_of(r)["error"]["code"] for r in responses)


def test_two_agents_accepting_at_once_make_one_assignee(client):
    (first, first_headers), (second, second_headers) = agents(2)
    chat = new_chat(client, signed_in(make_user()))
    responses = run_together(
        lambda: accept(client, first_headers, chat["chat_id"], expect=None),
        lambda: accept(client, second_headers, chat["chat_id"], expect=None),
    )
    assert codes(responses) == ["chat_taken", "ok"]
    winner = next(body_of(r) for r in responses if r.status_code == 200)
    assert winner["assignee"]["agent_id"] in (first.user_id, second.user_id)


def test_many_agents_accepting_at_once_make_one_assignee_and_one_join_message(client):
    crowd = agents(6)
    user_headers = signed_in(make_user())
    chat = new_chat(client, user_headers)
    responses = run_together(*(lambda h=h: accept(client, h, chat["chat_id"], expect=None) for _, h in crowd))
    assert codes(responses) == ["chat_taken"] * 5 + ["ok"]
    data = messages_of(client, user_headers, chat["chat_id"])["data"]
    assert [m["seq"] for m in data] == [1, 2]  # one system message: joined once
    held = [presence(client, h, "online")["active_chats"] for _, h in crowd]
    assert sorted(held) == [0, 0, 0, 0, 0, 1]


def test_capacity_holds_when_one_agent_accepts_many_chats_at_once(client):
    ((_, headers),) = agents(1)
    presence(client, headers, "online", max_chats=3)
    chats = [new_chat(client, signed_in(make_user())) for _ in range(7)]
    responses = run_together(*(lambda c=c: accept(client, headers, c["chat_id"], expect=None) for c in chats))
    assert codes(responses) == ["chat_limit_reached"] * 4 + ["ok"] * 3
    assert presence(client, headers, "online")["active_chats"] == 3
    mine = body_of(client.get("/admin/chats?mine=true", headers=headers))["data"]
    assert len(mine) == 3


def test_seq_has_no_gaps_when_user_and_agent_write_at_once(client):
    ((_, agent_headers),) = agents(1)
    user_headers = signed_in(make_user())
    chat = new_chat(client, user_headers)
    accept(client, agent_headers, chat["chat_id"])  # seq 2
    calls = []
    for n in range(8):
        calls.append(lambda n=n: say(client, user_headers, chat["chat_id"], f"user {n}"))
        calls.append(lambda n=n: agent_says(client, agent_headers, chat["chat_id"], f"agent {n}"))
    calls.append(lambda: agent_says(client, agent_headers, chat["chat_id"], "a note", internal=True))
    responses = run_together(*calls)
    assert all(r.status_code == 201 for r in responses), [r.body for r in responses if r.status_code != 201]
    seqs = sorted(body_of(r)["seq"] for r in responses if body_of(r)["seq"] is not None)
    assert seqs == list(range(3, 19))
    data = messages_of(client, user_headers, chat["chat_id"])["data"]
    assert [m["seq"] for m in data] == list(range(1, 19))
    assert sorted(m["body"] for m in data[2:]) == sorted(
        [f"user {n}" for n in range(8)] + [f"agent {n}" for n in range(8)]
    )


def test_a_client_msg_id_sent_twice_at_once_is_stored_once(client):
    user_headers = signed_in(make_user())
    chat = new_chat(client, user_headers)
    responses = run_together(
        *(lambda n=n: say(client, user_headers, chat["chat_id"], f"body {n}", client_msg_id="dup-1") for n in range(5))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 200, 201]
    assert len({body_of(r)["seq"] for r in responses}) == 1
    assert len({body_of(r)["body"] for r in responses}) == 1
    data = messages_of(client, user_headers, chat["chat_id"])["data"]
    assert [m["seq"] for m in data] == [1, 2]
    stored = [m for m in ChatMessage.query(chat["chat_id"]) if m.client_msg_id == "dup-1" and m.seq == 2]
    assert len(stored) == 2  # the message and its marker, nothing more


def test_twenty_a_minute_hold_under_a_parallel_burst(client):
    clock.set_test_clock(NOV_24)
    user_headers = signed_in(make_user())
    chat = new_chat(client, user_headers)  # 1 of the 20
    responses = run_together(*(lambda n=n: say(client, user_headers, chat["chat_id"], f"m{n}") for n in range(25)))
    assert codes(responses) == ["ok"] * 19 + ["rate_limited"] * 6
    data = messages_of(client, user_headers, chat["chat_id"])["data"]
    assert [m["seq"] for m in data] == list(range(1, 21))


def test_parallel_starts_make_one_chat(client):
    user_headers = signed_in(make_user())
    responses = run_together(*(lambda n=n: start_chat(client, user_headers, body=f"hello {n}") for n in range(6)))
    assert codes(responses) == ["chat_exists"] * 5 + ["ok"]
    created = next(body_of(r) for r in responses if r.status_code == 201)
    for response in responses:
        if response.status_code == 409:
            assert body_of(response)["error"]["details"] == {"chat_id": created["chat_id"]}
    page = body_of(client.get("/support/chats", headers=user_headers))
    assert [c["chat_id"] for c in page["data"]] == [created["chat_id"]]


def test_parallel_resolves_send_one_transcript(client):
    ((_, agent_headers),) = agents(1)
    user = make_user()
    user_headers = signed_in(user)
    chat = new_chat(client, user_headers)
    accept(client, agent_headers, chat["chat_id"])
    calls = [lambda: post_json(client, f"/admin/chats/{chat['chat_id']}/resolve", {}, agent_headers) for _ in range(4)]
    calls += [lambda: post_json(client, f"/support/chats/{chat['chat_id']}/close", {}, user_headers) for _ in range(2)]
    responses = run_together(*calls)
    assert all(r.status_code == 200 and body_of(r)["status"] == "resolved" for r in responses)
    assert len(sent_to(user.email)) == 1
    assert presence(client, agent_headers, "online")["active_chats"] == 0  # given back once
    data = messages_of(client, user_headers, chat["chat_id"])["data"]
    assert [m["sender"] for m in data] == ["user", "system", "system"]  # joined, then ended once
