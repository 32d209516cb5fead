"""Inbound support mail as deployed (contract, section 13): SES stores the raw message in the mail bucket,
its notification reaches the queue through SNS, and app.py's `inbound_mail` gets SQS batches.

Each test puts a raw message under inbound/ in the moto mail bucket, builds the SQS event Lambda would
deliver (an SQS record whose body is SNS's envelope around SES's "Received" notification, shaped as in
AWS's documentation, or what moto's own SNS -> SQS delivery makes of it), invokes the registered function
through Chalice's test client, and reads the outcome as an agent would: GET /admin/tickets, the
acknowledgement in the outbox, the partial batch response, the log.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import boto3
import pytest
from chalice.test import Client

import app as app_module
from chalicelib.adapters import aws
from chalicelib.adapters.config import get_settings
from chalicelib.api import inbound_mail
from chalicelib.services.support import inbound_email
from tests.helpers import outbox
from tests.helpers.contract import checked
from tests.helpers.parallel import run_together
from tests.helpers.paths import PROJECT_DIR

REGION = "ap-southeast-1"
ACCOUNT = "123456789012"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:okpay-local-support-mail"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:okpay-local-support-mail"
SENDER = "li.wei@example.net"


@pytest.fixture
def lambda_client(stage):
    """Chalice's test client: `.lambda_` invokes a registered function with the stage's variables."""
    with Client(app_module.app, stage_name="local", project_dir=str(PROJECT_DIR)) as test_client:
        yield test_client


@pytest.fixture
def http(lambda_client):
    return checked(lambda_client.http, local=True)


# --- what AWS delivers ----------------------------------------------------------------------------


def raw_mail(
    sender: str = SENDER, *, to: str | None = None, subject: str = "Transfer not received", message_id: str = ""
) -> bytes:
    message = EmailMessage()
    message["Return-Path"] = f"<{sender}>"  # SES adds it; an empty one would be a bounce (ignored)
    message["From"] = f"Li Wei <{sender}>"
    message["To"] = to or get_settings().support_email
    message["Subject"] = subject
    message["Date"] = formatdate()
    message["Message-ID"] = message_id or make_msgid(domain="example.net")
    message.set_content("My transfer to my sister has not arrived since this morning.\n")
    return message.as_bytes()


def stored(raw: bytes) -> str:
    """`raw` where SES's S3 action puts it (ObjectKeyPrefix inbound/, then SES's message id): its key."""
    key = f"inbound/{uuid.uuid4().hex}"
    boto3.client("s3", region_name=REGION).put_object(Bucket=get_settings().mail_bucket, Key=key, Body=raw)
    return key


def ses_notification(
    key: str,
    *,
    recipients: list[str] | None = None,
    bucket: str | None = None,
    action_type: str = "S3",
    dmarc_policy: str | None = None,
    **statuses: str,
) -> dict[str, Any]:
    """SES's notification for an S3 action (docs: "Examples of notifications for Amazon SES email
    receiving", the alert notification): verdicts PASS unless `spam="FAIL"` etc."""
    recipients = recipients or [get_settings().support_email]
    verdict = {name: {"status": statuses.get(name, "PASS")} for name in ("spam", "virus", "spf", "dkim", "dmarc")}
    receipt: dict[str, Any] = {
        "timestamp": "2026-12-06T23:10:11.602Z",
        "processingTimeMillis": 574,
        "recipients": recipients,
        "spamVerdict": verdict["spam"],
        "virusVerdict": verdict["virus"],
        "spfVerdict": verdict["spf"],
        "dkimVerdict": verdict["dkim"],
        "dmarcVerdict": verdict["dmarc"],
        "action": {
            "type": action_type,
            "topicArn": TOPIC_ARN,
            "bucketName": bucket or get_settings().mail_bucket,
            "objectKeyPrefix": "inbound/",
            "objectKey": key,
        },
    }
    if dmarc_policy:
        receipt["dmarcPolicy"] = dmarc_policy
    return {
        "notificationType": "Received",
        "receipt": receipt,
        "mail": {
            "timestamp": "2026-12-06T23:10:11.028Z",
            "source": SENDER,
            "messageId": key.removeprefix("inbound/"),
            "destination": recipients,
            "headersTruncated": False,
            "headers": [{"name": "Subject", "value": "Transfer not received"}],
            "commonHeaders": {
                "returnPath": SENDER,
                "from": [f"Li Wei <{SENDER}>"],
                "to": recipients,
                "subject": "Transfer not received",
            },
        },
    }


