"""Live-chat calls for the tests (contract section 12)."""

from __future__ import annotations

import itertools
from typing import Any

from tests.helpers.http import body_of, post_json, put_json

_ids = itertools.count(1)


def start_chat(client, headers, key: str | None = None, **fields: Any):
    payload = {"body": "My top-up has not arrived."}
    payload.update(fields)
    extra = {"Idempotency-Key": key} if key else {}
    return post_json(client, "/support/chats", payload, {**headers, **extra})


def new_chat(client, headers, **fields: Any) -> dict:
    response = start_chat(client, headers, **fields)
    assert response.status_code == 201, response.body
    return body_of(response)


def say(client, headers, chat_id: str, text: str = "Any news?", client_msg_id: str | None = None):
    payload = {"body": text, "client_msg_id": client_msg_id or f"c{next(_ids)}"}
    return post_json(client, f"/support/chats/{chat_id}/messages", payload, headers)


def get_chat(client, headers, chat_id: str) -> dict:
    response = client.get(f"/support/chats/{chat_id}", headers=headers)
    assert response.status_code == 200, response.body
    return body_of(response)


def messages_of(client, headers, chat_id: str, *, after_seq: int = 0, limit: int = 100) -> dict:
    response = client.get(f"/support/chats/{chat_id}/messages?after_seq={after_seq}&limit={limit}", headers=headers)
    assert response.status_code == 200, response.body
    return body_of(response)


def close(client, headers, chat_id: str, *, expect: int | None = 200):
    response = post_json(client, f"/support/chats/{chat_id}/close", {}, headers)
    if expect is None:
        return response
    assert response.status_code == expect, response.body
    return body_of(response)


def presence(client, agent_headers, status: str = "online", max_chats: int | None = None) -> dict:
    payload: dict[str, Any] = {"status": status}
    if max_chats is not None:
        payload["max_chats"] = max_chats
    response = put_json(client, "/admin/presence", payload, agent_headers)
    assert response.status_code == 200, response.body
    return body_of(response)


def accept(client, agent_headers, chat_id: str, *, expect: int | None = 200):
    response = post_json(client, f"/admin/chats/{chat_id}/accept", {}, agent_headers)
    if expect is None:
        return response
    assert response.status_code == expect, response.body
    return body_of(response)


def agent_says(client, agent_headers, chat_id: str, text: str = "Hello", *, internal: bool | None = None):
    payload: dict[str, Any] = {"body": text}
    if internal is not None:
        payload["internal"] = internal
    return post_json(client, f"/admin/chats/{chat_id}/messages", payload, agent_headers)


def agent_chat(client, agent_headers, chat_id: str) -> dict:
    response = client.get(f"/admin/chats/{chat_id}", headers=agent_headers)
    assert response.status_code == 200, response.body
    return body_of(response)
