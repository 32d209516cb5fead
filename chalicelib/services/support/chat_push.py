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

from collections.abc import Iterable
from typing import Any

Frame = dict[str, Any]


def to_user(user_id: str, frame: Frame) -> None:
    """Push `frame` to every live connection of `user_id`."""


def to_agents(agent_ids: Iterable[str], frame: Frame) -> None:
    """Push `frame` to every live connection of each agent in `agent_ids`."""


def to_online_agents(frame: Frame) -> None:
    """Push `frame` to every live connection of every agent who is `online`."""