def sns_envelope(message: str) -> str:
    """SNS's JSON envelope, as an SQS subscription without raw message delivery receives it."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": TOPIC_ARN,
            "Subject": "Amazon SES Email Receipt Notification",
            "Message": message,
            "Timestamp": "2026-12-06T23:10:12.211Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLEpH+..",
            "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
            "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC_ARN}:1",
        }
    )


def sqs_record(body: str, *, message_id: str | None = None, receive_count: int = 1) -> dict[str, Any]:
    """One record of Lambda's SQS event."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"AQEB{uuid.uuid4().hex}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1765062612211",
            "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
            "ApproximateFirstReceiveTimestamp": "1765062612220",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 (SQS's own checksum)
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


def mail_record(key: str, **notification: Any) -> dict[str, Any]:
    return sqs_record(sns_envelope(json.dumps(ses_notification(key, **notification))))


def deliver(lambda_client, *records: dict[str, Any]) -> dict[str, Any]:
    """Invoke the app's SQS function with one batch; its partial batch response."""
    return lambda_client.lambda_.invoke("inbound_mail", {"Records": list(records)}).payload


def tickets(http, agent_headers, status: str | None = None) -> list[dict[str, Any]]:
    query = f"?status={status}" if status else ""
    response = http.get(f"/admin/tickets{query}", headers=agent_headers)
    assert response.status_code == 200
    return response.json_body["data"]


def logged(log_lines, event: str) -> list[dict[str, Any]]:
    return [line for line in map(json.loads, log_lines()) if line.get("event") == event]


# --- a mail becomes a ticket --------------------------------------------------------------------


def test_a_mail_delivered_through_the_queue_opens_a_ticket_and_is_acknowledged(lambda_client, http, agent):
    _, agent_headers = agent
    key = stored(raw_mail())

    answer = deliver(lambda_client, mail_record(key))

    assert answer == {"batchItemFailures": []}
    (ticket,) = tickets(http, agent_headers)
    assert ticket["subject"] == "Transfer not received"
    assert ticket["source"] == "email"
    assert ticket["requester_email"] == SENDER
    assert ticket["verified_sender"] is False
    (acknowledgement,) = outbox.messages(SENDER, "email")
    assert ticket["ticket_id"] in f"{acknowledgement.subject} {acknowledgement.body}"


@pytest.mark.parametrize("raw_delivery", [False, True], ids=["sns-envelope", "raw-message-delivery"])
def test_what_moto_sns_delivers_to_sqs_is_read_with_or_without_the_envelope(lambda_client, http, agent, raw_delivery):
    """The notification goes through a real (moto) topic and queue; the record is built from what
    ReceiveMessage returns, as Lambda's poller does."""
    _, agent_headers = agent
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic_arn = sns.create_topic(Name="okpay-local-support-mail")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="okpay-local-support-mail")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true" if raw_delivery else "false"},
    )
    key = stored(raw_mail())
    sns.publish(
        TopicArn=topic_arn, Subject="Amazon SES Email Receipt Notification", Message=json.dumps(ses_notification(key))
    )
    (received,) = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"])["Messages"]
    record = {**sqs_record(received["Body"], message_id=received["MessageId"]), "eventSourceARN": queue_arn}
    assert ("TopicArn" in json.loads(record["body"])) is not raw_delivery  # both shapes really are exercised

    assert deliver(lambda_client, record) == {"batchItemFailures": []}
    assert [t["source"] for t in tickets(http, agent_headers)] == ["email"]


def test_the_handler_reads_the_object_once_and_passes_verdicts_time_and_key_to_receive(
    lambda_client, monkeypatch, frozen_clock
):
    calls = []
    monkeypatch.setattr(
        inbound_email, "receive", lambda *args, **kwargs: calls.append((args, kwargs)) or {"result": "ignored"}
    )
    raw = raw_mail()
    key = stored(raw)
    reads = []
    s3 = aws.client("s3")
    s3.meta.events.register("before-call.s3.GetObject", lambda **kwargs: reads.append(1))
    try:
        answer = deliver(
            lambda_client, mail_record(key, spam="GRAY", dkim="FAIL", dmarc="FAIL", dmarc_policy="QUARANTINE")
        )
    finally:
        s3.meta.events.unregister("before-call.s3.GetObject")

    assert answer == {"batchItemFailures": []}
    assert len(reads) == 1
    assert calls == [
        (
            (
                raw,
                {
                    "spam": "GRAY",
                    "virus": "PASS",
                    "spf": "PASS",
                    "dkim": "FAIL",
                    "dmarc": "FAIL",
                    "dmarc_policy": "quarantine",
                },
                frozen_clock,
            ),
            {"raw_key": key},
        )
    ]


