"""Live chat: a user's message on an active chat (stored, then pushed to both parties' sockets), and
the `chat.waiting` fan-out to every online agent's console.

Pushes go through the deployed pusher (API Gateway's management API, here moto's), so each figure
includes the `PostToConnection` calls a real push makes.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from tools.bench.accounts import make_user, tokens_for
from tools.bench.harness import Bench, Operation
from tools.bench.identity import agent_setup

OPERATIONS: list[Operation] = []

WS_ENDPOINT = "https://benchws.execute-api.ap-southeast-1.amazonaws.com/api"
FAN_OUT_AGENTS = 50  # online agents, each with two console connections
CONNECTIONS_PER_AGENT = 2


class _Done:
    """What a direct service call answers, so the harness can check a status like an HTTP reply's."""

    status_code = 200
    body = b""


def _connect(user_id: str, session_id: str, role: str, connection_id: str) -> None:
    from chalicelib.adapters import clock
    from chalicelib.store import connections

    connections.put_connection(
        connection_id, user_id=user_id, session_id=session_id, role=role, locale="zh-CN", now=clock.now()
    )


def _chat_setup(bench: Bench) -> None:
    """A user whose chat the seeded agent accepted, each with one live connection; the per-minute
    message cap is lifted for the bench user (real users are capped at 20)."""
    from chalicelib.services.support import chats
    from chalicelib.store.users import User, email_claim, find_claim_owner
    from localstage.seed import AGENT_EMAIL

    os.environ["OKPAY_WS_ENDPOINT"] = WS_ENDPOINT  # pushes through the deployed pusher, on moto
    chats.MESSAGES_PER_MINUTE = 10**6
    if "agent_auth" not in bench.state:
        agent_setup(bench)
    agent = User.get(find_claim_owner(email_claim(AGENT_EMAIL)))
    user = make_user(bench, 70)
    tokens = tokens_for(user)
    user_auth = {"Authorization": f"Bearer {tokens.access_token}", "Content-Type": "application/json"}
    agent_auth = {**bench.state["agent_auth"], "Content-Type": "application/json"}
    presence = bench.http.put("/admin/presence", headers=agent_auth, body=json.dumps({"status": "online"}).encode())
    opened = bench.http.post(
        "/support/chats", headers=user_auth, body=json.dumps({"body": "你好，我想查询一笔转账"}).encode()
    )
    chat_id = json.loads(opened.body)["chat_id"]
    accepted = bench.http.post(f"/admin/chats/{chat_id}/accept", headers=agent_auth, body=b"")
    for response in (presence, opened, accepted):
        if response.status_code not in (200, 201):
            raise RuntimeError(f"chat bench set-up failed: {response.status_code} {response.body[:200]!r}")
    _connect(user.user_id, "bench-user-session", "user", "benchUserConn=")
    _connect(agent.user_id, "bench-agent-session", "agent", "benchAgentConn=")
    bench.state.update(chat_id=chat_id, chat_auth=user_auth, chat_sent=0)


def _send_message(bench: Bench) -> Any:
    n = bench.state["chat_sent"]
    bench.state["chat_sent"] = n + 1
    body = json.dumps({"body": "转账还没有到账，请帮我看看", "client_msg_id": f"bench-{n:06d}"}).encode()
    return bench.http.post(
        f"/support/chats/{bench.state['chat_id']}/messages", headers=bench.state["chat_auth"], body=body
    )


def _bare_message(bench: Bench) -> Any:
    # The floor of a chat message: read the chat, one transaction (the chat's seq, the message, the
    # client_msg_id marker), one post to a connection.
    dynamodb = bench.client("dynamodb")
    chat_id = bench.state["chat_id"]
    dynamodb.get_item(TableName=bench.table("chats"), Key={"chat_id": {"S": chat_id}}, ConsistentRead=True)
    n = str(time.perf_counter_ns())
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": bench.table("chats"),
                    "Key": {"chat_id": {"S": chat_id}},
                    "UpdateExpression": "SET bare_n = :n",
                    "ExpressionAttributeValues": {":n": {"S": n}},
                }
            },
            {
                "Put": {
                    "TableName": bench.table("chat-messages"),
                    "Item": {"chat_id": {"S": f"bare{chat_id}"}, "message_key": {"S": f"seq#{n}"}},
                }
            },
            {
                "Put": {
                    "TableName": bench.table("chat-messages"),
                    "Item": {"chat_id": {"S": f"bare{chat_id}"}, "message_key": {"S": f"client#{n}"}},
                }
            },
        ]
    )
    return _management(bench).post_to_connection(ConnectionId="benchUserConn=", Data=b"{}")


