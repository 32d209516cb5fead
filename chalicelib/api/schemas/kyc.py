"""Request and response models of the kyc routes (chalicelib/api/kyc/verification.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.api.schemas.common import (
    Page,
    PageQuery,
    RequestBody,
    ResponseBody,
    Timestamp,
    examples,
    omittable,
)

KycStatus = Literal["unverified", "pending", "approved", "rejected", "needs_documents"]
IdType = Literal["cn_resident_id", "passport"]
DocumentKind = Literal["id_front", "id_back", "proof_of_address", "selfie"]
ContentType = Literal["image/jpeg", "image/png", "application/pdf"]

Level = Annotated[int, Field(ge=1, le=3)]
# 0 = unverified: receives and tops up only; 1–3 the PBOC classes of payment accounts.
HeldLevel = Annotated[int, Field(ge=0, le=3)]
CalendarDate = Annotated[str, Field(json_schema_extra={"format": "date"})]

_USER_ID = "usr_3f6c2a1b9e8d4c7fa5b0e1d2c3b4a596"
_DOCUMENTS = [
    "doc_8d2f4a6c1e3b4d5f9a7c0e2b4d6f8a1c",
    "doc_1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a",
    "doc_e2c4a6b8d0f1e3a5c7b9d1f3e5a7c9b1",
]
_DOWNLOAD = (
    "https://okpay-prod-kyc-documents.s3.amazonaws.com/kyc/usr_3f6c2a1b9e8d4c7fa5b0e1d2c3b4a596/"
    "doc_8d2f4a6c1e3b4d5f9a7c0e2b4d6f8a1c?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=ASIAQ3EGT5WEXAMPLE7K%2F20261124%2Fap-southeast-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20261124T013000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=b5c92db22726dd4382eb1b3b80d1257581dc63c3dda78590c6b24153096a41ca"
)

_APPROVED = {
    "status": "approved",
    "level": 1,
    "required_documents": ["id_front", "id_back", "selfie"],
    "next_level": 2,
    "submitted_at": "2026-11-24T09:30:00+08:00",
    "reviewed_at": "2026-11-24T11:05:12+08:00",
}
# The reply to Decision's first example (approve at level 2; by name in the routes).
KYC_APPROVED_LEVEL_2_EXAMPLE = {
    **_APPROVED,
    "level": 2,
    "required_documents": ["proof_of_address"],
    "next_level": 3,
}


class KycSubmit(RequestBody):
    model_config = examples(
        {
            "real_name": "张三",
            "id_type": "cn_resident_id",
            "id_number": "110105199003071239",
            "target_level": 2,
            "document_ids": _DOCUMENTS,
        },
        {
            "real_name": "Tanaka Hiroshi",
            "id_type": "passport",
            "id_number": "TZ1234567",
            "nationality": "JP",
            "birth_date": "1987-05-14",
            "target_level": 1,
            "document_ids": ["doc_8d2f4a6c1e3b4d5f9a7c0e2b4d6f8a1c"],
        },
    )

    real_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="The name on the identity document."
    )
    id_type: IdType
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)] = Field(
        description="A resident ID is checked against GB 11643 (check digit, real birth date, region code)."
    )
    nationality: Annotated[str, StringConstraints(min_length=2, max_length=2)] | None = Field(
        default=None, description="ISO 3166-1 alpha-2; required for a passport."
    )
    birth_date: Annotated[str, StringConstraints(min_length=10, max_length=10)] | None = Field(
        default=None, description="YYYY-MM-DD; required for a passport (a resident ID carries it)."
    )
    target_level: Level = Field(default=1, description="The level asked for; above the current one when approved.")
    document_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        max_length=10,
        description="Uploaded documents (`POST /me/kyc/documents`) covering what the level needs for this `id_type`.",
    )


class KycAccepted(ResponseBody):
    model_config = examples({"status": "pending"})

    status: Literal["pending"]


class KycState(ResponseBody):
    """The caller's verification. `submitted_at` (the last submission) is left out before the first one;
    `reviewed_at` (the last agent decision) until there is one."""

    model_config = examples(
        _APPROVED,
        {
            "status": "needs_documents",
            "level": 0,
            "reason": "身份证背面照片模糊，请重新上传",
            "required_documents": ["id_back"],
            "next_level": 1,
            "submitted_at": "2026-11-24T09:30:00+08:00",
            "reviewed_at": "2026-11-24T11:05:12+08:00",
        },
        {"status": "unverified", "level": 0, "required_documents": [], "next_level": 1},
    )

    status: KycStatus
    level: HeldLevel = Field(description="The level whose rights the user has now (0 = unverified).")
    reason: str = omittable(description="The agent's reason; sent only while `rejected` or `needs_documents`.")
    required_documents: list[DocumentKind] = Field(
        description="What the next submission still needs: for the next level and the `id_type` of the last "
        "submission (`cn_resident_id` if none), or what the agent asked for; empty while `pending`."
    )
    next_level: Level = omittable(description="The level to ask for next; left out at level 3.")
    submitted_at: Timestamp = omittable()
    reviewed_at: Timestamp = omittable()


class DocumentRequest(RequestBody):
    model_config = examples({"kind": "id_front", "content_type": "image/jpeg"})

    kind: DocumentKind
    content_type: ContentType


class Upload(ResponseBody):
    url: str = Field(description="POST the form here: `fields` first, then the file as `file`.")
    fields: dict[str, str] = Field(description="Form fields to send unchanged (the signed S3 POST policy).")


class DocumentUpload(ResponseBody):
    model_config = examples(
        {
            "document_id": "doc_8d2f4a6c1e3b4d5f9a7c0e2b4d6f8a1c",
            "upload": {
                "url": "https://okpay-prod-kyc-documents.s3.amazonaws.com/",
                "fields": {
                    "Content-Type": "image/jpeg",
                    "key": "kyc/usr_3f6c2a1b9e8d4c7fa5b0e1d2c3b4a596/doc_8d2f4a6c1e3b4d5f9a7c0e2b4d6f8a1c",
                    "x-amz-algorithm": "AWS4-HMAC-SHA256",
                    "x-amz-credential": "ASIAQ3EGT5WEXAMPLE7K/20261124/ap-southeast-1/s3/aws4_request",
                    "x-amz-date": "20261124T013000Z",
                    "x-amz-security-token": "IQoJb3JpZ2luX2VjEXAMPLE",
                    "policy": "eyJleHBpcmF0aW9uIjogIjIwMjYtMTEtMjRUMDE6NDU6MDBaIiwgImNvbmRpdGlvbnMiOiBbXX0=",
                    "x-amz-signature": "42fe2f22d1ef3361c9eaa294748a935dc8143671b44b7dc734c8897b28fdf7de",
                },
            },
            "expires_in": 900,
        }
    )

    document_id: str = Field(description="Name it in `document_ids` of `POST /me/kyc` once uploaded.")
    upload: Upload = Field(description="A pre-signed S3 POST: the content type is pinned, the size 1 B–10 MB.")
    expires_in: int = Field(description="Seconds the upload stays possible.")


class QueueQuery(PageQuery):
    status: Literal["pending"] = Field(default="pending", description="Only pending cases are queued.")


class DocumentLink(ResponseBody):
    document_id: str
    kind: DocumentKind | None = Field(description="Null when no such document was ever requested.")
    content_type: ContentType | None
    download_url: str | None = Field(description="A short-lived pre-signed GET; null for an unknown document.")
    expires_in: int = omittable(description="Seconds `download_url` works; left out with a null `download_url`.")


class QueueItem(ResponseBody):
    user_id: str
    status: KycStatus
    level: HeldLevel = Field(description="The level the user holds now.")
    target_level: Level = Field(description="The level asked for.")
    real_name: str | None
    id_type: IdType | None
    id_last4: str | None = Field(description="The ID number's last four characters; the rest is never shown.")
    nationality: str | None = Field(description="ISO 3166-1 alpha-2 (CN for a resident ID).")
    birth_date: CalendarDate | None
    submitted_at: Timestamp | None
    documents: list[DocumentLink]


class QueuePage(Page):
    model_config = examples(
        {
            "data": [
                {
                    "user_id": _USER_ID,
                    "status": "pending",
                    "level": 1,
                    "target_level": 2,
                    "real_name": "张三",
                    "id_type": "cn_resident_id",
                    "id_last4": "1239",
                    "nationality": "CN",
                    "birth_date": "1990-03-07",
                    "submitted_at": "2026-11-24T09:30:00+08:00",
                    "documents": [
                        {
                            "document_id": "doc_8d2f4a6c1e3b4d5f9a7c0e2b4d6f8a1c",
                            "kind": "id_front",
                            "content_type": "image/jpeg",
                            "download_url": _DOWNLOAD,
                            "expires_in": 300,
                        }
                    ],
                }
            ],
            "next_cursor": None,
        }
    )

    data: list[QueueItem] = Field(description="Oldest submission first.")


_AGENT_ID = "usr_9a1c5e7b3d2f4a6c8e0b1d3f5a7c9e2b"


class KycDecisionEntry(ResponseBody):
    """One decision on the case, as recorded (kept forever)."""

    decision: Literal["approve", "reject", "request_documents"]
    level: Level | None = Field(description="The level granted by an approval; null otherwise.")
    reason: str | None = Field(description="What the user was told; null for an approval without one.")
    agent_id: str = Field(description="The agent who decided.")
    decided_at: Timestamp


class KycCase(QueueItem):
    """One user's case as agents review it: the submitted identity (the ID number's last four characters
    only), short-lived document links (5 minutes), and every decision so far, oldest first."""

    model_config = examples(
        {
            "user_id": _USER_ID,
            "status": "pending",
            "level": 1,
            "target_level": 2,
            "real_name": "张三",
            "id_type": "cn_resident_id",
            "id_last4": "1239",
            "nationality": "CN",
            "birth_date": "1990-03-07",
            "submitted_at": "2026-11-26T10:02:00+08:00",
            "documents": [
                {
                    "document_id": _DOCUMENTS[0],
                    "kind": "id_front",
                    "content_type": "image/jpeg",
                    "download_url": _DOWNLOAD,
                    "expires_in": 300,
                }
            ],
            "reason": None,
            "required_documents": [],
            "reviewed_at": "2026-11-25T16:20:40+08:00",
            "decisions": [
                {
                    "decision": "approve",
                    "level": 1,
                    "reason": None,
                    "agent_id": _AGENT_ID,
                    "decided_at": "2026-11-24T11:05:12+08:00",
                },
                {
                    "decision": "request_documents",
                    "level": None,
                    "reason": "身份证背面照片模糊，请重新上传",
                    "agent_id": _AGENT_ID,
                    "decided_at": "2026-11-25T16:20:40+08:00",
                },
            ],
        }
    )

    reason: str | None = Field(description="Why it was rejected or documents were asked for; null otherwise.")
    required_documents: list[DocumentKind] = Field(description="The documents an agent asked for, if any.")
    reviewed_at: Timestamp | None = Field(description="The last decision; null before any.")
    decisions: list[KycDecisionEntry] = Field(description="Every decision on this account, oldest first.")


class Decision(RequestBody):
    model_config = examples(
        {"decision": "approve", "level": 2},
        {"decision": "reject", "reason": "证件号码与姓名不符"},
        {"decision": "request_documents", "reason": "身份证背面照片模糊，请重新上传", "documents": ["id_back"]},
    )

    decision: Literal["approve", "reject", "request_documents"]
    level: Level | None = Field(default=None, description="Granted on approval; default: the level asked for.")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = Field(
        default=None, description="Required unless approving; shown to the user."
    )
    documents: list[DocumentKind] | None = Field(
        default=None, description="Required with `request_documents`: what the user must upload again."
    )
