"""Live chat (在线客服, section 12): the user's chats and the agents' side. Every write is a REST
call; the WebSocket layer only pushes what happened (its ws-ticket routes live elsewhere)."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.pagination import page_of
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.errors import OkpayError
from chalicelib.services.support import chat_desk, chats

_KEY_ERRORS = ("idempotency_key_reused", "request_in_progress")


@operation(
    "POST",
    "/support/chats",
    schemas="chats",
    summary="Start a live chat",
    description=(
        "Opens a chat with `status: waiting` in the agents' queue; `body` is stored as message `seq` 1 (card "
        "numbers as `**** 1234`). One chat at a time: while the caller has a chat waiting or active → "
        "`409 chat_exists` with `details.chat_id`, also when several starts race. The first message counts "
        "towards the 20 messages a minute per user.\n\n"
        "Checks after validation: `429 rate_limited` → `404 not_found` with `field: transaction_id` (no such "
        "transaction of the caller's) → `409 chat_exists`. An `Idempotency-Key` is optional and honoured."
    ),
    tag="support",
    auth="user",
    body="ChatCreate",
    response="Chat",
    status=201,
    idempotency="optional",
    errors=("rate_limited", "not_found", "chat_exists", *_KEY_ERRORS),
)
def start_chat(call: Call) -> Reply:
    body = call.body
    chat = chats.open_chat(call.user.user_id, body.body, body.category, body.transaction_id, clock.now())
    return Reply(chat, 201)


@operation(
    "GET",
    "/support/chats",
    schemas="chats",
    summary="The caller's chats, newest first",
    description=(
        "Every chat the caller started, whatever its status, newest first; `?limit=` (1–100, default 20) and the "
        "opaque `?cursor=` of the previous page."
    ),
    tag="support",
    auth="user",
    query="PageQuery",
    response="ChatPage",
    errors=("invalid_cursor",),
)
def list_chats(call: Call) -> dict:
    user_id = call.user.user_id
    return page_of(f"chats#{user_id}", call.query, lambda limit, start: chats.list_chats(user_id, limit, start))


@operation(
    "GET",
    "/support/chats/{chat_id}",
    schemas="chats",
    summary="One of the caller's chats",
    description=(
        "The chat with its `queue_position` while waiting and the number of agent and system messages the "
        "caller has not marked read (`unread`); another user's chat is `404 not_found`."
    ),
    tag="support",
    auth="user",
    response="Chat",
    errors=("not_found",),
)
def read_chat(call: Call) -> dict:
    return chats.read_chat(call.user.user_id, call.params["chat_id"])


@operation(
    "GET",
    "/support/chats/{chat_id}/messages",
    schemas="chats",
    summary="A chat's messages after a seq, oldest first",
    description=(
        "Messages with `seq` above `?after_seq=` (default 0), oldest first, at most `?limit=` (1–100, default "
        "20): a client that reconnects catches up from the last `seq` it has. Internal notes of agents never "
        "appear. `next_cursor` (or the last `seq` as `after_seq`) reads on."
    ),
    tag="support",
    auth="user",
    query="ChatMessagesQuery",
    response="ChatMessagePage",
    errors=("not_found", "invalid_cursor"),
)
def list_messages(call: Call) -> dict:
    query = call.query
    after_seq = query.after_seq
    if query.cursor is not None:
        if not query.cursor.isdigit():
            raise OkpayError("invalid_cursor", field="cursor")
        after_seq = int(query.cursor)
    return chats.list_messages(call.user.user_id, call.params["chat_id"], after_seq, query.limit)


@operation(
    "POST",
    "/support/chats/{chat_id}/messages",
    schemas="chats",
    summary="Write in one of the caller's chats",
    description=(
        "Adds the caller's message with the next `seq`. The same `client_msg_id` in this chat again answers "
        "the stored message with `200` (whatever the body; stored once, also when the two race). At most 20 "
        "messages a minute per user (`429 rate_limited`). On a chat resolved less than 24 hours ago the message "
        "reopens it (`waiting`, back in the queue), unless another chat of the caller's is open "
        "(`409 chat_exists`); after 24 hours → `409 chat_closed`. An `Idempotency-Key` is optional and honoured."
    ),
    tag="support",
    auth="user",
    body="ChatMessageCreate",
    response="ChatMessage",
    status=201,
    other_statuses=(200,),
    responses={201: "The message was stored.", 200: "A resend: the message stored earlier with this client_msg_id."},
    idempotency="optional",
    errors=("rate_limited", "not_found", "chat_closed", "chat_exists", *_KEY_ERRORS),
)
def send_message(call: Call) -> Reply:
    body = call.body
    message, status = chats.send_user_message(
        call.user.user_id, call.params["chat_id"], body.body, body.client_msg_id, clock.now()
    )
    return Reply(message, status)


@operation(
    "POST",
    "/support/chats/{chat_id}/read",
    schemas="chats",
    summary="Mark a chat read up to a seq",
    description=(
        "The caller has seen the messages up to `up_to_seq` (a mark past `last_seq` counts as `last_seq`): "
        "`unread` counts only the agent and system messages after it. The mark never moves back."
    ),
    tag="support",
    auth="user",
    body="ChatReadMark",
    status=204,
    errors=("not_found",),
)
def mark_read(call: Call) -> Reply:
    chats.mark_read(call.user.user_id, call.params["chat_id"], call.body.up_to_seq)
    return Reply(None, 204)


@operation(
    "POST",
    "/support/chats/{chat_id}/close",
    schemas="chats",
    summary="End one of the caller's chats",
    description=(
        "The chat is `resolved` and its transcript (the messages the caller saw, Beijing times) is emailed to "
        "the caller's verified email. An already resolved chat is answered as it is and nothing is sent again."
    ),
    tag="support",
    auth="user",
    response="Chat",
    errors=("not_found",),
)
def close_chat(call: Call) -> dict:
    return chats.close_chat(call.user.user_id, call.params["chat_id"], clock.now())


# --- agents ----------------------------------------------------------------------------------------


@operation(
    "GET",
    "/admin/chats",
    schemas="chats",
    summary="Chat queue, oldest waiting_since first",
    description=(
        "The agents' chat desk, oldest `waiting_since` first: `?status=waiting` (the queue, with "
        "`queue_position`), `?status=active`, or both when left out; `?mine=true`: only the active chats the "
        "caller holds."
    ),
    tag="admin",
    auth="agent",
    query="ChatQueueQuery",
    response="AgentChatPage",
    errors=("invalid_cursor",),
)
def chat_queue(call: Call) -> dict:
    query = call.query
    statuses = (query.status,) if query.status else chat_desk.QUEUE_STATUSES
    mine = bool(query.mine)
    agent_id = call.user.user_id
    scope = f"chat_queue#{query.status or 'open'}#{agent_id if mine else 'all'}"
    return page_of(
        scope,
        query,
        lambda limit, position: chat_desk.queue_page(agent_id, statuses, mine, limit=limit, position=position),
    )


@operation(
    "GET",
    "/admin/chats/{chat_id}",
    schemas="chats",
    summary="A chat as agents see it, internal notes included",
    description=(
        "The chat with its user and every message oldest first; internal notes are included where they were "
        "written (`internal: true`, `seq: null`, `after_seq`: the last `seq` then)."
    ),
    tag="admin",
    auth="agent",
    response="AgentChatDetail",
    errors=("not_found",),
)
def read_chat_for_agent(call: Call) -> dict:
    return chat_desk.read_for_agent(call.params["chat_id"])


@operation(
    "POST",
    "/admin/chats/{chat_id}/accept",
    schemas="chats",
    summary="Accept a waiting chat",
    description=(
        "The chat becomes `active` with the caller as `assignee`, and a system message tells the user. One "
        "winner when agents race: the others → `409 chat_taken`; the assignee asking again → `200`. An agent "
        "who is `away`, or holds `max_chats` chats already → `409 chat_limit_reached` (an agent who never set "
        "a presence counts as online with 3). A resolved chat → `409 chat_not_active`. Checks: 404 → "
        "`403 own_case` (the agent's own chat) → 409."
    ),
    tag="admin",
    auth="agent",
    response="AgentChat",
    errors=("not_found", "own_case", "chat_taken", "chat_limit_reached", "chat_not_active"),
)
def accept_chat(call: Call) -> dict:
    return chat_desk.accept(call.user.user_id, call.params["chat_id"], clock.now())


@operation(
    "POST",
    "/admin/chats/{chat_id}/messages",
    schemas="chats",
    summary="Reply in a chat, or add an internal note",
    description=(
        "The assignee's message with the next `seq`, pushed to the user; the first one sets "
        "`first_response_at`. With `internal: true` it is a note for agents only (`seq: null`, `after_seq`), "
        "never shown or pushed to the user. Checks: 404 → `403 own_case` → `409 chat_taken` (another agent "
        "holds it) → `409 chat_not_active` (waiting or resolved). An `Idempotency-Key` is optional and honoured."
    ),
    tag="admin",
    auth="agent",
    body="AgentChatMessageCreate",
    response="AgentChatMessage",
    status=201,
    idempotency="optional",
    errors=("not_found", "own_case", "chat_taken", "chat_not_active", *_KEY_ERRORS),
)
def agent_message(call: Call) -> Reply:
    body = call.body
    message = chat_desk.agent_message(
        call.user.user_id, call.params["chat_id"], body.body, bool(body.internal), clock.now()
    )
    return Reply(message, 201)


@operation(
    "POST",
    "/admin/chats/{chat_id}/resolve",
    schemas="chats",
    summary="Resolve a chat; the transcript is emailed",
    description=(
        "The chat is `resolved` (by the assignee, or by any agent while it is `waiting`) and its transcript is "
        "emailed to the user's verified email. Already resolved → `200` with the chat, nothing sent again. "
        "Checks: 404 → `403 own_case` → `409 chat_taken` (another agent holds it)."
    ),
    tag="admin",
    auth="agent",
    response="AgentChat",
    errors=("not_found", "own_case", "chat_taken"),
)
def resolve_chat(call: Call) -> dict:
    return chat_desk.resolve(call.user.user_id, call.params["chat_id"], clock.now())


@operation(
    "POST",
    "/admin/chats/{chat_id}/to-ticket",
    schemas="chats",
    summary="Turn a chat into a ticket",
    description=(
        "Opens a ticket (`source: chat`, `new`, first response due in 24 hours) whose first message is the "
        "transcript, and resolves the chat with its `ticket_id`; the user is told in the chat and by email. "
        "By the assignee, or any agent while the chat is `waiting`. Checks: 404 → `403 own_case` → "
        "`409 chat_taken` → `409 chat_not_active` (already resolved). An `Idempotency-Key` is optional and "
        "honoured."
    ),
    tag="admin",
    auth="agent",
    response="AgentTicket",
    status=201,
    idempotency="optional",
    errors=("not_found", "own_case", "chat_taken", "chat_not_active", *_KEY_ERRORS),
)
def chat_to_ticket(call: Call) -> Reply:
    ticket = chat_desk.to_ticket(call.user.user_id, call.params["chat_id"], clock.now())
    return Reply(ticket, 201)


@operation(
    "PUT",
    "/admin/presence",
    schemas="chats",
    summary="Set the caller's chat presence",
    description=(
        "`online` (offered new chats, `chat.waiting` pushes) or `away` (accepts nothing new; the chats held "
        "stay held), and `max_chats` (1–10, default 3): how many chats the agent holds at once."
    ),
    tag="admin",
    auth="agent",
    body="PresenceUpdate",
    response="Presence",
)
def set_presence(call: Call) -> dict:
    body = call.body
    return chat_desk.set_presence(call.user.user_id, body.status, body.max_chats, clock.now())
