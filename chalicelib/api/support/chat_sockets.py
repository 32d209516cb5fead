"""Live chat's WebSocket tickets (contract, section 12): how the app and the console connect.

The socket itself is served by chalicelib/api/chat_socket.py (API Gateway's WebSocket API deployed,
localstage/ws_bridge.py locally); these routes only hand out the one-time ticket it needs, so no
token ever travels in a URL.
"""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.services.support import chat_sockets

# The frames, documented once for both routes (OpenAPI has no WebSocket operations).
_FRAMES = (
    "**Connecting.** Open a WebSocket to `url` with `?ticket=<ticket>` within 60 s. The ticket works once: a "
    "missing, unknown, expired or used ticket, or one whose session has since been revoked, is refused with "
    "HTTP `401` on the upgrade (deployed: API Gateway's `$connect` answers 401). Deployed, API Gateway closes "
    "a connection after 2 hours, or 10 minutes without a frame: send a ping every 5 minutes, reconnect with a "
    "new ticket, then catch up with `GET …/messages?after_seq=`.\n\n"
    "**Frames** are JSON text. Server → client:\n"
    '- `{"type": "message.new", "chat_id", "message"}`: a message in one of your chats (as the messages '
    "route shows it);\n"
    '- `{"type": "chat.updated", "chat"}`: a chat changed (accepted, resolved, turned into a ticket …);\n'
    '- `{"type": "typing", "chat_id", "sender": "user"|"agent"}`: the other party is typing;\n'
    '- `{"type": "chat.waiting", "chat"}`: agents only, while `online`: a new chat is waiting;\n'
    '- `{"type": "pong"}`: the answer to a ping;\n'
    '- `{"type": "error", "error": {code, message, request_id, field?}}`: a frame not taken (the error '
    "envelope; `validation_error` for anything but the two frames below).\n\n"
    'Client → server: `{"type": "ping"}`; `{"type": "typing", "chat_id"}`: relayed to the other party of '
    "that chat (its user, or the agent it is assigned to) and never stored, at most one per 3 s per "
    "connection and chat (more are dropped quietly). Every write (a message, a read mark) is a REST call.\n\n"
    "A user's connection receives only that user's chats; an agent's, the chats they hold and the waiting "
    "queue. Every frame checks the session: once it is revoked (sign-out, `DELETE /me/sessions…`, a "
    "password change …) its connections are closed."
)


@operation(
    "POST",
    "/support/chats/ws-ticket",
    schemas="chat_sockets",
    summary="A one-time ticket for the live-chat WebSocket",
    description=(
        "A ticket for one connection of the caller's app to the live-chat WebSocket, where what happens in "
        "the caller's chats is pushed as it happens.\n\n" + _FRAMES
    ),
    tag="support",
    auth="user",
    response="WsTicket",
    status=201,
)
def user_ws_ticket(call: Call) -> Reply:
    return Reply(chat_sockets.issue_ticket(call.user.user_id, call.user.session_id, "user", clock.now()), 201)


@operation(
    "POST",
    "/admin/chats/ws-ticket",
    schemas="chat_sockets",
    summary="A one-time ticket for the agents' live-chat WebSocket",
    description=(
        "As `POST /support/chats/ws-ticket`, for the support console: the connection receives the chats the "
        "agent holds and, while the agent is `online` (`PUT /admin/presence`), every new waiting chat "
        "(`chat.waiting`). An agent session that did not pass TOTP is `403 mfa_required`.\n\n" + _FRAMES
    ),
    tag="admin",
    auth="agent",
    response="WsTicket",
    status=201,
)
def agent_ws_ticket(call: Call) -> Reply:
    return Reply(chat_sockets.issue_ticket(call.user.user_id, call.user.session_id, "agent", clock.now()), 201)