def test_a_verdict_ses_could_not_reach_is_passed_as_gray(lambda_client, http, agent):
    _, agent_headers = agent
    key = stored(raw_mail())
    assert deliver(lambda_client, mail_record(key, virus="PROCESSING_FAILED", spf="PROCESSING_FAILED")) == {
        "batchItemFailures": []
    }
    assert [t["status"] for t in tickets(http, agent_headers)] == ["new"]


# --- SES's verdicts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "verdicts",
    [{"spam": "FAIL"}, {"dmarc": "FAIL", "dmarc_policy": "reject"}],
    ids=["spam", "dmarc-reject"],
)
def test_spam_or_a_dmarc_reject_is_quarantined_without_acknowledgement(lambda_client, http, agent, verdicts):
    _, agent_headers = agent
    key = stored(raw_mail())

    assert deliver(lambda_client, mail_record(key, **verdicts)) == {"batchItemFailures": []}

    assert [t["status"] for t in tickets(http, agent_headers, "quarantined")] == ["quarantined"]
    assert outbox.messages(SENDER, "email") == []


def test_a_dmarc_fail_with_a_quarantine_policy_is_not_quarantined(lambda_client, http, agent):
    _, agent_headers = agent
    key = stored(raw_mail())
    deliver(lambda_client, mail_record(key, dmarc="FAIL", dmarc_policy="quarantine"))
    assert tickets(http, agent_headers, "quarantined") == []
    assert len(tickets(http, agent_headers)) == 1


def test_a_virus_is_dropped_and_its_raw_message_deleted(lambda_client, http, agent, log_lines):
    _, agent_headers = agent
    key = stored(raw_mail())

    assert deliver(lambda_client, mail_record(key, virus="FAIL")) == {"batchItemFailures": []}

    assert tickets(http, agent_headers) == [] and tickets(http, agent_headers, "quarantined") == []
    assert outbox.messages(SENDER, "email") == []
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=get_settings().mail_bucket, Prefix=key)
    assert listed["KeyCount"] == 0
    assert [line["result"] for line in logged(log_lines, "inbound_mail") if "sqs_message_id" in line] == ["ignored"]


# --- who the mail is for --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "recipient",
    ["support+t.tkt_00000000000000000000000000000000.forged@okpay.local", "Support@OKPAY.local"],
    ids=["plus-address", "other-case"],
)
def test_the_support_address_in_any_case_or_with_a_plus_tag_is_support_mail(lambda_client, http, agent, recipient):
    _, agent_headers = agent
    key = stored(raw_mail(to=recipient))
    deliver(lambda_client, mail_record(key, recipients=[recipient]))
    # A forged reply token opens a new ticket (section 13).
    assert len(tickets(http, agent_headers)) == 1


def test_mail_for_another_address_of_the_domain_is_not_a_ticket(lambda_client, http, agent, log_lines):
    """The receipt rule takes the whole domain (so that support+<token>@ arrives)."""
    _, agent_headers = agent
    key = stored(raw_mail(to="billing@okpay.local"))

    assert deliver(lambda_client, mail_record(key, recipients=["billing@okpay.local", "support@example.net"])) == {
        "batchItemFailures": []
    }

    assert tickets(http, agent_headers) == []
    assert outbox.messages(SENDER, "email") == []
    (line,) = [line for line in logged(log_lines, "inbound_mail") if "sqs_message_id" in line]
    assert (line["result"], line["reason"]) == ("ignored", "not_addressed_to_support")


def test_a_bcc_to_support_counts_by_the_envelope_recipient(lambda_client, http, agent):
    _, agent_headers = agent
    key = stored(raw_mail(to="friend@example.org"))  # support only in the envelope (Bcc)
    deliver(lambda_client, mail_record(key, recipients=[get_settings().support_email]))
    assert len(tickets(http, agent_headers)) == 1


# --- records that can never be processed -------------------------------------------------------


