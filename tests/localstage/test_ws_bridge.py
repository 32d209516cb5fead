"""The local stage's live-chat WebSocket end to end (contract, sections 10 and 12): the real `make run`
server in a subprocess, real HTTP for the REST calls, a real `websockets` client on PORT+1."""

from __future__ import annotations

import json
import re
import signal
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from localstage.seed import AGENT2_EMAIL, AGENT2_PASSWORD, AGENT2_TOTP_SECRET, AGENT_EMAIL, AGENT_PASSWORD
from localstage.seed import AGENT_TOTP_SECRET as AGENT1_TOTP_SECRET
from tests.helpers.mfa import next_totp
from tests.helpers.users import PASSWORD, new_email, new_phone
from tests.live_server import local_server

_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
QUIET = 1.0  # seconds a socket must stay silent to count as "received nothing"


# --- over HTTP -----------------------------------------------------------------------------------------


def call(live, path: str, method: str = "GET", body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, _, answer = live.call(path, method, body, headers)
    return status, answer


def sign_up(live) -> dict:
    """A new account over HTTP: its token body (access_token, session_id, user_id …)."""
    phone, email = new_phone(), new_email("ws")
    assert call(live, "/auth/register/start", "POST", {"phone": phone})[0] == 202
    _, sent = call(live, f"/_local/outbox?to={quote(phone)}")
    code = _CODE.search(sent["data"][0]["body"]).group(1)
    payload = {"phone": phone, "code": code, "email": email, "password": PASSWORD, "display_name": "WS Tester"}
    status, tokens = call(live, "/auth/register", "POST", payload)
    assert status == 201, tokens
    return {**tokens, "phone": phone}


def sign_in_agent(live, email: str, password: str, secret: str) -> dict:
    status, challenge = call(live, "/auth/login", "POST", {"login": email, "password": password, "device_id": "ws"})
    assert status == 200 and challenge.get("mfa_required"), challenge
    body = {"mfa_token": challenge["mfa_token"], "method": "totp", "code": next_totp(secret)}
    status, tokens = call(live, "/auth/mfa/verify", "POST", body)
    assert status == 200, tokens
    return tokens


def ticket(live, token: str, path: str = "/support/chats/ws-ticket") -> dict:
    status, body = call(live, path, "POST", None, token)
    assert status == 201, body
    return body


# --- over the socket -------------------------------------------------------------------------------


def open_socket(live, token: str, path: str = "/support/chats/ws-ticket") -> Any:
    issued = ticket(live, token, path)
    return ws_connect(f"{issued['url']}?ticket={quote(issued['ticket'])}", open_timeout=10)


def refusal(url: str) -> tuple[int, dict]:
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(url, open_timeout=10).close()
    response = refused.value.response
    return response.status_code, json.loads(response.body)


def frames_until(ws: Any, kind: str, timeout: float = 10, **like: Any) -> dict:
    """The next frame of type `kind` whose `message.body` (or other top-level fields) match `like`;
    others are skipped."""
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame["type"] != kind:
            continue
        if "body" in like and frame.get("message", {}).get("body") != like["body"]:
            continue
        if all(frame.get(name) == value for name, value in like.items() if name != "body"):
            return frame


def silent(ws: Any, seconds: float = QUIET) -> list[dict]:
    """Every frame that arrives within `seconds` (the test expects none)."""
    got = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            got.append(json.loads(ws.recv(timeout=left)))
        except TimeoutError:
            break
    return got


def closed_by_server(ws: Any, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=deadline - time.monotonic())
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False
    return False


@pytest.fixture(scope="module")
def agents(live_stage) -> dict[str, dict]:
    """The two seeded agents, signed in with TOTP once for the module, online with room for chats."""
    signed = {
        "agent": sign_in_agent(live_stage, AGENT_EMAIL, AGENT_PASSWORD, AGENT1_TOTP_SECRET),
        "agent2": sign_in_agent(live_stage, AGENT2_EMAIL, AGENT2_PASSWORD, AGENT2_TOTP_SECRET),
    }
    for tokens in signed.values():
        status, body = call(
            live_stage, "/admin/presence", "PUT", {"status": "online", "max_chats": 10}, tokens["access_token"]
        )
        assert status == 200, body
    return signed


# --- connecting ----------------------------------------------------------------------------------------


def test_make_run_serves_the_socket_on_port_plus_one_and_a_ticket_says_so(live_stage):
    user = sign_up(live_stage)
    issued = ticket(live_stage, user["access_token"])
    assert issued["url"] == live_stage.ws_url == f"ws://127.0.0.1:{live_stage.port + 1}"
    assert issued["expires_in"] == 60
    with ws_connect(f"{issued['url']}?ticket={quote(issued['ticket'])}", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}


@pytest.mark.parametrize("query", ["", "?ticket=", "?ticket=wst_nonsense", "?token=abc"])
def test_a_bad_ticket_is_refused_with_401_on_the_upgrade(live_stage, query):
    status, body = refusal(f"{live_stage.ws_url}{query}")
    assert status == 401
    assert body["error"]["code"] == "unauthorized" and body["error"]["request_id"]


def test_a_ticket_used_twice_is_refused_the_second_time(live_stage):
    user = sign_up(live_stage)
    issued = ticket(live_stage, user["access_token"])
    url = f"{issued['url']}?ticket={quote(issued['ticket'])}"
    with ws_connect(url, open_timeout=10):
        assert refusal(url)[0] == 401


def test_two_connects_at_once_with_one_ticket_one_wins(live_stage):
    user = sign_up(live_stage)
    issued = ticket(live_stage, user["access_token"])
    url = f"{issued['url']}?ticket={quote(issued['ticket'])}"
    outcomes: list[Any] = []
    barrier = threading.Barrier(3)

    def attempt() -> None:
        barrier.wait()
        try:
            outcomes.append(ws_connect(url, open_timeout=10))
        except InvalidStatus as refused:
            outcomes.append(refused.response.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    opened = [outcome for outcome in outcomes if not isinstance(outcome, int)]
    assert len(opened) == 1 and sorted(o for o in outcomes if isinstance(o, int)) == [401, 401]
    opened[0].close()


def test_an_expired_ticket_is_refused(live_stage):
    user = sign_up(live_stage)
    issued = ticket(live_stage, user["access_token"])
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert call(live_stage, "/_local/clock", "PUT", {"now": later.isoformat()})[0] == 200
    try:
        assert refusal(f"{issued['url']}?ticket={quote(issued['ticket'])}")[0] == 401
    finally:
        call(live_stage, "/_local/clock", "DELETE")


def test_a_frame_that_is_not_ping_or_typing_gets_an_error_frame(live_stage):
    user = sign_up(live_stage)
    with open_socket(live_stage, user["access_token"]) as ws:
        ws.send("hello")
        error = frames_until(ws, "error")["error"]
        assert error["code"] == "validation_error" and error["message"] and error["request_id"]
        ws.send(json.dumps({"type": "subscribe", "chat_id": "chat_x"}))
        assert frames_until(ws, "error")["error"]["field"] == "type"
        ws.send(json.dumps({"type": "ping"}))
        assert frames_until(ws, "pong") == {"type": "pong"}  # the socket stays open


# --- revoked sessions ----------------------------------------------------------------------------------


def test_signing_out_closes_the_sessions_socket(live_stage):
    user = sign_up(live_stage)
    with open_socket(live_stage, user["access_token"]) as ws:
        assert call(live_stage, "/auth/logout", "POST", None, user["access_token"])[0] == 204
        assert closed_by_server(ws)


def test_revoking_a_session_from_another_device_closes_its_socket_only(live_stage):
    user = sign_up(live_stage)
    status, other = call(
        live_stage, "/auth/login", "POST", {"login": user["phone"], "password": PASSWORD, "device_id": "tablet"}
    )
    assert status == 200, other
    with (
        open_socket(live_stage, other["access_token"]) as doomed,
        open_socket(live_stage, user["access_token"]) as kept,
    ):
        status, _ = call(live_stage, f"/me/sessions/{other['session_id']}", "DELETE", None, user["access_token"])
        assert status == 204
        assert closed_by_server(doomed)
        kept.send(json.dumps({"type": "ping"}))
        assert frames_until(kept, "pong") == {"type": "pong"}


# --- live chat over the socket -------------------------------------------------------------------------


def test_chat_frames_arrive_in_real_time_to_the_parties_only(live_stage, agents):
    agent_token = agents["agent"]["access_token"]
    user, bystander = sign_up(live_stage), sign_up(live_stage)
    with (
        open_socket(live_stage, agent_token, "/admin/chats/ws-ticket") as console,
        open_socket(live_stage, user["access_token"]) as app_socket,
        open_socket(live_stage, bystander["access_token"]) as other_app,
    ):
        # A new chat: every online agent hears of it.
        status, chat = call(live_stage, "/support/chats", "POST", {"body": "Where is my top-up?"}, user["access_token"])
        assert status == 201, chat
        chat_id = chat["chat_id"]
        assert frames_until(console, "chat.waiting")["chat"]["chat_id"] == chat_id
        # Accepted: the user's app hears of it.
        status, accepted = call(live_stage, f"/admin/chats/{chat_id}/accept", "POST", None, agent_token)
        assert status == 200, accepted
        assert frames_until(app_socket, "chat.updated")["chat"]["status"] == "active"
        # A REST message arrives as message.new on the other party's socket.
        status, _ = call(live_stage, f"/admin/chats/{chat_id}/messages", "POST", {"body": "Checking now."}, agent_token)
        assert status == 201
        new = frames_until(app_socket, "message.new", body="Checking now.")
        assert new["chat_id"] == chat_id and new["message"]["sender"] == "agent"
        payload = {"body": "Thanks!", "client_msg_id": "ws-1"}
        assert call(live_stage, f"/support/chats/{chat_id}/messages", "POST", payload, user["access_token"])[0] == 201
        assert frames_until(console, "message.new", body="Thanks!")["chat_id"] == chat_id
        # Another user's app heard none of it.
        assert silent(other_app) == []


def test_typing_is_relayed_between_the_user_and_the_assignee_at_most_once_per_3_seconds(live_stage, agents):
    agent_token, agent2_token = agents["agent"]["access_token"], agents["agent2"]["access_token"]
    user = sign_up(live_stage)
    status, chat = call(live_stage, "/support/chats", "POST", {"body": "Card blocked?"}, user["access_token"])
    assert status == 201, chat
    chat_id = chat["chat_id"]
    assert call(live_stage, f"/admin/chats/{chat_id}/accept", "POST", None, agent_token)[0] == 200
    with (
        open_socket(live_stage, agent_token, "/admin/chats/ws-ticket") as console,
        open_socket(live_stage, agent2_token, "/admin/chats/ws-ticket") as other_console,
        open_socket(live_stage, user["access_token"]) as app_socket,
    ):
        typing = json.dumps({"type": "typing", "chat_id": chat_id})
        app_socket.send(typing)
        app_socket.send(typing)
        assert frames_until(console, "typing") == {"type": "typing", "chat_id": chat_id, "sender": "user"}
        assert [frame for frame in silent(console) if frame["type"] == "typing"] == []  # the second: dropped
        console.send(typing)
        assert frames_until(app_socket, "typing") == {"type": "typing", "chat_id": chat_id, "sender": "agent"}
        # An agent who does not hold the chat is not relayed, and hears nothing of it.
        other_console.send(typing)
        assert [frame for frame in silent(app_socket) if frame["type"] == "typing"] == []
        assert [frame for frame in silent(other_console, 0.2) if frame["type"] == "typing"] == []
        time.sleep(3.1)
        app_socket.send(typing)
        assert frames_until(console, "typing")["sender"] == "user"


def test_ctrl_c_stops_the_socket_too(tmp_path):
    with local_server(tmp_path / "server.log") as live:
        user = sign_up(live)
        ws = open_socket(live, user["access_token"])
        live.process.send_signal(signal.SIGINT)
        assert live.process.wait(timeout=20) == 0
        assert closed_by_server(ws)
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", live.ws_port)) != 0
