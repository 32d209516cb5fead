"""KYC documents in the private bucket: pre-signed uploads from the app, short-lived agent links.

The app uploads straight to S3 with a pre-signed POST whose policy pins the content type and caps
the size at 10 MB, so large files never pass through Lambda. A submission only counts documents
that really arrived (HeadObject).
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

from chalicelib.adapters import aws, clock
from chalicelib.adapters.config import get_settings
from chalicelib.store.kyc import KycRecord, get_document

MAX_BYTES = 10 * 1024 * 1024
UPLOAD_EXPIRES = 900  # seconds the app has to upload
DOWNLOAD_EXPIRES = 300  # seconds an agent's link works
KINDS = ("id_front", "id_back", "proof_of_address", "selfie")
CONTENT_TYPES = ("image/jpeg", "image/png", "application/pdf")


def object_key(user_id: str, document_id: str) -> str:
    return f"kyc/{user_id}/{document_id}"


def create_upload(user_id: str, document_id: str, kind: str, content_type: str, now: datetime) -> dict:
    key = object_key(user_id, document_id)
    KycRecord(
        user_id, f"doc#{document_id}", kind=kind, content_type=content_type, s3_key=key, created_at=clock.stamp(now)
    ).save()
    upload = aws.client("s3").generate_presigned_post(
        Bucket=get_settings().kyc_bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, MAX_BYTES]],
        ExpiresIn=UPLOAD_EXPIRES,
    )
    return {
        "document_id": document_id,
        "upload": {"url": upload["url"], "fields": upload["fields"]},
        "expires_in": UPLOAD_EXPIRES,
    }


def recorded_kind(user_id: str, document_id: str) -> str | None:
    record = get_document(user_id, document_id)
    return record.kind if record else None


def uploaded_kind(user_id: str, document_id: str) -> str | None:
    """The document's kind if it is this user's and its file arrived within the size limit."""
    record = get_document(user_id, document_id)
    if record is None:
        return None
    s3 = aws.client("s3")
    try:
        head = s3.head_object(Bucket=get_settings().kyc_bucket, Key=record.s3_key)
    except s3.exceptions.ClientError:
        return None
    return record.kind if 0 < head["ContentLength"] <= MAX_BYTES else None


def download_link(user_id: str, document_id: str) -> dict:
    record = get_document(user_id, document_id)
    if record is None:
        return {"document_id": document_id, "kind": None, "content_type": None, "download_url": None}
    url = aws.client("s3").generate_presigned_url(
        "get_object",
        Params={"Bucket": get_settings().kyc_bucket, "Key": record.s3_key},
        ExpiresIn=DOWNLOAD_EXPIRES,
    )
    return {
        "document_id": document_id,
        "kind": record.kind,
        "content_type": record.content_type,
        "download_url": url,
        "expires_in": DOWNLOAD_EXPIRES,
    }


def download_origin() -> str:
    """The scheme and host agents' download links point at (the support console's image policy)."""
    settings = get_settings()
    return _signed_origin(settings.kyc_bucket, settings.region, os.environ.get("AWS_ENDPOINT_URL", ""))


@lru_cache(maxsize=4)
def _signed_origin(bucket: str, region: str, endpoint: str) -> str:
    url = aws.client("s3").generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "kyc/"}, ExpiresIn=1)
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
