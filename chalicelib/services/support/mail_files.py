"""What support mail keeps in the private mail bucket: raw messages and the attachments agents open.

- `raw/<YYYY-MM-DD>/<sha256 of the bytes>.eml`: a raw message the local stage received (deployed,
  SES stores it itself and hands us its key);
- `attachments/<ticket_id>/<message_id>/<n>.<ext>`: a jpeg, png or pdf of at most 10 MB, its type read
  from its first bytes, never from what the mail declares. The file's name is kept on the message, not
  in the key. Agents get a presigned URL valid for five minutes, as KYC documents.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from chalicelib.adapters import aws, clock
from chalicelib.adapters.config import get_settings
from chalicelib.services.support.mail_parsing import Attachment

MAX_ATTACHMENT = 10 * 1024 * 1024
DOWNLOAD_EXPIRES = 300
_MAGIC = (  # (first bytes, content type, extension)
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"%PDF-", "application/pdf", "pdf"),
)


def store_raw(raw: bytes, now: datetime) -> str:
    key = f"raw/{clock.to_shanghai(now).date().isoformat()}/{hashlib.sha256(raw).hexdigest()}.eml"
    aws.client("s3").put_object(
        Bucket=get_settings().mail_bucket,
        Key=key,
        Body=raw,
        ContentType="message/rfc822",
        ServerSideEncryption="AES256",
    )
    return key


def drop_raw(key: str) -> None:
    aws.client("s3").delete_object(Bucket=get_settings().mail_bucket, Key=key)


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a jpeg, png or pdf by its magic bytes; None for anything else."""
    for magic, content_type, extension in _MAGIC:
        if data.startswith(magic):
            return content_type, extension
    return None


def keep_attachments(
    attachments: list[Attachment], ticket_id: str, message_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Store the allowed files; (kept, skipped) as recorded on the message."""
    kept: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for attachment in attachments:
        size = len(attachment.data)
        kind = sniff(attachment.data)
        about = {"name": attachment.name, "content_type": attachment.declared_type, "size": size}
        if kind is None:
            skipped.append({**about, "reason": "type"})
            continue
        if size > MAX_ATTACHMENT:
            skipped.append({**about, "reason": "size"})
            continue
        content_type, extension = kind
        key = f"attachments/{ticket_id}/{message_id}/{len(kept) + 1}.{extension}"
        aws.client("s3").put_object(
            Bucket=get_settings().mail_bucket,
            Key=key,
            Body=attachment.data,
            ContentType=content_type,
            ServerSideEncryption="AES256",
        )
        kept.append({"name": attachment.name, "content_type": content_type, "size": size, "key": key})
    return kept, skipped


def attachment_view(stored: dict[str, Any]) -> dict[str, Any]:
    url = aws.client("s3").generate_presigned_url(
        "get_object",
        Params={
            "Bucket": get_settings().mail_bucket,
            "Key": stored["key"],
            "ResponseContentType": stored["content_type"],
            "ResponseContentDisposition": "attachment",
        },
        ExpiresIn=DOWNLOAD_EXPIRES,
    )
    return {
        "name": stored["name"],
        "content_type": stored["content_type"],
        "size": int(stored["size"]),
        "url": url,
        "expires_in": DOWNLOAD_EXPIRES,
    }