MALFORMED = {
    "not-json": lambda key: "<html>not json</html>",
    "json-list": lambda key: "[1, 2]",
    "envelope-with-non-json-message": lambda key: sns_envelope("AMAZON_SES_SETUP_NOTIFICATION"),
    "bounce-notification": lambda key: sns_envelope(json.dumps({"notificationType": "Bounce", "bounce": {}})),
    "no-receipt": lambda key: sns_envelope(json.dumps({"notificationType": "Received"})),
    "sns-action": lambda key: sns_envelope(json.dumps(ses_notification(key, action_type="SNS"))),
    "another-bucket": lambda key: sns_envelope(json.dumps(ses_notification(key, bucket="someone-elses-bucket"))),
    "outside-inbound": lambda key: sns_envelope(json.dumps(ses_notification(key.replace("inbound/", "attachments/")))),
}


@pytest.mark.parametrize("body", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_record_that_is_not_an_ses_mail_notification_is_logged_and_acknowledged(
    lambda_client, http, agent, log_lines, body
):
    _, agent_headers = agent
    key = stored(raw_mail())
    record = sqs_record(body(key))

    assert deliver(lambda_client, record) == {"batchItemFailures": []}  # retrying cannot help

    assert tickets(http, agent_headers) == []
    (dropped,) = logged(log_lines, "inbound_mail_dropped")
    assert dropped["sqs_message_id"] == record["messageId"]
    assert dropped["level"] == "ERROR"  # what the alarm on the log group counts


SETUP_NOTIFICATIONS = {
    "sns-topic-validated": sns_envelope("Successfully validated SNS topic for Amazon SES event publishing."),
    "subscription-succeeded": sns_envelope(
        json.dumps(
            {
                "notificationType": "AmazonSnsSubscriptionSucceeded",
                "message": "You have successfully subscribed your Amazon SNS topic to receive notifications.",
            }
        )
    ),
}


@pytest.mark.parametrize("body", list(SETUP_NOTIFICATIONS.values()), ids=list(SETUP_NOTIFICATIONS))
def test_the_test_message_ses_sends_when_the_topic_is_set_up_is_acknowledged_quietly(
    lambda_client, http, agent, log_lines, body
):
    _, agent_headers = agent
    assert deliver(lambda_client, sqs_record(body)) == {"batchItemFailures": []}
    assert tickets(http, agent_headers) == []
    assert logged(log_lines, "inbound_mail_dropped") == []  # expected once per deploy: no alarm
    (line,) = logged(log_lines, "inbound_mail")
    assert (line["result"], line["reason"], line["level"]) == ("ignored", "ses_setup_notification", "INFO")


def test_a_notification_whose_object_is_gone_is_logged_and_acknowledged(lambda_client, http, agent, log_lines):
    _, agent_headers = agent
    record = mail_record("inbound/never-stored")

    assert deliver(lambda_client, record) == {"batchItemFailures": []}

    assert tickets(http, agent_headers) == []
    (dropped,) = logged(log_lines, "inbound_mail_dropped")
    assert dropped["reason"] == "raw message not found"


# --- failures, retries, duplicates ---------------------------------------------------------------


@pytest.fixture
def s3_slow_down_for():
    """S3 answers GetObject of the keys added to the returned set with 503 SlowDown."""
    failing: set[str] = set()

    def refuse(params, **_):
        if any(params["url_path"].endswith(key) for key in failing):
            return (
                None,
                {
                    "Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                    "ResponseMetadata": {"HTTPStatusCode": 503},
                },
            )
        return None

    s3 = aws.client("s3")
    s3.meta.events.register_first("before-call.s3.GetObject", refuse, unique_id="test-slow-down")
    yield failing
    s3.meta.events.unregister("before-call.s3.GetObject", unique_id="test-slow-down")


def test_one_failing_record_is_the_only_one_delivered_again(lambda_client, http, agent, log_lines, s3_slow_down_for):
    _, agent_headers = agent
    first, unlucky, last = (stored(raw_mail(subject=subject)) for subject in ("First", "Unlucky", "Last"))
    records = [mail_record(first), mail_record(unlucky), sqs_record("not json"), mail_record(last)]
    s3_slow_down_for.add(unlucky)

    answer = deliver(lambda_client, *records)

    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    assert sorted(t["subject"] for t in tickets(http, agent_headers)) == ["First", "Last"]
    (failed,) = logged(log_lines, "inbound_mail_failed")
    assert failed["sqs_message_id"] == records[1]["messageId"]

    # SQS delivers it again after the visibility timeout; S3 answers this time.
    s3_slow_down_for.clear()
    again = {**records[1], "attributes": {**records[1]["attributes"], "ApproximateReceiveCount": "2"}}
    assert deliver(lambda_client, again) == {"batchItemFailures": []}
    assert sorted(t["subject"] for t in tickets(http, agent_headers)) == ["First", "Last", "Unlucky"]


def test_an_error_in_receive_is_delivered_again_and_then_processed(lambda_client, http, agent, monkeypatch):
    _, agent_headers = agent
    key = stored(raw_mail())
    record = mail_record(key)
    real_receive = inbound_email.receive

    def failing(*args, **kwargs):
        raise RuntimeError("DynamoDB is having a bad minute")

    monkeypatch.setattr(inbound_email, "receive", failing)
    assert deliver(lambda_client, record) == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert tickets(http, agent_headers) == []

    monkeypatch.setattr(inbound_email, "receive", real_receive)
    assert deliver(lambda_client, record) == {"batchItemFailures": []}
    assert len(tickets(http, agent_headers)) == 1


def test_the_same_record_delivered_twice_makes_one_ticket_and_one_acknowledgement(
    lambda_client, http, agent, log_lines
):
    """SQS delivers at least once; receive de-duplicates by Message-ID."""
    _, agent_headers = agent
    record = mail_record(stored(raw_mail()))

    assert deliver(lambda_client, record) == {"batchItemFailures": []}
    assert deliver(lambda_client, record) == {"batchItemFailures": []}

    assert len(tickets(http, agent_headers)) == 1
    assert len(outbox.messages(SENDER, "email")) == 1
    results = [line["result"] for line in logged(log_lines, "inbound_mail") if "sqs_message_id" in line]
    assert results == ["ticket_created", "duplicate"]


def test_the_same_record_in_two_functions_at_once_makes_one_ticket(lambda_client, http, agent, log_lines):
    """At-least-once delivery can hand one message to two concurrent invocations."""
    _, agent_headers = agent
    record = mail_record(stored(raw_mail()))

    answers = run_together(*[lambda: app_module.inbound_mail({"Records": [record]}, None)] * 2)

    assert answers == [{"batchItemFailures": []}] * 2
    assert len(tickets(http, agent_headers)) == 1
    assert len(outbox.messages(SENDER, "email")) == 1
    results = sorted(line["result"] for line in logged(log_lines, "inbound_mail") if "sqs_message_id" in line)
    assert results == ["duplicate", "ticket_created"]


def test_the_same_mail_stored_twice_by_ses_in_one_batch_makes_one_ticket(lambda_client, http, agent):
    """Two notifications (two objects) for the same Message-ID, as a resend by the sending server makes."""
    _, agent_headers = agent
    raw = raw_mail()
    answer = deliver(lambda_client, mail_record(stored(raw)), mail_record(stored(raw)))
    assert answer == {"batchItemFailures": []}
    assert len(tickets(http, agent_headers)) == 1


# --- wiring -------------------------------------------------------------------------------------


def test_an_empty_batch_is_answered_with_no_failures(lambda_client):
    assert deliver(lambda_client) == {"batchItemFailures": []}


def test_the_rest_api_cold_start_does_not_load_the_mail_handler():
    probe = (
        "import json, sys; import app; "
        "print(json.dumps([m for m in ('chalicelib.api.inbound_mail', 'chalicelib.services.support.inbound_email') "
        "if m in sys.modules]))"
    )
    env = {"AWS_DEFAULT_REGION": REGION, "PATH": os.environ.get("PATH", ""), "OKPAY_STAGE": "dev"}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_the_function_consumes_the_stage_queue():
    (handler,) = [
        resource for resource in app_module.app.event_sources if resource.name == "inbound_mail"
    ] or pytest.fail("no inbound_mail event source")
    assert handler.queue == f"okpay-{get_settings().stage}-support-mail"


@pytest.mark.parametrize(
    ("recipient", "expected"),
    [
        ("support@okpay.local", True),
        ("SUPPORT@okpay.LOCAL", True),
        ("support+t.tkt_1.sig@okpay.local", True),
        ("supports@okpay.local", False),
        ("support@okpay.local.evil.example", False),
        ("support@evil.example", False),
        ("billing@okpay.local", False),
        ("support", False),
        (None, False),
    ],
)
def test_which_recipients_are_the_support_address(recipient, expected):
    assert inbound_mail.is_support_address(recipient, "support@okpay.local") is expected