def _management(bench: Bench) -> Any:
    if "ws_management" not in bench.state:
        import botocore.session

        bench.state["ws_management"] = botocore.session.get_session().create_client(
            "apigatewaymanagementapi", endpoint_url=WS_ENDPOINT, region_name="ap-southeast-1"
        )
    return bench.state["ws_management"]


OPERATIONS.append(
    Operation(
        "POST /support/chats/{id}/messages",
        request=_send_message,
        setup=_chat_setup,
        bare=_bare_message,
        status=201,
        bare_label="GetItem + 1 TransactWriteItems + 1 PostToConnection",
        bare_matches_calls=False,
        # session + user; the chat, the client_msg_id marker; the per-minute counter; ONE transaction
        # (seq, message, marker); each party's connections, one post to each
        calls={
            "dynamodb.BatchGetItem": 1,
            "dynamodb.GetItem": 2,
            "dynamodb.UpdateItem": 1,
            "dynamodb.TransactWriteItems": 1,
            "dynamodb.Query": 2,
            "apigatewaymanagementapi.PostToConnection": 2,
        },
    )
)


def _fan_out_setup(bench: Bench) -> None:
    """FAN_OUT_AGENTS agents online, each with CONNECTIONS_PER_AGENT console connections."""
    from chalicelib.adapters import clock
    from chalicelib.store.chat_presence import AgentPresence

    os.environ["OKPAY_WS_ENDPOINT"] = WS_ENDPOINT
    stamp = clock.stamp(clock.now())
    with AgentPresence.batch_write() as presences:
        for n in range(FAN_OUT_AGENTS):
            presences.save(
                AgentPresence(f"usr_fanout{n:03d}", status="online", max_chats=3, active=0, updated_at=stamp)
            )
    for n in range(FAN_OUT_AGENTS):
        for c in range(CONNECTIONS_PER_AGENT):
            _connect(f"usr_fanout{n:03d}", f"fanout-session-{n}", "agent", f"fanout{n:03d}c{c}=")
    bench.state["fan_out_frame"] = {
        "type": "chat.waiting",
        "chat": {"chat_id": "chat_bench", "status": "waiting", "category": "transfer", "last_seq": 1, "unread": 1},
    }


def _fan_out(bench: Bench) -> Any:
    from chalicelib.services.support import chat_push

    chat_push.to_online_agents(bench.state["fan_out_frame"])
    return _Done()


def _bare_fan_out(bench: Bench) -> Any:
    # The floor: who is online (one Query), then one post per connection, one after another.
    dynamodb = bench.client("dynamodb")
    dynamodb.query(
        TableName=bench.table("chat-presence"),
        IndexName="by_status",
        KeyConditionExpression="#s = :online",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":online": {"S": "online"}},
    )
    management = _management(bench)
    for n in range(FAN_OUT_AGENTS):
        for c in range(CONNECTIONS_PER_AGENT):
            management.post_to_connection(ConnectionId=f"fanout{n:03d}c{c}=", Data=b"{}")
    return _Done()


OPERATIONS.append(
    Operation(
        f"push chat.waiting to {FAN_OUT_AGENTS} online agents ({FAN_OUT_AGENTS * CONNECTIONS_PER_AGENT} connections)",
        request=_fan_out,
        setup=_fan_out_setup,
        bare=_bare_fan_out,
        bare_label=f"1 Query + {FAN_OUT_AGENTS * CONNECTIONS_PER_AGENT} PostToConnection in a row",
        bare_matches_calls=False,
        check_calls=False,
    )
)
