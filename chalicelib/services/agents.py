"""Support agents. Created by an operator command or the local seed, never over HTTP."""

from __future__ import annotations

import uuid

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters import clock
from chalicelib.services.emails import normalize_email
from chalicelib.services.passwords import hash_password
from chalicelib.store.users import User, create_user_with_claims, email_claim, find_claim_owner


def create_agent(email: str, password: str, display_name: str = "Okpay Support") -> tuple[str, bool]:
    """Create an agent with a verified email; returns (user_id, created). Existing emails are kept."""
    normalized = normalize_email(email)
    owner = find_claim_owner(email_claim(normalized))
    if owner is not None:
        return owner, False
    now = clock.stamp(clock.now())
    user = User(
        f"usr_{uuid.uuid4().hex}",
        role="agent",
        email=normalized,
        email_verified=True,
        display_name=display_name,
        locale="zh-CN",
        password_hash=hash_password(password),
        password_changed_at=now,
        created_at=now,
    )
    try:
        create_user_with_claims(user, [email_claim(normalized)])
    except TransactWriteError:  # created concurrently by another run
        return find_claim_owner(email_claim(normalized)) or user.user_id, False
    return user.user_id, True
