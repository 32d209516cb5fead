"""Making users straight in the table and signing them in, without the SMS round trip."""

from __future__ import annotations

import functools
import itertools
from datetime import datetime

from chalicelib.adapters import clock
from chalicelib.services.identity import sessions, totp
from chalicelib.services.identity.password_age import schedule_review
from chalicelib.services.identity.passwords import hash_password
from chalicelib.store.users import User
from tests.helpers.http import auth

# Passwords that pass the policy (zxcvbn ≥ 3, not common, no email/phone parts).
PASSWORD = "Plum-Orbit-Canvas-93!"
OTHER_PASSWORD = "Quartz-Meadow-Lantern-57?"

# The TOTP secret every agent made by make_user is enrolled with (agent_totp=False: none).
AGENT_TOTP_SECRET = "JBSWY3DPEHPK3PXPOKPAYTESTAGENT23"

_numbers = itertools.count(1)


def new_phone() -> str:
    """A fresh, valid mainland mobile number in E.164, unique within the test run."""
    return f"+86139{next(_numbers):08d}"


def new_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_numbers)}@example.com"


@functools.cache
def _password_hash(password: str) -> str:
    """One argon2 hash per password for the whole run: hashing is slow on purpose, any salt verifies."""
    return hash_password(password)


def make_user(
    *,
    user_id: str | None = None,
    locale: str = "en",
    email_verified: bool = True,
    role: str = "user",
    status: str = "active",
    password: str | None = PASSWORD,
    password_changed_at: datetime | None = None,
    created_at: datetime | None = None,
    phone: str | None = None,
    agent_totp: bool = True,
) -> User:
    """A saved user with a verified phone and the email `<user_id>@example.com`; sign in with `signed_in(user)`.

    password=None leaves the account without a password. password_changed_at records the change and
    schedules the 180-day review, as registration does. created_at defaults to password_changed_at,
    else now (the test clock).
    """
    n = next(_numbers)
    user_id = user_id or f"usr_test{n:05d}"
    user = User(
        user_id,
        role=role,
        status=status,
        created_at=clock.stamp(created_at or password_changed_at or clock.now()),
        locale=locale,
        phone=phone or f"+86136{n:08d}",
        phone_verified=True,
        email=f"{user_id}@example.com",
        email_verified=email_verified,
        password_hash=_password_hash(password) if password is not None else None,
    )
    if password_changed_at is not None:
        user.password_changed_at = clock.stamp(password_changed_at)
        schedule_review(user, password_changed_at)
    if role == "agent" and agent_totp:  # /admin needs TOTP enrolled (contract v1.2, section 9)
        user.totp_secret = totp.seal_secret(user_id, AGENT_TOTP_SECRET)
    user.save()
    return user


def signed_in(user: User, *, device_id: str = "d", second_factor: str | None = None) -> dict[str, str]:
    """Start a session for `user` now; the Authorization header of its access token. An agent with
    TOTP signs in with it (as /admin needs) unless `second_factor` says otherwise."""
    if second_factor is None and user.role == "agent" and user.totp_enabled:
        second_factor = "totp"
    pair = sessions.start_session(
        user, device_id=device_id, device_name=None, now=clock.now(), second_factor=second_factor
    )
    return auth(pair.access_token)
