"""Sessions and tokens: short-lived signed access tokens, rotating opaque refresh tokens.

- An access token (JWT, HS256, 15 min) names its session; every authenticated request reads the
  session record, so revocation takes effect on the very next request.
- A refresh token is `<session_id>.<secret>`; only SHA-256 of the secret is stored. Each use
  rotates it. The previous token still returns the same new pair for 30 s (a retry after a lost
  reply); used later, or any older token used at all, revokes the whole session (`token_reused`).
- "Revoke every session" bumps the user's `session_generation` (one write on the user item); each
  session is stamped with the generation it started under and every request reads the session and
  the user in one BatchGetItem, so an older session is refused on its next request. It never relies
  on GSI by_user having listed a session (the index lags: a session started a moment before a
  password reset would survive a revocation that walked it). Sessions the index lists are also
  marked revoked, for the devices list and the record.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import clock, pusher
from chalicelib.adapters.keys import derived_key
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.store import connections
from chalicelib.store.base import shared_connection
from chalicelib.store.batch import batch_get
from chalicelib.store.conditions import condition_failed
from chalicelib.store.security_events import record_security_event
from chalicelib.store.sessions import Session
from chalicelib.store.users import User, get_user

ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
SESSION_IDLE_LIFETIME = timedelta(days=30)
REFRESH_GRACE = timedelta(seconds=30)
RETIRED_KEPT = 50
BUMP_ATTEMPTS = 5
BATCH_KEYS = 100  # BatchGetItem's limit
ISSUER = "okpay"
AUDIENCE = "okpay-app"


@dataclass(frozen=True)
class Principal:
    """Who is calling: from a valid access token whose session is still active."""

    user_id: str
    session_id: str
    role: str
    locale: str
    second_factor: str | None = None  # how the session's sign-in passed its second factor
    # The user item, read with the session in the same strongly consistent BatchGetItem: routes
    # about the caller use it instead of reading it again.
    account: User | None = field(default=None, compare=False, repr=False)


# The second factors that let an agent session use /admin (contract v1.2, section 9).
AGENT_SECOND_FACTORS = frozenset({"totp", "recovery_code"})


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    session_id: str
    user_id: str

    def as_reply(self) -> dict:
        return {
            "user_id": self.user_id,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            "session_id": self.session_id,
        }


def start_session(
    user: User, *, device_id: str | None, device_name: str | None, now: datetime, second_factor: str | None = None
) -> TokenPair:
    session_id = f"ses_{uuid.uuid4().hex}"
    secret = secrets.token_urlsafe(32)
    Session(
        session_id,
        user_id=user.user_id,
        role=user.role,
        locale=user.locale,
        # As read with the credentials: a "revoke all" committed since then outdates this session too.
        generation=_generation(user.session_generation),
        device_id=device_id,
        device_name=device_name,
        second_factor=second_factor,
        created_at=clock.stamp(now),
        last_used_at=clock.stamp(now),
        expires_at=clock.stamp(now + SESSION_IDLE_LIFETIME),
        expires_ttl=now + SESSION_IDLE_LIFETIME + timedelta(days=1),
        refresh_hash=_digest(secret),
    ).save(condition=Session.session_id.does_not_exist())
    logger.info(
        "session started", extra={"event": "session_started", "user_id": user.user_id, "session_id": session_id}
    )
    return TokenPair(
        _access_token(user.user_id, session_id, user.role, now), f"{session_id}.{secret}", session_id, user.user_id
    )


def authenticate(authorization: str | None, now: datetime) -> Principal:
    """The caller behind `Authorization: Bearer <access token>`, or 401 unauthorized."""
    import jwt  # deferred: heavy (PyJWT ~35 ms; public routes skip it)

    if not authorization or not authorization.lower().startswith("bearer "):
        raise OkpayError("unauthorized")
    token = authorization[7:].strip()
    try:
        claims = jwt.decode(
            token,
            derived_key("jwt"),
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            # Time claims are checked against our clock below, not the machine's: PyJWT would
            # refuse a token minted under the local test clock (iat "in the future").
            options={
                "require": ["exp", "iat", "sub", "sid"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError:
        raise OkpayError("unauthorized") from None
    # Expiry against our clock (the local test clock moves it too), not the machine's.
    if claims["exp"] <= now.timestamp():
        raise OkpayError("unauthorized")
    # One strongly consistent BatchGetItem: a logout or revocation holds on the very next request.
    found = batch_get([(Session, (claims["sid"],)), (User, (claims["sub"],))])
    session, user = found[(Session, (claims["sid"],))], found[(User, (claims["sub"],))]
    if session is None or not _is_live(session, user, now):
        raise OkpayError("unauthorized")
    return Principal(
        session.user_id, session.session_id, session.role, session.locale, session.second_factor, account=user
    )


def live_session(session_id: str, user_id: str, now: datetime) -> Session | None:
    """The session if it is still live (as `authenticate` checks it: one consistent BatchGetItem),
    else None. For callers that hold a session id rather than a token (a live-chat WebSocket)."""
    found = batch_get([(Session, (session_id,)), (User, (user_id,))])
    session, user = found[(Session, (session_id,))], found[(User, (user_id,))]
    return session if session is not None and _is_live(session, user, now) else None


def _is_live(session: Session, user: User | None, now: datetime) -> bool:
    """Not revoked (one by one, or all at once by the user's generation) and not idle too long."""
    return (
        user is not None
        and session.status == "active"
        and session.user_id == user.user_id
        and clock.from_stamp(session.expires_at) > now
        and _generation(session.generation) >= _generation(user.session_generation)
    )


def _generation(value: float | None) -> int:
    return int(value or 0)


def refresh(refresh_token: str, now: datetime) -> TokenPair:
    session_id, _, secret = refresh_token.partition(".")
    if not session_id.startswith("ses_") or not secret:
        raise OkpayError("invalid_refresh_token")
    try:
        session = Session.get(session_id, consistent_read=True)
    except Session.DoesNotExist:
        raise OkpayError("invalid_refresh_token") from None
    # The user is known only from the session here, so its generation is a second read.
    if session.status != "active" or not _is_live(session, get_user(session.user_id), now):
        raise OkpayError("invalid_refresh_token")
    presented = _digest(secret)
    if hmac.compare_digest(presented, session.refresh_hash):
        return _rotate(session, secret, presented, now)
    if session.previous_refresh_hash and hmac.compare_digest(presented, session.previous_refresh_hash):
        if session.rotated_at and now - clock.from_stamp(session.rotated_at) <= REFRESH_GRACE and session.sealed_pair:
            return _unseal(session.sealed_pair, secret, session)
        _revoke_for_reuse(session)
    if any(hmac.compare_digest(presented, _retired_digest(entry)) for entry in session.retired_hashes or ()):
        _revoke_for_reuse(session)
    raise OkpayError("invalid_refresh_token")


def _rotate(session: Session, secret: str, presented: str, now: datetime) -> TokenPair:
    new_secret = secrets.token_urlsafe(32)
    pair = TokenPair(
        _access_token(session.user_id, session.session_id, session.role, now),
        f"{session.session_id}.{new_secret}",
        session.session_id,
        session.user_id,
    )
    # Entries are "<rotation number>:<hash>", so the oldest can be dropped: the set has no order.
    retired = set(session.retired_hashes or set())
    if session.previous_refresh_hash:
        retired.add(f"{int(session.refresh_count):010d}:{session.previous_refresh_hash}")
    retired = set(sorted(retired, key=_retired_age)[-RETIRED_KEPT:])
    actions = [
        Session.refresh_hash.set(_digest(new_secret)),
        Session.previous_refresh_hash.set(presented),
        Session.rotated_at.set(clock.stamp(now)),
        Session.sealed_pair.set(_seal(pair, secret)),
        Session.last_used_at.set(clock.stamp(now)),
        Session.expires_at.set(clock.stamp(now + SESSION_IDLE_LIFETIME)),
        Session.expires_ttl.set(now + SESSION_IDLE_LIFETIME + timedelta(days=1)),
        Session.refresh_count.add(1),
    ]
    actions.append(Session.retired_hashes.set(retired) if retired else Session.retired_hashes.remove())
    try:
        # Only if nobody rotated it since our read: two racing refreshes cannot both rotate.
        session.update(actions=actions, condition=(Session.refresh_hash == presented) & (Session.status == "active"))
    except UpdateError as error:
        if not condition_failed(error):
            raise
        # The other request rotated it first: this token is now "previous" and gets its pair.
        return refresh(f"{session.session_id}.{secret}", now)
    logger.info(
        "tokens refreshed",
        extra={"event": "token_refreshed", "user_id": session.user_id, "session_id": session.session_id},
    )
    return pair


def _retired_age(entry: str) -> int:
    number, separator, _ = entry.partition(":")
    return int(number) if separator else -1  # entries written before numbering: the oldest


def _retired_digest(entry: str) -> str:
    return entry.rpartition(":")[2]


def _revoke_for_reuse(session: Session) -> None:
    revoke(session.session_id, session.user_id, reason="token_reused")
    logger.warning(
        "refresh token reused; session revoked",
        extra={"event": "token_reused", "user_id": session.user_id, "session_id": session.session_id},
    )
    raise OkpayError("token_reused")


def revoke(session_id: str, user_id: str, *, reason: str) -> bool:
    """Revoke one of `user_id`'s sessions; False if it is not theirs (or not there)."""
    try:
        Session(session_id).update(
            actions=[Session.status.set("revoked"), Session.revoked_reason.set(reason)],
            condition=Session.user_id == user_id,
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    logger.info(
        "session revoked",
        extra={"event": "session_revoked", "user_id": user_id, "session_id": session_id, "reason": reason},
    )
    _close_websockets(session_id=session_id)
    return True


def sign_out_device(session_id: str, user_id: str, now: datetime) -> bool:
    """The user ends one of their sessions (`DELETE /me/sessions/{id}`); False if it is not theirs.
    Their security log records it, with the device's name."""
    try:
        device = Session.get(session_id, consistent_read=True).device_name
    except Session.DoesNotExist:
        return False
    if not revoke(session_id, user_id, reason="revoked_by_user"):
        return False
    record_security_event(user_id, "session_revoked", clock.stamp(now), device_name=device, detail="one")
    return True


def sign_out_other_devices(user_id: str, current_session: str, now: datetime) -> int:
    """The user ends every session but this one (`DELETE /me/sessions`); their security log records it."""
    revoked = revoke_all(user_id, except_session=current_session, reason="revoked_by_user")
    record_security_event(user_id, "session_revoked", clock.stamp(now), detail="all_others")
    return revoked


def active_sessions(user_id: str, now: datetime | None = None) -> list[Session]:
    """The user's live sessions, newest first: those GSI by_user lists, each checked on its base item
    with the user's generation (BatchGetItem, consistent), so none revoked by "revoke all" shows."""
    now = now or clock.now()
    listed = _listed_sessions(user_id, now)
    live: list[Session] = []
    for start in range(0, len(listed), BATCH_KEYS - 1):
        chunk = listed[start : start + BATCH_KEYS - 1]
        found = batch_get([(User, (user_id,)), *((Session, (s.session_id,)) for s in chunk)])
        user = found[(User, (user_id,))]
        for row in chunk:
            session = found[(Session, (row.session_id,))]
            if session is not None and _is_live(session, user, now):
                live.append(session)
    return live


def _listed_sessions(user_id: str, now: datetime | None = None) -> list[Session]:
    """What GSI by_user lists as neither revoked nor idle, newest first. The index lags: use it to
    find sessions, never to conclude that none is left."""
    stamp = clock.stamp(now or clock.now())
    return [
        s
        for s in Session.by_user.query(user_id, scan_index_forward=False)
        if s.status == "active" and s.expires_at > stamp
    ]


def revoke_all(
    user_id: str, *, except_session: str | None = None, reason: str, user_actions: list[Any] | None = None
) -> int:
    """Revoke every session of `user_id` but `except_session`, effective on their next request.

    The user's session generation is bumped, with `user_actions` (e.g. a role change) in the same
    write; `except_session` is stamped with the new generation in the same transaction, so it alone
    survives. Then the sessions the index lists are marked revoked; returns how many were.
    """
    _bump_generation(user_id, except_session, user_actions or [])
    return mark_revoked(user_id, reason=reason, except_session=except_session)


def revoke_all_action() -> Any:
    """The update action on the user item that revokes every session of the user at once (their
    generation moves on), for a change that writes the user item in a transaction of its own and
    must revoke in that same write (an agent's freeze); then `mark_revoked`."""
    return User.session_generation.add(1)


def mark_revoked(user_id: str, *, reason: str, except_session: str | None = None) -> int:
    """After the generation moved on: mark revoked the sessions the index lists (for the devices
    list and the record; they are refused already); returns how many were."""
    _close_websockets(user_id=user_id, keep_session=except_session)
    revoked = 0
    for session in _listed_sessions(user_id):
        if session.session_id != except_session and revoke(session.session_id, user_id, reason=reason):
            revoked += 1
    logger.info(
        "sessions revoked by generation",
        extra={"event": "sessions_revoked", "user_id": user_id, "reason": reason, "kept": except_session},
    )
    return revoked


def _close_websockets(
    *, session_id: str | None = None, user_id: str | None = None, keep_session: str | None = None
) -> None:
    """A revoked session's live-chat WebSockets close with it (contract, section 12): those of
    `session_id`, or every one of `user_id`'s but `keep_session`'s. Best effort: the revocation
    stands either way, and a socket the index did not list yet is closed at its next frame, which
    checks the session (chalicelib/services/support/chat_sockets.py)."""
    try:
        if session_id is not None:
            doomed = connections.connection_ids_of_session(session_id)
        else:
            doomed = [c.connection_id for c in connections.connections_of_user(user_id) if c.session_id != keep_session]
        for connection_id in doomed:
            pusher.close(connection_id)
    except Exception:
        logger.warning("websockets of a revoked session not closed", extra={"user_id": user_id}, exc_info=True)


def _bump_generation(user_id: str, keep: str | None, user_actions: list[Any]) -> None:
    if keep is None:
        try:
            User(user_id).update(
                actions=[User.session_generation.add(1), *user_actions], condition=User.user_id.exists()
            )
        except UpdateError as error:
            if not condition_failed(error):  # failed condition: no such user, so no session to revoke
                raise
        return
    for _ in range(BUMP_ATTEMPTS):
        found = batch_get([(User, (user_id,)), (Session, (keep,))])
        user, kept = found[(User, (user_id,))], found[(Session, (keep,))]
        if user is None:
            return
        current = _generation(user.session_generation)
        # Only a session live at the current generation is carried over: one outdated by a
        # concurrent "revoke all" stays revoked.
        carry = kept is not None and kept.status == "active" and kept.user_id == user_id
        carry = carry and _generation(kept.generation) == current
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.update(
                    User(user_id),
                    actions=[User.session_generation.set(current + 1), *user_actions],
                    condition=User.user_id.exists() & _generation_is(User.session_generation, current),
                )
                if carry:
                    transaction.update(
                        Session(keep),
                        actions=[Session.generation.set(current + 1)],
                        condition=_generation_is(Session.generation, current)
                        & (Session.status == "active")
                        & (Session.user_id == user_id),
                    )
            return
        except TransactWriteError as error:
            if not _lost_a_race(error):
                raise
    raise OkpayError("try_again", retry_after=1)


def _generation_is(attribute: Any, generation: int) -> Any:
    return attribute == generation if generation else attribute.does_not_exist() | (attribute == 0)


def _lost_a_race(error: TransactWriteError) -> bool:
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(r is not None and r.code in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons)


def update_locale(user_id: str, locale: str) -> None:
    """Sessions carry the locale so a request needs no user read to pick its language."""
    for session in _listed_sessions(user_id):
        session.update(actions=[Session.locale.set(locale)])


def _access_token(user_id: str, session_id: str, role: str, now: datetime) -> str:
    import jwt  # deferred: heavy (PyJWT ~35 ms)

    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user_id,
        "sid": session_id,
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int((now + ACCESS_TOKEN_LIFETIME).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, derived_key("jwt"), algorithm="HS256")


def _digest(secret: str) -> str:
    # The secret has 256 bits of entropy: a plain hash is enough, unlike passwords and codes.
    return hashlib.sha256(secret.encode()).hexdigest()


def _seal(pair: TokenPair, previous_secret: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # deferred: heavy (cryptography ~20 ms)

    nonce = os.urandom(12)
    payload = json.dumps({"a": pair.access_token, "r": pair.refresh_token}).encode()
    return base64.b64encode(nonce + AESGCM(_seal_key(previous_secret)).encrypt(nonce, payload, None)).decode()


def _unseal(sealed: str, previous_secret: str, session: Session) -> TokenPair:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # deferred: heavy (cryptography ~20 ms)

    raw = base64.b64decode(sealed)
    data = json.loads(AESGCM(_seal_key(previous_secret)).decrypt(raw[:12], raw[12:], None))
    return TokenPair(data["a"], data["r"], session.session_id, session.user_id)


def _seal_key(previous_secret: str) -> bytes:
    # Only a holder of the previous refresh token can open the pair stored for its retry.
    return hashlib.sha256(b"okpay/refresh-retry/" + previous_secret.encode()).digest()
