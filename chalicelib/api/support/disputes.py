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
    description="Check order after validation: 429 → 404 transaction → 409 dispute_exists → "
    "422 not_disputable → 422 dispute_window_closed (120 Shanghai days) → 422 amount_exceeds_refundable.",
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
    tag="disputes",
    auth="user",
    body="MessageCreate",
    response="Message",
    status=201,
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
    tag="disputes",
    auth="user",
    body="Empty",
    response="Dispute",
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
    description="Without `status`: open and under_review together. `overdue=true`: open disputes whose "
    "`respond_by` has passed with no agent reply. `assignee` filters (pages may be short).",
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
    summary="One dispute with its messages and every recorded transition (addition to the contract)",
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
    summary="Reply to the user; the first reply moves open → under_review and meets the SLA",
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
    summary="Extend the investigation to `resolve_by`; the user is told why",
    tag="admin",
    auth="agent",
    body="Extend",
    response="AgentDispute",
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
    description="`refunded` credits the user in the dispute's currency with a `refund` transaction, exactly "
    "once: a second resolve, even a concurrent one, is 409 dispute_closed.",
    tag="admin",
    auth="agent",
    body="Resolve",
    response="AgentDispute",
    idempotency="required",
    errors=("not_found", "own_case", "dispute_closed", "amount_exceeds_refundable", *_KEY_ERRORS),
)
def resolve(call: Call) -> dict:
    body = call.body
    if body.outcome == "rejected" and body.refund_amount is not None:
        raise OkpayError("validation_error", field="refund_amount", reason="refund_on_reject")
    return dispute_desk.resolve(
        call.user.user_id,
        call.params["dispute_id"],
        body.outcome,
        body.refund_amount,
        body.note,
        clock.now(),
    )
