"""Freezing accounts in tests: an agent over HTTP, the service directly, and signing in again after it."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import clock
from chalicelib.services.account import freezes
from chalicelib.store.users import User, get_user
from tests.helpers.http import post_json
from tests.helpers.users import make_user, signed_in


def an_agent() -> tuple[User, dict[str, str]]:
    """An agent with TOTP, signed in with it (as /admin needs)."""
    agent = make_user(role="agent")
    return agent, signed_in(agent)


def freeze_as(client: Any, agent_headers: dict[str, str], user_id: str, reason: str = "客户来电称手机丢失") -> Any:
    return post_json(client, f"/admin/users/{user_id}/freeze", {"reason": reason}, agent_headers)


def unfreeze_as(client: Any, agent_headers: dict[str, str], user_id: str, reason: str = "身份已核验") -> Any:
    return post_json(client, f"/admin/users/{user_id}/unfreeze", {"reason": reason}, agent_headers)


def frozen_by_agent(user: User, reason: str = "suspected card testing") -> dict[str, Any]:
    """Freeze `user` through the service, as an agent would (every session revoked)."""
    agent = make_user(role="agent")
    return freezes.freeze(user.user_id, reason, freezes.Actor.agent(agent.user_id), clock.now())


def signed_in_again(user: User) -> dict[str, str]:
    """A new session for `user` as they are stored now (a freeze moved their session generation on)."""
    return signed_in(get_user(user.user_id))
