"""Inbound support mail, deployed (contract, section 13): the SQS queue that SES receiving feeds.

SES's receipt rule stores each message in the mail bucket under `inbound/` and notifies a topic that
delivers to the queue (infra/resources.yaml); app.py's `inbound_mail` gets its batches here. For each
SQS record: the SNS envelope (or, with raw message delivery, the notification itself), the SES
"Received" notification in it, one GetObject of the raw message, then
chalicelib/services/support/inbound_email.py's `receive`. Locally, POST /_local/inbound-email calls
`receive` directly.

What happens to a record (the answer is a partial batch response, so one bad record never sends the
whole batch round again):

- processed, whatever `receive` decided (`ticket_created`, `quarantined`, `ignored` …): acknowledged;
  so are SES's set-up test message and mail for another address of the support domain (`ignored`);
- a record that can never be processed (not an SES notification, another bucket or prefix, the object
  gone): logged as an error and acknowledged. Retrying would read the
  same bytes again; the log line (`inbound_mail_dropped`) is what an alarm watches;
- anything else (S3 or DynamoDB failing, an error in `receive`): listed in `batchItemFailures`.
  SQS delivers it again after the visibility timeout and, after `maxReceiveCount` receives, moves it
  to the dead-letter queue, from where it can be redriven once the cause is fixed.

SQS delivers at least once, and a failed record is delivered again: `receive` de-duplicates by
`Message-ID` (the second delivery answers `duplicate`), so a redelivery never makes a second ticket.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters import aws, clock
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.logging import logger
from chalicelib.services.support import inbound_email

# Where the receipt rule's S3 action writes (ObjectKeyPrefix in infra/resources.yaml). The IAM
# policy lets the handler read nothing else.
INBOUND_PREFIX = "inbound/"
# SES's verdict fields -> the names `receive` takes.
_VERDICTS = {
    "spam": "spamVerdict",
    "virus": "virusVerdict",
    "spf": "spfVerdict",
    "dkim": "dkimVerdict",
    "dmarc": "dmarcVerdict",
}
_STATUSES = frozenset({"PASS", "FAIL", "GRAY"})
_DMARC_POLICIES = frozenset({"none", "quarantine", "reject"})
_SETUP_MESSAGE = "Successfully validated SNS topic for Amazon SES"


class Unprocessable(Exception):
    """A record that no retry can ever process; acknowledged after logging why."""


def handle_batch(event: dict[str, Any]) -> dict[str, Any]:
    """One SQS batch -> Lambda's partial batch response: the records to deliver again."""
    failures = []
    for record in event.get("Records") or []:
        sqs_message_id = record.get("messageId")
        try:
            outcome = process_record(record)
        except Unprocessable as reason:
            logger.error(
                "inbound mail dropped",
                extra={"event": "inbound_mail_dropped", "sqs_message_id": sqs_message_id, "reason": str(reason)},
            )
        except Exception:
            logger.exception(
                "inbound mail failed", extra={"event": "inbound_mail_failed", "sqs_message_id": sqs_message_id}
            )
            failures.append({"itemIdentifier": sqs_message_id})
        else:
            logger.info(
                "inbound mail",
                extra={"event": "inbound_mail", "sqs_message_id": sqs_message_id, **outcome},
            )
    return {"batchItemFailures": failures}


def process_record(record: dict[str, Any]) -> dict[str, Any]:
    """The SES notification in one SQS record, through `receive`: its result (and ticket id)."""
    notification = ses_notification(record.get("body"))
    if notification is None:
        return {"result": "ignored", "reason": "ses_setup_notification"}
    receipt = notification.get("receipt")
    if not isinstance(receipt, dict):
        raise Unprocessable("no receipt")
    action = receipt.get("action")
    if not isinstance(action, dict) or action.get("type") != "S3":
        raise Unprocessable("not an S3 action")
    bucket, key = action.get("bucketName"), action.get("objectKey")
    settings = get_settings()
    if bucket != settings.mail_bucket or not isinstance(key, str) or not key.startswith(INBOUND_PREFIX):
        raise Unprocessable("not the mail bucket's inbound prefix")
    # The rule takes the support address's whole domain (so that signed reply addresses,
    # support+<token>@, arrive); mail for any other address there is not support's.
    if not any(is_support_address(r, settings.support_email) for r in receipt.get("recipients") or []):
        return {"result": "ignored", "reason": "not_addressed_to_support"}
    raw = read_raw_message(bucket, key)
    result = inbound_email.receive(raw, verdicts(receipt), clock.now(), raw_key=key)
    return {name: result[name] for name in ("result", "ticket_id") if name in result}


def ses_notification(body: Any) -> dict[str, Any] | None:
    """The SES notification in an SQS body: in SNS's JSON envelope, or as the body itself when the
    subscription uses raw message delivery. None for the test message SES sends when a topic is set
    up (expected once per deploy, so not an error)."""
    parsed = _json_object(body)
    if parsed.get("Type") == "Notification" and "Message" in parsed:
        message = parsed["Message"]
        if isinstance(message, str) and message.startswith(_SETUP_MESSAGE):
            return None
        parsed = _json_object(message)
    if parsed.get("notificationType") == "AmazonSnsSubscriptionSucceeded":
        return None
    if parsed.get("notificationType") != "Received":
        raise Unprocessable("not an SES Received notification")
    return parsed


def verdicts(receipt: dict[str, Any]) -> dict[str, str]:
    """SES's verdicts as `receive` takes them. PROCESSING_FAILED (or a missing verdict) is GRAY: no
    evidence either way; DMARC's policy comes only with a DMARC FAIL (else "none")."""
    found = {}
    for name, field in _VERDICTS.items():
        status = (receipt.get(field) or {}).get("status")
        found[name] = status if status in _STATUSES else "GRAY"
    policy = str(receipt.get("dmarcPolicy") or "none").lower()
    found["dmarc_policy"] = policy if policy in _DMARC_POLICIES else "none"
    return found


def is_support_address(recipient: Any, support_email: str) -> bool:
    """`support@domain` itself or a plus address of it (`support+…@domain`), in any case."""
    if not isinstance(recipient, str) or "@" not in recipient:
        return False
    local, _, domain = recipient.strip().lower().rpartition("@")
    support_local, _, support_domain = support_email.lower().rpartition("@")
    return domain == support_domain and (local == support_local or local.startswith(f"{support_local}+"))


def read_raw_message(bucket: str, key: str) -> bytes:
    """The raw message SES stored: one GetObject. A missing object never appears later (S3 is
    strongly consistent and SES writes before it notifies): unprocessable. Other errors are retried."""
    try:
        response = aws.client("s3").get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            raise Unprocessable("raw message not found") from error
        raise
    return response["Body"].read()


def _json_object(text: Any) -> dict[str, Any]:
    if not isinstance(text, str):
        raise Unprocessable("body is not text")
    try:
        parsed = json.loads(text)
    except ValueError as error:
        raise Unprocessable("body is not JSON") from error
    if not isinstance(parsed, dict):
        raise Unprocessable("body is not a JSON object")
    return parsed
