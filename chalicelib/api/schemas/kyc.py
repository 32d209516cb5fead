"""Request and response models of the kyc routes (chalicelib/api/kyc/verification.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.api.schemas.common import Page, PageQuery, RequestBody, ResponseBody

KycStatus = Literal["unverified", "pending", "approved", "rejected", "needs_documents"]


DocumentKind = Literal["id_front", "id_back", "proof_of_address", "selfie"]


Level = Annotated[int, Field(ge=1, le=3)]


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
