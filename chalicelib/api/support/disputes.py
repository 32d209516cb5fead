"""Disputes (申诉): the user's appeals and the agents' desk."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.api.pagination import page_of
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.errors import OkpayError
from chalicelib.services.support import dispute_desk, disputes

_KEY_ERRORS = ("idempotency_key_reused", "request_in_progress")
ACTIVE = ["open", "under_review"]


@operation(
    "POST",
    "/disputes",
    schemas="disputes",
    summary="Dispute one of the caller's payments, transfers or withdrawals (申诉)",
    description=(
        "Opens a dispute (`status: open`) on the caller's own debit of a payment, transfer or withdrawal, for "
        "`amount` (default: all of it not yet refunded). `respond_by` is 23:59:59 +08:00 on the 3rd working day "
        "after the start day (the filing day when filed on a working day before 17:30, else the next working "
        "day; mainland holidays and make-up working days count). An acknowledgement naming the dispute and "
        "`respond_by` goes to the user's email (and by SMS while that email is not verified). At most 50 filings "
        "a day per user.\n\n"
        "Checks after validation: `429 rate_limited` → `404 not_found` (no such transaction of the caller's) → "
        "`409 dispute_exists` (one is open or under review; `details.dispute_id`) → `422 not_disputable` (not "
        "the caller's payment, transfer or withdrawal debit) → `422 dispute_window_closed` (more than 120 days, "
        "Asia/Shanghai) → `422 amount_exceeds_refundable` (`details.refundable`). An `Idempotency-Key` is "
        "optional and honoured."
    ),
    tag="disputes",
    auth="user",
    body="DisputeCreate",
    response="Dispute",
    status=201,
    idempotency="optional",
    errors=(
        "rate_limited",
        "not_found",
        "dispute_exists",
        "not_disputable",
        "dispute_window_closed",
        "amount_exceeds_refundable",
        *_KEY_ERRORS,
    ),
)
def file_dispute(call: Call) -> Reply:
    body = call.body
    view = disputes.file_dispute(
        call.user.user_id,
        body.transaction_id,
        body.reason,
        body.description,
        body.amount,
        clock.now(),
    )
    return Reply(view, 201)


@operation(
    "GET",
    "/disputes",
    schemas="disputes",
    summary="The caller's disputes, newest first",
    description=(
        "Every dispute the caller filed, whatever its status, newest first; `?limit=` (1–100, default 20) and "
        "the opaque `?cursor=` of the previous page."
    ),
    tag="disputes",
    auth="user",
    query="PageQuery",
    response="DisputePage",
    errors=("invalid_cursor",),
)
def list_disputes(call: Call) -> dict:
    user_id = call.user.user_id
    return page_of(
        f"disputes#{user_id}", call.query, lambda limit, start: disputes.list_disputes(user_id, limit, start)
    )


@operation(
    "GET",
    "/disputes/{dispute_id}",
    schemas="disputes",
    summary="One dispute with its messages",
    description=(
        "One of the caller's disputes with its timeline of messages, oldest first; another user's dispute is "
        "`404 not_found`. Once resolved it shows the outcome (`resolution_note`) and, when `refunded`, the refund."
    ),
    tag="disputes",
    auth="user",
    response="DisputeDetail",
    errors=("not_found",),
)
def read_dispute(call: Call) -> dict:
    return disputes.read_dispute(call.user.user_id, call.params["dispute_id"])


@operation(
    "POST",
    "/disputes/{dispute_id}/messages",
    schemas="disputes",
    summary="Add a message to the dispute's timeline",
    description=(
        "Adds the caller's message (1–2,000 characters) to an `open`, `under_review` or `awaiting_approval` "
        "dispute; a closed one "
        "(`refunded`, `rejected`, `withdrawn`) is `409 dispute_closed`. At most 30 messages an hour per user over "
        "all their disputes and tickets. An `Idempotency-Key` is optional and honoured."
    ),
    tag="disputes",
    auth="user",
    body="MessageCreate",
    response="Message",
    status=201,
    examples={201: "USER_FOLLOW_UP_EXAMPLE"},
    idempotency="optional",
    errors=("rate_limited", "not_found", "dispute_closed", *_KEY_ERRORS),
)
def add_message(call: Call) -> Reply:
    view = disputes.add_user_message(call.user.user_id, call.params["dispute_id"], call.body.body, clock.now())
    return Reply(view, 201)


@operation(
    "POST",
    "/disputes/{dispute_id}/withdraw",
    schemas="disputes",
    summary="Withdraw an open dispute",
    description=(
        "The user takes back an `open`, `under_review` or `awaiting_approval` dispute (a refund still waiting for "
        "a second agent's approval is then never posted): it becomes `withdrawn` (final; the "
        "transaction can be disputed again within its window) and the user is told. Already closed → "
        "`409 dispute_closed` with `details.status`."
    ),
    tag="disputes",
    auth="user",
    body="Empty",
    response="Dispute",
    examples={"request": {}, 200: "DISPUTE_WITHDRAWN_EXAMPLE"},
    errors=("not_found", "dispute_closed"),
)
def withdraw(call: Call) -> dict:
    return disputes.withdraw(call.user.user_id, call.params["dispute_id"], clock.now())


# --- agents --------------------------------------------------------------------------------------


@operation(
    "GET",
    "/admin/disputes",
    schemas="disputes",
    summary="Disputes by deadline, oldest respond_by first",
    description=(
        "The agents' dispute desk, oldest `respond_by` first. Without `status`: `open` and `under_review` "
        "together; `status=awaiting_approval`: refunds above 5,000 CNY equivalent waiting for a second agent's "
        "approval (`POST /admin/disputes/{dispute_id}/approve`); while a dispute waits, assigning, replying and "
        "extending are `409 dispute_closed`. `overdue=true`: open disputes whose `respond_by` has passed with no "
        "agent reply yet. "
        "`assignee` keeps the disputes assigned to that agent (pages may then be short while `next_cursor` is "
        "not null)."
    ),
    tag="admin",
    auth="agent",
    query="AgentQueueQuery",
    response="AgentDisputePage",
    errors=("invalid_cursor",),
)
def dispute_queue(call: Call) -> dict:
    query = call.query
    statuses = [query.status] if query.status else ACTIVE
    before = None
    if query.overdue:
        statuses = [status for status in statuses if status == "open"]
        before = clock.now()
    scope = f"dispute_queue#{','.join(statuses)}#{query.overdue}#{query.assignee}"
    return page_of(
        scope,
        query,
        lambda limit, position: dispute_desk.queue_page(
            statuses, before=before, assignee=query.assignee, limit=limit, position=position
        ),
    )


@operation(
    "GET",
    "/admin/disputes/{dispute_id}",
    schemas="disputes",
    summary="One dispute as agents see it, with its history",
    description=(
        "An addition to the contract (section 6 lists no agent read of one dispute): the whole case, with the "
        "filing user, its messages with their authors and every recorded transition (filed, assigned, "
        "under_review, extended, SLA reminders and escalation, refunded, rejected, withdrawn), oldest first."
    ),
    tag="admin",
    auth="agent",
    response="AgentDisputeDetail",
    errors=("not_found",),
)
def read_for_agent(call: Call) -> dict:
    return dispute_desk.read_for_agent(call.params["dispute_id"])


@operation(
    "POST",
    "/admin/disputes/{dispute_id}/assign",
    schemas="disputes",
    summary="Assign the dispute to an agent (default: the caller)",
    description=(
        "Sets `assignee` to `agent_id` (an active agent; else `404 not_found` with `field: agent_id`) or to the "
        "caller. An agent never handles their own dispute: acting on it, or assigning it to the agent it is "
        "about, is `403 own_case`. Checks: 404 → 403 own_case → `409 dispute_closed` (already resolved or "
        "withdrawn)."
    ),
    tag="admin",
    auth="agent",
    body="Assign",
    response="AgentDispute",
    errors=("not_found", "own_case", "dispute_closed"),
)
def assign(call: Call) -> dict:
    return dispute_desk.assign(call.user.user_id, call.params["dispute_id"], call.body.agent_id, clock.now())


@operation(
    "POST",
    "/admin/disputes/{dispute_id}/messages",
    schemas="disputes",
    summary="Reply to the user on a dispute",
    description=(
        "Adds an agent message; the user is emailed it. The first agent reply moves `open → under_review`, "
        "meets the `respond_by` promise (the SLA clock stops) and makes the agent the assignee when there is "
        "none. Checks: 404 → `403 own_case` (the agent's own dispute) → `409 dispute_closed`. An "
        "`Idempotency-Key` is optional and honoured."
    ),
    tag="admin",
    auth="agent",
    body="MessageCreate",
    response="Message",
    status=201,
    idempotency="optional",
    errors=("not_found", "own_case", "dispute_closed", *_KEY_ERRORS),
)
def reply(call: Call) -> Reply:
    view = dispute_desk.reply(call.user.user_id, call.params["dispute_id"], call.body.body, clock.now())
    return Reply(view, 201)


@operation(
    "POST",
    "/admin/disputes/{dispute_id}/extend",
    schemas="disputes",
    summary="Extend the investigation",
    description=(
        "Promises a resolution by `resolve_by` and tells the user why (`reason`) and until when, in Beijing time. "
        "`resolve_by` must be later than now and than any earlier promise, and at most 90 days after filing "
        "(`400 validation_error`, `field: resolve_by`). Checks: 404 → `403 own_case` → `409 dispute_closed`."
    ),
    tag="admin",
    auth="agent",
    body="Extend",
    response="AgentDispute",
    examples={200: "AGENT_DISPUTE_EXTENDED_EXAMPLE"},
    errors=("not_found", "own_case", "dispute_closed"),
)
def extend(call: Call) -> dict:
    body = call.body
    return dispute_desk.extend(
        call.user.user_id, call.params["dispute_id"], body.reason, clock.parse_instant(body.resolve_by), clock.now()
    )


@operation(
    "POST",
    "/admin/disputes/{dispute_id}/resolve",
    schemas="disputes",
    summary="Resolve: refund from the dispute write-off account, or reject",
    description=(
        "Closes the dispute. `refunded` credits the user in the original currency from the dispute write-off "
        "account with a `refund` transaction of `refund_amount` (≤ the dispute amount, default: it; more, or "
        "more than the transaction has left unrefunded, is `422 amount_exceeds_refundable`), exactly once: a "
        "second resolve, even a concurrent one, is `409 dispute_closed`. `rejected` takes no `refund_amount` "
        "(`400 validation_error`). The user is told the outcome and the `note`.\n\n"
        "Four eyes: a refund above 5,000 CNY equivalent (at the current rates, rounded up; exactly 5,000 CNY is "
        "not above) answers `202` with `status: awaiting_approval` and moves no money; a second agent posts it "
        "with `POST /admin/disputes/{dispute_id}/approve`, and only then is the user told. A later resolve is "
        "`409 dispute_closed` (`details.status: awaiting_approval`).\n\n"
        "Moves money, so `Idempotency-Key` is required. Checks: 401 → 403 forbidden → "
        "400 idempotency_key_required → key lookup → 400 validation → 404 → `403 own_case` (the agent's own "
        "dispute) → `409 dispute_closed` → 422."
    ),
    tag="admin",
    auth="agent",
    body="Resolve",
    response="AgentDispute",
    other_statuses=(202,),  # awaiting_approval: a refund above 5,000 CNY equivalent waits for a second agent
    examples={200: "AGENT_DISPUTE_REFUNDED_EXAMPLE", 202: "AGENT_DISPUTE_AWAITING_APPROVAL_EXAMPLE"},
    responses={
        200: "Resolved: `refunded` (the money has moved) or `rejected`.",
        202: (
            "A refund above 5,000 CNY equivalent: `status: awaiting_approval`, with `approval`; nothing has moved "
            "until a second agent approves it."
        ),
    },
    idempotency="required",
    errors=("not_found", "own_case", "dispute_closed", "amount_exceeds_refundable", *_KEY_ERRORS),
)
def resolve(call: Call) -> Reply:
    body = call.body
    if body.outcome == "rejected" and body.refund_amount is not None:
        raise OkpayError("validation_error", field="refund_amount", reason="refund_on_reject")
    view = dispute_desk.resolve(
        call.user.user_id,
        call.params["dispute_id"],
        body.outcome,
        body.refund_amount,
        body.note,
        clock.now(),
    )
    return Reply(view, 202 if view["status"] == dispute_desk.AWAITING_APPROVAL else 200)


@operation(
    "POST",
    "/admin/disputes/{dispute_id}/approve",
    schemas="disputes",
    summary="Approve a refund awaiting approval (a second agent)",
    description=(
        "Four eyes: posts the refund another agent asked for (`status: awaiting_approval`, a refund above 5,000 "
        "CNY equivalent) exactly as a resolve posts one: a `refund` transaction from the dispute write-off account "
        "in the original currency, in one transaction with the condition that the dispute is still awaiting "
        "approval, so two agents approving at once refund once. `200` the dispute, `refunded`; the user is told "
        "the outcome and the note.\n\n"
        "No body. An `Idempotency-Key` is optional and honoured (the answer is stored and replayed). Checks: "
        "404 → `403 own_case` (the agent who asked for the refund, or the dispute's own user) → "
        "`409 dispute_not_awaiting_approval` (`details.status`: never asked, already approved, withdrawn) → "
        "`422 amount_exceeds_refundable` (the transaction was refunded otherwise meanwhile)."
    ),
    tag="admin",
    auth="agent",
    body="Empty",
    response="AgentDispute",
    examples={"request": {}, 200: "AGENT_DISPUTE_APPROVED_EXAMPLE"},
    idempotency="optional",
    errors=("not_found", "own_case", "dispute_not_awaiting_approval", "amount_exceeds_refundable", *_KEY_ERRORS),
)
def approve(call: Call) -> dict:
    return dispute_desk.approve(call.user.user_id, call.params["dispute_id"], clock.now())
