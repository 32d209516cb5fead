"""Support agents. Created or given their role by an operator command or the local seed, never over
HTTP; and the one rule every desk applies: an agent never acts on their own account's case."""

from __future__ import annotations

import uuid

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.common.emails import normalize_email
from chalicelib.services.identity import sessions, totp
from chalicelib.services.identity.passwords import hash_password
from chalicelib.store.security_events import record_security_event
from chalicelib.store.users import User, create_user_with_claims, email_claim, find_claim_owner, get_user

ROLES = ("user", "agent")


def refuse_own_case(agent_id: str, owner_id: str) -> None:
    """403 own_case when the case (a KYC review, a dispute, a ticket) is about `agent_id`'s own account.

    Desks call it after the case is found (404) and before its state is checked (409): who may act on
    a case does not depend on what state it is in.
    """
    if agent_id == owner_id:
        raise OkpayError("own_case")


def create_agent(
    email: str, password: str, display_name: str = "Okpay Support", totp_secret: str | None = None
) -> tuple[str, bool]:
    """Create an agent with a verified email, and TOTP enrolled on `totp_secret` when given (/admin
    needs it); returns (user_id, created). Existing emails are kept."""
    normalized = normalize_email(email)
    owner = find_claim_owner(email_claim(normalized))
    if owner is not None:
        return owner, False
    now = clock.stamp(clock.now())
    user_id = f"usr_{uuid.uuid4().hex}"
    user = User(
        user_id,
        role="agent",
        email=normalized,
        email_verified=True,
        display_name=display_name,
        locale="zh-CN",
        password_hash=hash_password(password),
        password_changed_at=now,
        created_at=now,
        totp_secret=totp.seal_secret(user_id, totp_secret) if totp_secret else None,
    )
    try:
        create_user_with_claims(user, [email_claim(normalized)])
    except TransactWriteError:  # created concurrently by another run
        return find_claim_owner(email_claim(normalized)) or user.user_id, False
    return user.user_id, True


def set_role(user_id: str, role: str) -> bool:
    """Make a user an agent or an agent a user; False when they already had that role.

    Sessions carry the role they were started with, so the change revokes every session of the user
    in the same write (the session generation, see `sessions.revoke_all`): a demoted agent's token
    is refused on its next request, and a promoted user signs in again as an agent.
    """
    if role not in ROLES:
        raise OkpayError("validation_error", field="role")
    user = get_user(user_id) if user_id.startswith("usr_") else None
    if user is None or (role == "agent" and user.status == "closed"):
        raise OkpayError("not_found")
    if user.role == role:
        return False
    sessions.revoke_all(user_id, reason="role_changed", user_actions=[User.role.set(role)])
    record_security_event(user_id, "role_changed", clock.stamp(clock.now()), detail=f"{user.role} -> {role}")
    logger.info("role changed", extra={"event": "role_changed", "user_id": user_id, "from": user.role, "to": role})
    return True
