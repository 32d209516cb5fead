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
    description=(
        'Asks for verification at `target_level` (1–3, default 1); answers `202 {status: "pending"}` and an '
        "agent reviews it. Allowed while `unverified`, `rejected`, `needs_documents`, or `approved` (to ask for a "
        "higher level: an approved user keeps the current level's rights while the upgrade is pending); "
        "`409 kyc_pending` while one is pending.\n\n"
        "- `cn_resident_id`: GB 11643 check digit, a real birth date and region code, else "
        "`400 invalid_id_number`. `passport`: `nationality` and `birth_date` are required.\n"
        "- Documents: `cn_resident_id` level 1 none, level 2 `id_front, id_back, selfie`, level 3 those and "
        "`proof_of_address`; `passport` level 1 `id_front`, level 2 `id_front, selfie`, level 3 those and "
        "`proof_of_address`. Each must be uploaded before the submission names it, else `400 validation_error` "
        "with `field: document_ids` and `details.missing`.\n"
        "- Under 18 (in Asia/Shanghai) → `422 underage`; the same identity verified on another account → "
        "`409 identity_in_use`."
    ),
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
    description=(
        "The caller's level (0 = unverified: receive and top up only; 1: 1,000 CNY of payments and transfers "
        "since opening; 2: 100,000 CNY per calendar year; 3: 200,000 CNY per calendar year), the status of the "
        "last submission, the agent's `reason` after a rejection or a request for documents, and "
        "`required_documents`: the documents still needed for the next level and the `id_type` of the last "
        "submission (`cn_resident_id` if none), or those the agent asked for."
    ),
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
    description=(
        "Answers a pre-signed S3 POST for one document: send `upload.fields` and then the file to `upload.url` "
        "as `multipart/form-data` within `expires_in` seconds. The content type is pinned and the file must be "
        "1 byte to 10 MB. Then name `document_id` in `document_ids` of `POST /me/kyc`. At most 30 uploads a day "
        "per user (`429 rate_limited`)."
    ),
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
    description=(
        "The pending cases, oldest submission first, each with the submitted identity (the ID number's last "
        "four characters only) and short-lived download URLs of its documents (5 minutes)."
    ),
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
    "GET",
    "/admin/kyc/{user_id}",
    schemas="kyc",
    summary="One user's verification case with its decisions",
    description=(
        "The user's case whatever its status: the submitted identity (the ID number's last four characters only; "
        "the whole number is never shown), the level held and asked for, download URLs of its documents that work "
        "for 5 minutes, and every decision so far (who, what, why, when), oldest first. A user who never "
        "submitted, or no such user: `404 not_found`."
    ),
    tag="admin",
    auth="agent",
    response="KycCase",
    errors=("not_found",),
)
def read_case(call: Call) -> dict:
    return kyc.case_for_agent(call.params["user_id"])


@operation(
    "POST",
    "/admin/kyc/{user_id}/decision",
    schemas="kyc",
    summary="Approve, reject or ask for documents",
    description=(
        "Decides a pending case once and answers the user's verification state as `GET /me/kyc` shows it. "
        "`approve` grants `level` (default: the level asked for) and claims the identity for this account "
        "(`409 identity_in_use` when it is verified on another one meanwhile); `reject` and `request_documents` "
        "need a `reason`, and `request_documents` the `documents` to upload again. The user is notified by email "
        "and SMS in their language.\n\n"
        "Checks: 404 (no such case) → `403 own_case` (an agent never decides their own verification) → "
        "`409 kyc_not_pending` (already decided, also when two agents decide at once)."
    ),
    tag="admin",
    auth="agent",
    body="Decision",
    response="KycState",
    examples={200: "KYC_APPROVED_LEVEL_2_EXAMPLE"},
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
