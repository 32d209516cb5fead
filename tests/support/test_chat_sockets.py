"""The live-chat WebSocket as API Gateway drives it (contract, section 12), in process: ws-tickets over
HTTP, then the app's own `$connect` / `$default` / `$disconnect` handlers (app.py) called with API
Gateway's events, pushes caught by a recording pusher backend. Over a real socket:
tests/localstage/test_ws_bridge.py."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections import defaultdict
from typing import Any

import pytest

import app as app_module
from chalicelib.adapters import pusher
from chalicelib.services.support import chat_push
from chalicelib.store import connections
from chalicelib.store.connections import WsConnection, WsTicket
from tests.helpers.chats import accept, new_chat, presence, say
from tests.helpers.clock import move_clock
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.parallel import run_together
from tests.helpers.paths import PROJECT_DIR
from tests.helpers.users import make_user, signed_in

USER_TICKET = "/support/chats/ws-ticket"
AGENT_TICKET = "/admin/chats/ws-ticket"


class Recorder:
    """A pusher backend that keeps what was pushed and closed, per connection."""

    def __init__(self) -> None:
        self.frames: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.closed: list[str] = []
        self.gone: set[str] = set()

    def post(self, connection_id: str, data: str) -> None:
        if connection_id in self.gone:
            raise pusher.Gone(connection_id)
        self.frames[connection_id].append(json.loads(data))

    def close(self, connection_id: str) -> None:
        self.closed.append(connection_id)

    def types(self, connection_id: str) -> list[str]:
        return [frame["type"] for frame in self.frames[connection_id]]


@pytest.fixture
def pushed():
    recorder = Recorder()
    pusher.use_backend(recorder)
    yield recorder
    pusher.use_backend(None)


def ws_event(route_key: str, connection_id: str, *, ticket: str | None = None, body: str | None = None) -> dict:
    """The event API Gateway's WebSocket API sends the route's function."""
    context = {
        "routeKey": route_key,
        "eventType": {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE"),
        "connectionId": connection_id,
        "domainName": "abc123.execute-api.ap-southeast-1.amazonaws.com",
        "stage": "api",
        "apiId": "abc123",
        "requestId": uuid.uuid4().hex,
        "requestTimeEpoch": 1_765_000_000_000,
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if route_key == "$connect":
        event["queryStringParameters"] = {"ticket": ticket} if ticket is not None else None
    elif route_key == "$default":
        event["body"] = body
    return event


def connect(ticket: str | None, connection_id: str | None = None) -> tuple[str, dict]:
    connection_id = connection_id or f"conn{uuid.uuid4().hex[:12]}="
    return connection_id, app_module.websocket_connect(ws_event("$connect", connection_id, ticket=ticket), None)


def send(connection_id: str, frame: Any) -> dict:
    body = frame if isinstance(frame, str) else json.dumps(frame)
    return app_module.websocket_message(ws_event("$default", connection_id, body=body), None)


def ticket_of(client, headers: dict, path: str = USER_TICKET) -> dict:
    response = client.post(path, headers=headers)
    assert response.status_code == 201, response.body
    return body_of(response)


def connected(client, headers: dict, path: str = USER_TICKET) -> str:
    connection_id, answer = connect(ticket_of(client, headers, path)["ticket"])
    assert answer == {"statusCode": 200}, answer
    return connection_id


def assert_refused(answer: dict) -> None:
    assert answer["statusCode"] == 401, answer
    error = json.loads(answer["body"])["error"]
    assert error["code"] == "unauthorized" and error["message"] and error["request_id"], error


# --- the ws-ticket routes ----------------------------------------------------------------------------


def test_a_user_ticket_is_single_use_for_60_seconds_and_names_the_socket_url(client):
    body = ticket_of(client, signed_in(make_user()))
    assert set(body) == {"ticket", "url", "expires_in"}
    assert body["expires_in"] == 60
    assert body["url"].startswith("ws://127.0.0.1:")  # the local stage serves it on PORT+1
    assert len(body["ticket"]) >= 40


def test_a_ticket_is_stored_only_as_its_hash(client):
    ticket = ticket_of(client, signed_in(make_user()))["ticket"]
    stored = [item for item in WsTicket.scan() if item.code_id.startswith("ws_ticket#")]
    assert len(stored) == 1
    assert ticket not in json.dumps(stored[0].attribute_values, default=str)


@pytest.mark.parametrize("path", [USER_TICKET, AGENT_TICKET])
def test_a_ticket_needs_a_token(client, path):
    assert_error(client.post(path), 401, "unauthorized")
    assert_error(client.post(path, headers={"Authorization": "Bearer nonsense"}), 401, "unauthorized")


def test_the_agent_ticket_is_for_agents_whose_sign_in_passed_totp(client):
    assert_error(client.post(AGENT_TICKET, headers=signed_in(make_user())), 403, "forbidden")
    agent = make_user(role="agent")
    assert_error(client.post(AGENT_TICKET, headers=signed_in(agent, second_factor="sms")), 403, "mfa_required")
    assert ticket_of(client, signed_in(agent), AGENT_TICKET)["expires_in"] == 60


def test_the_ticket_route_is_not_taken_for_a_chat_id(client):
    """POST /support/chats/ws-ticket is its own route, not /support/chats/{chat_id} (which has no POST)."""
    headers = signed_in(make_user())
    assert ticket_of(client, headers)["ticket"]
    assert client.post("/support/chats/chat_0123456789abcdef", headers=headers).status_code in (404, 405)


# --- connecting --------------------------------------------------------------------------------------


def test_a_good_ticket_connects_and_records_who_is_connected(client, pushed):
    user = make_user()
    connection_id = connected(client, signed_in(user))
    record = connections.get_connection(connection_id)
    assert (record.user_id, record.role) == (user.user_id, "user")
    assert record.session_id.startswith("ses_")
    assert record.expires_at > record.connected_at


def test_a_missing_or_unknown_ticket_is_refused_with_401(client, pushed):
    for ticket in (None, "", "wst_not-a-ticket", "x" * 5000):
        connection_id, answer = connect(ticket)
        assert_refused(answer)
        assert connections.get_connection(connection_id) is None


def test_a_ticket_works_once(client, pushed):
    ticket = ticket_of(client, signed_in(make_user()))["ticket"]
    assert connect(ticket)[1] == {"statusCode": 200}
    assert_refused(connect(ticket)[1])


def test_two_connects_racing_with_one_ticket_one_wins(client, pushed):
    for _ in range(3):
        ticket = ticket_of(client, signed_in(make_user()))["ticket"]
        answers = run_together(*(lambda ticket=ticket: connect(ticket)[1] for _ in range(4)))
        assert sorted(answer["statusCode"] for answer in answers) == [200, 401, 401, 401]


def test_a_ticket_expires_after_60_seconds_of_the_app_clock(client, pushed, frozen_clock):
    headers = signed_in(make_user())
    fresh, stale = ticket_of(client, headers)["ticket"], ticket_of(client, headers)["ticket"]
    move_clock(59)
    assert connect(fresh)[1] == {"statusCode": 200}
    move_clock(2)
    assert_refused(connect(stale)[1])


def test_a_ticket_of_a_session_revoked_since_is_refused(client, pushed):
    headers = signed_in(make_user())
    ticket = ticket_of(client, headers)["ticket"]
    assert post_json(client, "/auth/logout", {}, headers).status_code == 204
    assert_refused(connect(ticket)[1])


def test_disconnect_deletes_the_record(client, pushed):
    connection_id = connected(client, signed_in(make_user()))
    assert app_module.websocket_disconnect(ws_event("$disconnect", connection_id), None) == {"statusCode": 200}
    assert connections.get_connection(connection_id) is None


# --- frames from the client --------------------------------------------------------------------------


def test_ping_is_answered_with_pong(client, pushed):
    connection_id = connected(client, signed_in(make_user()))
    assert send(connection_id, {"type": "ping"}) == {"statusCode": 200}
    assert pushed.frames[connection_id] == [{"type": "pong"}]


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ("not json", None),
        ("[1, 2]", None),
        ({"type": "hello"}, "type"),
        ({"kind": "ping"}, "type"),
        ({"type": "ping", "extra": 1}, "extra"),
        ({"type": "typing"}, "chat_id"),
        ({"type": "typing", "chat_id": 7}, "chat_id"),
        ({"type": "typing", "chat_id": ""}, "chat_id"),
    ],
)
def test_anything_else_is_answered_with_an_error_frame(client, pushed, frame, field):
    user = make_user(locale="zh-CN")
    connection_id = connected(client, signed_in(user))
    assert send(connection_id, frame) == {"statusCode": 200}
    (answer,) = pushed.frames[connection_id]
    assert set(answer) == {"type", "error"} and answer["type"] == "error"
    error = answer["error"]
    assert error["code"] == "validation_error" and error["request_id"]
    assert error.get("field") == field
    assert any("\u4e00" <= char <= "\u9fff" for char in error["message"]), error  # the session's language


def test_a_frame_of_a_revoked_session_closes_its_socket(client, pushed, monkeypatch):
    headers = signed_in(make_user())
    connection_id = connected(client, headers)
    # As if the index had not listed the socket when the session was revoked: the frame finds out.
    monkeypatch.setattr(connections, "connection_ids_of_session", lambda session_id: [])
    assert post_json(client, "/auth/logout", {}, headers).status_code == 204
    assert pushed.closed == []
    send(connection_id, {"type": "ping"})
    assert pushed.closed == [connection_id]
    assert pushed.frames[connection_id] == []  # no pong
    assert connections.get_connection(connection_id) is None


def test_a_frame_from_an_unknown_connection_closes_it(client, pushed):
    send("never-connected=", {"type": "ping"})
    assert pushed.closed == ["never-connected="]


# --- revoking a session closes its sockets ---------------------------------------------------------


def test_logout_closes_that_sessions_sockets_only(client, pushed):
    user = make_user()
    phone, laptop = signed_in(user, device_id="phone"), signed_in(user, device_id="laptop")
    phone_socket, laptop_socket = connected(client, phone), connected(client, laptop)
    assert post_json(client, "/auth/logout", {}, phone).status_code == 204
    assert pushed.closed == [phone_socket]
    assert connections.get_connection(phone_socket) is None
    assert connections.get_connection(laptop_socket) is not None


def test_revoking_a_session_from_the_device_list_closes_its_socket(client, pushed):
    user = make_user()
    phone, laptop = signed_in(user, device_id="phone"), signed_in(user, device_id="laptop")
    laptop_socket = connected(client, laptop)
    sessions_listed = body_of(client.get("/me/sessions", headers=phone))["data"]
    (laptop_session,) = [s for s in sessions_listed if s["session_id"] != _session_of(phone)]
    assert client.delete(f"/me/sessions/{laptop_session['session_id']}", headers=phone).status_code == 204
    assert pushed.closed == [laptop_socket]


def test_revoking_every_other_session_keeps_the_callers_socket(client, pushed):
    user = make_user()
    phone, laptop = signed_in(user, device_id="phone"), signed_in(user, device_id="laptop")
    phone_socket, laptop_socket = connected(client, phone), connected(client, laptop)
    assert client.delete("/me/sessions", headers=phone).status_code in (200, 204)
    assert laptop_socket in pushed.closed and phone_socket not in pushed.closed


def _session_of(headers: dict) -> str:
    import jwt

    token = headers["Authorization"].split(" ", 1)[1]
    return jwt.decode(token, options={"verify_signature": False})["sid"]


# --- who receives what -------------------------------------------------------------------------------


def test_a_push_reaches_only_that_users_app_connections(client, pushed):
    user, other = make_user(), make_user()
    mine, theirs = connected(client, signed_in(user)), connected(client, signed_in(other))
    chat_push.to_user(user.user_id, {"type": "chat.updated", "chat": {"chat_id": "chat_x"}})
    assert pushed.types(mine) == ["chat.updated"] and pushed.types(theirs) == []


def test_an_agents_console_and_own_app_connections_are_kept_apart(client, pushed):
    agent = make_user(role="agent")
    headers = signed_in(agent)
    app_socket, console_socket = connected(client, headers), connected(client, headers, AGENT_TICKET)
    chat_push.to_user(agent.user_id, {"type": "chat.updated", "chat": {}})
    chat_push.to_agents([agent.user_id], {"type": "message.new", "chat_id": "chat_y", "message": {}})
    assert pushed.types(app_socket) == ["chat.updated"]
    assert pushed.types(console_socket) == ["message.new"]


def test_a_gone_connection_is_forgotten(client, pushed):
    user = make_user()
    connection_id = connected(client, signed_in(user))
    pushed.gone.add(connection_id)
    chat_push.to_user(user.user_id, {"type": "chat.updated", "chat": {}})
    assert connections.get_connection(connection_id) is None


def test_a_push_never_raises(client, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(connections, "connection_ids_of_users", broken)
    chat_push.to_user("usr_x", {"type": "pong"})
    chat_push.to_agents(["usr_y"], {"type": "pong"})
    chat_push.to_online_agents({"type": "pong"})


def test_a_connection_past_api_gateways_two_hours_gets_nothing(client, pushed):
    user = make_user()
    connection_id = connected(client, signed_in(user))
    move_clock(2 * 3600 + 1)
    chat_push.to_user(user.user_id, {"type": "chat.updated", "chat": {}})
    assert pushed.frames[connection_id] == []


# --- with chats: waiting queue, messages, typing -----------------------------------------------------


def test_an_online_agent_gets_new_waiting_chats_and_a_user_their_messages(client, pushed):
    agent = make_user(role="agent")
    agent_headers = signed_in(agent)
    presence(client, agent_headers, "online")
    console = connected(client, agent_headers, AGENT_TICKET)
    user_headers = signed_in(make_user())
    app_socket = connected(client, user_headers)
    chat = new_chat(client, user_headers)
    (waiting,) = [frame for frame in pushed.frames[console] if frame["type"] == "chat.waiting"]
    assert waiting["chat"]["chat_id"] == chat["chat_id"]
    accept(client, agent_headers, chat["chat_id"])
    response = post_json(client, f"/admin/chats/{chat['chat_id']}/messages", {"body": "Hello!"}, agent_headers)
    assert response.status_code == 201, response.body
    new = [frame for frame in pushed.frames[app_socket] if frame["type"] == "message.new"]
    assert new and new[-1]["chat_id"] == chat["chat_id"] and new[-1]["message"]["body"] == "Hello!"


def _active_chat(client) -> tuple[dict, str, dict, str, dict]:
    """An active chat: (user headers, user socket, agent headers, agent socket, chat)."""
    agent = make_user(role="agent")
    agent_headers = signed_in(agent)
    presence(client, agent_headers, "online")
    user_headers = signed_in(make_user())
    chat = new_chat(client, user_headers)
    accept(client, agent_headers, chat["chat_id"])
    return (
        user_headers,
        connected(client, user_headers),
        agent_headers,
        connected(client, agent_headers, AGENT_TICKET),
        chat,
    )


def test_typing_is_relayed_between_the_user_and_the_assignee(client, pushed):
    _, user_socket, _, agent_socket, chat = _active_chat(client)
    send(user_socket, {"type": "typing", "chat_id": chat["chat_id"]})
    assert pushed.frames[agent_socket][-1] == {"type": "typing", "chat_id": chat["chat_id"], "sender": "user"}
    send(agent_socket, {"type": "typing", "chat_id": chat["chat_id"]})
    assert pushed.frames[user_socket][-1] == {"type": "typing", "chat_id": chat["chat_id"], "sender": "agent"}


def test_typing_is_relayed_at_most_once_per_3_seconds_per_connection_and_chat(client, pushed, frozen_clock):
    _, user_socket, _, agent_socket, chat = _active_chat(client)

    def typings() -> int:
        return pushed.types(agent_socket).count("typing")

    for _ in range(3):
        send(user_socket, {"type": "typing", "chat_id": chat["chat_id"]})
    assert typings() == 1
    assert "error" not in pushed.types(user_socket)  # dropped quietly
    move_clock(3.1)
    send(user_socket, {"type": "typing", "chat_id": chat["chat_id"]})
    assert typings() == 2


def test_typing_about_someone_elses_chat_reaches_nobody(client, pushed):
    _, user_socket, _, agent_socket, chat = _active_chat(client)
    stranger = connected(client, signed_in(make_user()))
    other_agent = make_user(role="agent")
    other_console = connected(client, signed_in(other_agent), AGENT_TICKET)
    before = {socket: list(pushed.frames[socket]) for socket in (user_socket, agent_socket)}
    send(stranger, {"type": "typing", "chat_id": chat["chat_id"]})
    send(other_console, {"type": "typing", "chat_id": chat["chat_id"]})
    send(stranger, {"type": "typing", "chat_id": "chat_doesnotexist"})
    assert {socket: pushed.frames[socket] for socket in before} == before
    assert pushed.frames[stranger] == [] and pushed.frames[other_console] == []
    say(client, signed_in(make_user()), chat["chat_id"])  # another user writing to it: 404, nothing pushed
    assert {socket: pushed.frames[socket] for socket in before} == before


# --- the deployed pusher backend ---------------------------------------------------------------------


def test_the_deployed_backend_posts_to_the_stage_websocket_api(stage, monkeypatch):
    from botocore.stub import Stubber

    endpoint = "https://abc123.execute-api.ap-southeast-1.amazonaws.com/api"
    monkeypatch.setenv("OKPAY_WS_ENDPOINT", endpoint)
    backend = pusher.backend()
    assert isinstance(backend, pusher.ApiGatewayBackend)
    assert pusher.backend() is backend  # one client per process and endpoint
    client = backend.client()
    assert client.meta.endpoint_url == endpoint
    with Stubber(client) as stub:
        stub.add_response("post_to_connection", {}, {"ConnectionId": "abc=", "Data": b'{"type":"pong"}'})
        assert pusher.post("abc=", {"type": "pong"}) is True
        stub.add_response("delete_connection", {}, {"ConnectionId": "abc="})
        pusher.close("abc=")
        stub.assert_no_pending_responses()


def test_the_deployed_backend_forgets_a_connection_api_gateway_says_is_gone(stage, monkeypatch):
    from botocore.stub import Stubber

    monkeypatch.setenv("OKPAY_WS_ENDPOINT", "https://abc123.execute-api.ap-southeast-1.amazonaws.com/api")
    user = make_user()
    now = connections.clock.now()
    connections.put_connection("gone=", user_id=user.user_id, session_id="ses_x", role="user", locale="en", now=now)
    connections.put_connection("kept=", user_id=user.user_id, session_id="ses_x", role="user", locale="en", now=now)
    client = pusher.backend().client()
    with Stubber(client) as stub:
        stub.add_client_error("post_to_connection", "GoneException", http_status_code=410)
        stub.add_client_error("post_to_connection", "LimitExceededException", http_status_code=429)
        assert pusher.post("gone=", {"type": "pong"}) is False
        assert pusher.post("kept=", {"type": "pong"}) is False  # throttled: not delivered, not forgotten
    assert connections.get_connection("gone=") is None
    assert connections.get_connection("kept=") is not None
    assert WsConnection.count() == 1


# --- wiring ------------------------------------------------------------------------------------------


def test_the_three_websocket_routes_are_wired_and_load_nothing_at_a_cold_start():
    handlers = {key: config.handler_string for key, config in app_module.app.websocket_handlers.items()}
    assert handlers == {
        "$connect": "app.websocket_connect",
        "$default": "app.websocket_message",
        "$disconnect": "app.websocket_disconnect",
    }
    assert "WEBSOCKETS" in app_module.app.experimental_feature_flags  # else `chalice package` refuses them
    probe = "import sys, app; print(sorted(m for m in sys.modules if 'chat_socket' in m or 'store.chats' in m))"
    env = {"AWS_DEFAULT_REGION": "ap-southeast-1", "PATH": "/usr/bin:/bin", "OKPAY_STAGE": "dev"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
