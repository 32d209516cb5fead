"""Real-name verification (实名认证): the user's case and documents, and the agents' review queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import Field, StringConstraints

from chalicelib.adapters import clock
from chalicelib.api.pagination import Page, PageQuery, decode_cursor, encode_cursor
from chalicelib.api.routing import Call, Reply, operation
from chalicelib.api.schemas import RequestBody, ResponseBody
from chalicelib.errors import OkpayError
from chalicelib.services import accounts, kyc, kyc_documents, rate_limits
from chalicelib.store.kyc import KycRecord

bp = Blueprint(__name__)

KycStatus = Literal["unverified", "pending", "approved", "rejected", "needs_documents"]
DocumentKind = Literal["id_front", "id_back", "proof_of_address", "selfie"]
Level = Annotated[int, Field(ge=1, le=3)]
DOCUMENTS_PER_DAY = 30


class KycSubmit(RequestBody):
    real_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    id_type: Literal["cn_resident_id", "passport"]
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    nationality: Annotated[str, StringConstraints(min_length=2, max_length=2)] | None = Field(
        default=None, description="ISO 3166-1 alpha-2; required for a passport."
    )
    birth_date: Annotated[str, StringConstraints(min_length=10, max_length=10)] | None = Field(
        default=None, description="YYYY-MM-DD; required for a passport."
    )
    target_level: Level = 1
    document_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=10
    )


class KycAccepted(ResponseBody):
    status: Literal["pending"]


class KycState(ResponseBody):
    status: KycStatus
    level: int
    reason: str | None = None
    required_documents: list[DocumentKind]
    next_level: int | None = None
    submitted_at: str | None = None
    reviewed_at: str | None = None


class DocumentRequest(RequestBody):
    kind: DocumentKind
    content_type: Literal["image/jpeg", "image/png", "application/pdf"]


class Upload(ResponseBody):
    url: str
    fields: dict[str, str]


class DocumentUpload(ResponseBody):
    document_id: str
    upload: Upload
    expires_in: int


class QueueQuery(PageQuery):
    status: Literal["pending"] = "pending"


class DocumentLink(ResponseBody):
    document_id: str
    kind: DocumentKind | None
    content_type: str | None
    download_url: str | None
    expires_in: int | None = None


class QueueItem(ResponseBody):
    user_id: str
    status: KycStatus
    level: int
    target_level: int
    real_name: str | None
    id_type: str | None
    id_last4: str | None
    nationality: str | None
    birth_date: str | None
    submitted_at: str | None
    documents: list[DocumentLink]


class QueuePage(Page):
    data: list[QueueItem]


class Decision(RequestBody):
    decision: Literal["approve", "reject", "request_documents"]
    level: Level | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    documents: list[DocumentKind] | None = None


@operation(
    bp,
    "POST",
    "/me/kyc",
    summary="Submit real-name verification",
    tag="kyc",
    auth="user",
    body=KycSubmit,
    response=KycAccepted,
    status=202,
    errors=("invalid_id_number", "underage", "identity_in_use", "kyc_pending"),
)
def submit_kyc(call: Call) -> Reply:
    user = accounts.load_active_user(call.user.user_id)
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
    bp,
    "GET",
    "/me/kyc",
    summary="Verification status and what is still needed",
    tag="kyc",
    auth="user",
    response=KycState,
)
def read_kyc(call: Call) -> dict:
    return kyc.summary(call.user.user_id)


@operation(
    bp,
    "POST",
    "/me/kyc/documents",
    summary="Get a pre-signed upload for a document (≤ 10 MB)",
    tag="kyc",
    auth="user",
    body=DocumentRequest,
    response=DocumentUpload,
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
    bp,
    "GET",
    "/admin/kyc",
    summary="Verification review queue, oldest first",
    tag="admin",
    auth="agent",
    query=QueueQuery,
    response=QueuePage,
    errors=("invalid_cursor",),
)
def review_queue(call: Call) -> dict:
    query = call.query
    scope = f"kyc_queue#{query.status}"
    start: Any = decode_cursor(scope, query.cursor) if query.cursor else None
    results = KycRecord.by_queue.query(query.status, limit=query.limit, last_evaluated_key=start)
    items = [kyc.review_queue_item(case) for case in results]
    last = results.last_evaluated_key
    return {"data": items, "next_cursor": encode_cursor(scope, last) if last else None}


@operation(
    bp,
    "POST",
    "/admin/kyc/{user_id}/decision",
    summary="Approve, reject or ask for documents",
    tag="admin",
    auth="agent",
    body=Decision,
    response=KycState,
    errors=("not_found", "kyc_not_pending", "identity_in_use"),
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
