"""Pushes of live-chat frames to WebSocket connections (contract, section 12).

REST does every write; after a write commits, the chat services call one of these to tell the
connected parties. A push is best effort: it never raises and never fails the request that
caused it (a client that missed a frame catches up with `after_seq`).

Interface (kept stable; the chat services depend on it):
- `to_user(user_id, frame)`: every live connection of that user (the app, the web).
- `to_agents(agent_ids, frame)`: every live connection of those agents.
- `to_online_agents(frame)`: every live connection of every agent whose presence is `online`
  (`chat.waiting` frames).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from chalicelib.adapters import clock, pusher
from chalicelib.adapters.logging import logger
from chalicelib.store import chat_presence, connections

Frame = dict[str, Any]

# A frame for several connections (every online agent) is posted by up to this many threads at
# once: each post is a round trip to API Gateway, and the request that caused it waits for them.
_PARALLEL_POSTS = 8


def to_user(user_id: str, frame: Frame) -> None:
    """Push `frame` to every live connection of `user_id`."""
    _push([user_id], "user", frame)


def to_agents(agent_ids: Iterable[str], frame: Frame) -> None:
    """Push `frame` to every live connection of each agent in `agent_ids`."""
    _push([agent_id for agent_id in agent_ids if agent_id], "agent", frame)


def to_online_agents(frame: Frame) -> None:
    """Push `frame` to every live connection of every agent who is `online`."""
    try:
        agent_ids = chat_presence.online_agent_ids()
    except Exception:
        logger.warning("online agents not read; push dropped", extra={"frame_type": frame.get("type")}, exc_info=True)
        return
    if not agent_ids:
        return
    try:
        targets = connections.console_connection_ids(agent_ids, clock.now())
    except Exception:
        logger.warning("connections not read; push dropped", extra={"frame_type": frame.get("type")}, exc_info=True)
        return
    _post_all(targets, frame)


def _push(user_ids: list[str], role: str, frame: Frame) -> None:
    """To the connections opened as `role` (the app's are `user`, the console's `agent`) by `user_ids`:
    a user's own chats never reach the console connection of an agent who is also a user, nor the
    other way round. Best effort: a failure is logged, never raised."""
    if not user_ids:
        return
    try:
        targets = connections.connection_ids_of_users(user_ids, role, clock.now())
    except Exception:
        logger.warning("connections not read; push dropped", extra={"frame_type": frame.get("type")}, exc_info=True)
        return
    _post_all(targets, frame)


def _post_all(targets: list[str], frame: Frame) -> None:
    for start in range(0, len(targets), _PARALLEL_POSTS):
        first, *others = targets[start : start + _PARALLEL_POSTS]
        helpers = [threading.Thread(target=pusher.post, args=(connection_id, frame)) for connection_id in others]
        for helper in helpers:
            helper.start()
        pusher.post(first, frame)
        for helper in helpers:
            helper.join()
