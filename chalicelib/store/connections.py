"""Live-chat WebSocket connections (table `connections`) and their one-time tickets (table `codes`).

`connections`: one item per open WebSocket, hash key `connection_id` (API Gateway's, or the local
bridge's). It names who is connected (`user_id`), through which sign-in (`session_id`) and as what
(`role`: `user` for the app's connection, `agent` for the console's), and lives at most 2 h, API
Gateway's cap on a connection (`expires_ttl`; DynamoDB deletes late, so readers also skip expired
ones). `typing` holds, per chat, when this connection last relayed a typing frame (epoch ms): the
3-second throttle is a conditional update on it. Indexes (never a Scan):
- `by_user` (`user_id`, `connection_id`, with `role`, `session_id`, `expires_at`): whom a push for
  a user or an agent reaches, and what to close when all of a user's sessions are revoked;
- `by_session` (`session_id`, `connection_id`, keys only): what to close when one session is;
- `by_console` (`console`, `connection_id`, with `user_id`, `expires_at`), sparse: every console
  (agent) connection under the one key `agent` — a few hundred at most — so the `chat.waiting`
  fan-out to every online agent is one Query rather than one per agent.

A ws-ticket is a `codes` item `ws_ticket#<SHA-256 of the secret>` bound to the user, session and
role, expiring after 60 s and deleted by the connect that uses it (a conditional delete, so of two
connects racing with one ticket exactly one wins).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.attributes import MapAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, UpdateError
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection

from chalicelib.adapters import clock
from chalicelib.store.base import BaseModel, StageTable
from chalicelib.store.conditions import condition_failed

# API Gateway closes every WebSocket connection after 2 hours.
CONNECTION_LIFETIME = timedelta(hours=2)
TICKET_PREFIX = "ws_ticket#"


class ConnectionsByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_user"
        # What a push needs to pick its connections, so a push is one Query.
        projection = IncludeProjection(["role", "session_id", "expires_at"])

    user_id = UnicodeAttribute(hash_key=True)
    connection_id = UnicodeAttribute(range_key=True)


class ConnectionsBySession(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_session"
        projection = KeysOnlyProjection()

    session_id = UnicodeAttribute(hash_key=True)
    connection_id = UnicodeAttribute(range_key=True)


class ConnectionsByConsole(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_console"
        projection = IncludeProjection(["user_id", "expires_at"])

    console = UnicodeAttribute(hash_key=True)
    connection_id = UnicodeAttribute(range_key=True)


CONSOLE = "agent"  # the one `by_console` key


class WsConnection(BaseModel):
    class Meta(metaclass=StageTable):
        table = "connections"

    connection_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    session_id = UnicodeAttribute()
    role = UnicodeAttribute()  # "user" | "agent": which pushes it receives
    locale = UnicodeAttribute(default="en")  # the session's, for error frames
    connected_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    expires_ttl = TTLAttribute()
    typing = MapAttribute(default=dict)  # chat_id -> epoch ms of the last typing frame relayed
    console = UnicodeAttribute(null=True)  # CONSOLE on agent connections only (sparse index by_console)

    by_user = ConnectionsByUser()
    by_session = ConnectionsBySession()
    by_console = ConnectionsByConsole()


class WsTicket(BaseModel):
    """A ws-ticket in the `codes` table (the table of short-lived hashed secrets)."""

    class Meta(metaclass=StageTable):
        table = "codes"

    code_id = UnicodeAttribute(hash_key=True)  # ws_ticket#<sha256 hex of the secret>
    user_id = UnicodeAttribute()
    session_id = UnicodeAttribute()
    role = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    expires_ttl = TTLAttribute()


# --- tickets ----------------------------------------------------------------------------------------


def put_ticket(digest: str, *, user_id: str, session_id: str, role: str, now: datetime, lifetime: timedelta) -> None:
    WsTicket(
        f"{TICKET_PREFIX}{digest}",
        user_id=user_id,
        session_id=session_id,
        role=role,
        created_at=clock.stamp(now),
        expires_at=clock.stamp(now + lifetime),
        expires_ttl=now + lifetime + timedelta(minutes=5),
    ).save(condition=WsTicket.code_id.does_not_exist())


def take_ticket(digest: str, now: datetime) -> WsTicket | None:
    """The ticket, deleted so that it can never be used again; None when there is none, it has
    expired, or another connect took it first."""
    try:
        ticket = WsTicket.get(f"{TICKET_PREFIX}{digest}", consistent_read=True)
    except WsTicket.DoesNotExist:
        return None
    try:
        ticket.delete(condition=WsTicket.code_id.exists())
    except DeleteError as error:
        if condition_failed(error):
            return None
        raise
    if ticket.expires_at <= clock.stamp(now):
        return None
    return ticket


# --- connections ------------------------------------------------------------------------------------


def put_connection(
    connection_id: str, *, user_id: str, session_id: str, role: str, locale: str, now: datetime
) -> WsConnection:
    connection = WsConnection(
        connection_id,
        user_id=user_id,
        session_id=session_id,
        role=role,
        locale=locale,
        connected_at=clock.stamp(now),
        expires_at=clock.stamp(now + CONNECTION_LIFETIME),
        expires_ttl=now + CONNECTION_LIFETIME + timedelta(minutes=5),
        typing={},
        console=CONSOLE if role == "agent" else None,
    )
    connection.save()
    return connection


def get_connection(connection_id: str) -> WsConnection | None:
    try:
        return WsConnection.get(connection_id, consistent_read=True)
    except WsConnection.DoesNotExist:
        return None


def delete_connection(connection_id: str) -> None:
    WsConnection(connection_id).delete()


def connection_ids_of_users(user_ids: list[str], role: str, now: datetime) -> list[str]:
    """The connections of `user_ids` opened as `role` and not past API Gateway's 2 h (index by_user)."""
    stamp = clock.stamp(now)
    return [
        row.connection_id
        for user_id in dict.fromkeys(user_ids)
        for row in WsConnection.by_user.query(user_id)
        if row.role == role and (row.expires_at or "") > stamp
    ]


def console_connection_ids(agent_ids: list[str], now: datetime) -> list[str]:
    """The console connections of `agent_ids` not past API Gateway's 2 h: one Query on `by_console`."""
    wanted, stamp = set(agent_ids), clock.stamp(now)
    return [
        row.connection_id
        for row in WsConnection.by_console.query(CONSOLE)
        if row.user_id in wanted and (row.expires_at or "") > stamp
    ]


def connections_of_user(user_id: str) -> list[WsConnection]:
    """Every connection of `user_id` the index lists, whatever its role, with its session."""
    return list(WsConnection.by_user.query(user_id))


def connection_ids_of_session(session_id: str) -> list[str]:
    return [row.connection_id for row in WsConnection.by_session.query(session_id)]


def claim_typing_slot(connection_id: str, chat_id: str, now: datetime, interval: timedelta) -> bool:
    """True if this connection may relay a typing frame about `chat_id` now (none in `interval`),
    recording it; False if it did within `interval` (or the connection is gone)."""
    now_ms = int(now.timestamp() * 1000)
    last = WsConnection.typing[chat_id]
    try:
        WsConnection(connection_id).update(
            actions=[last.set(now_ms)],
            condition=WsConnection.connection_id.exists()
            & (last.does_not_exist() | (last <= now_ms - int(interval.total_seconds() * 1000))),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True
