"""Real-name verification (实名认证): the user's case and documents, and the agents' review queue."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters import clock
from chalicelib.api.pagination import page_of
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.errors import OkpayError
from chalicelib.services.account import profile as accounts
from chalicelib.services.common import rate_limits
from chalicelib.services.kyc import cases as kyc
from chalicelib.services.kyc import documents as kyc_documents

DOCUMENTS_PER_DAY = 30


@operation(
    "POST",
    "/me/kyc",
    schemas="kyc",
    summary="Submit real-name verification",
    tag="kyc",
    auth="user",
    body="KycSubmit",
    response="KycAccepted",
    status=202,
    errors=("invalid_id_number", "underage", "identity_in_use", "kyc_pending"),
)
def submit_kyc(call: Call) -> Reply:
    user = accounts.active_account(call.user.account)
    body = call.body
    submission = kyc.Submission(
        body.real_name,
        body.id_type,
        body.id_number,
        body.nationality,
        body.birth_date,
        body.target_level,
        body.document_ids,
    )
    return Reply(kyc.submit(user, submission, clock.now()), 202)


@operation(
    "GET",
    "/me/kyc",
    schemas="kyc",
    summary="Verification status and what is still needed",
    tag="kyc",
    auth="user",
    response="KycState",
)
def read_kyc(call: Call) -> dict:
    return kyc.summary(call.user.user_id)


@operation(
    "POST",
    "/me/kyc/documents",
    schemas="kyc",
    summary="Get a pre-signed upload for a document (≤ 10 MB)",
    tag="kyc",
    auth="user",
    body="DocumentRequest",
    response="DocumentUpload",
    status=201,
    errors=("rate_limited",),
)
def create_document(call: Call) -> Reply:
    now = clock.now()
    rate_limits.hit(f"kyc_docs#{call.user.user_id}", limit=DOCUMENTS_PER_DAY, window=timedelta(days=1), now=now)
    upload = kyc_documents.create_upload(
        call.user.user_id, kyc.new_document_id(), call.body.kind, call.body.content_type, now
    )
    return Reply(upload, 201)


@operation(
    "GET",
    "/admin/kyc",
    schemas="kyc",
    summary="Verification review queue, oldest first",
    tag="admin",
    auth="agent",
    query="QueueQuery",
    response="QueuePage",
    errors=("invalid_cursor",),
)
def review_queue(call: Call) -> dict:
    status = call.query.status
    return page_of(f"kyc_queue#{status}", call.query, lambda limit, start: kyc.review_queue(status, limit, start))


@operation(
    "POST",
    "/admin/kyc/{user_id}/decision",
    schemas="kyc",
    summary="Approve, reject or ask for documents",
    tag="admin",
    auth="agent",
    body="Decision",
    response="KycState",
    errors=("not_found", "own_case", "kyc_not_pending", "identity_in_use"),
)
def decide_kyc(call: Call) -> dict:
    body = call.body
    if body.decision != "approve" and not body.reason:
        raise OkpayError("validation_error", field="reason", reason="missing")
    return kyc.decide(
        call.user.user_id,
        call.params["user_id"],
        decision=body.decision,
        level=body.level,
        reason=body.reason,
        documents=body.documents,
        now=clock.now(),
    )
