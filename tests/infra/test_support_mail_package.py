"""The packaged template's support-mail plumbing (contract, section 13; docs/deploy.md, "Support mail"):
SES receipt rule -> private mail bucket + topic -> queue with a dead-letter queue -> the `inbound_mail`
function, each hop open only to the one before it, and the function's own least-privilege policy.

Uses the packaged templates of tests/infra/test_package.py (built once per run).
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.api.inbound_mail import INBOUND_PREFIX
from tests.infra import test_package
from tests.infra.test_package import as_list, chalice_config, of_type, resolve

# The packaged templates, shared with test_package.py (the package is built once per run).
packages = test_package.packages
packaged = test_package.packaged

RULE_SOURCE_ARN = (
    "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
    ":receipt-rule-set/okpay-${Stage}-inbound:receipt-rule/okpay-${Stage}-support"
)
SOURCE_CONDITIONS = {
    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    "ArnEquals": {"aws:SourceArn": {"Fn::Sub": RULE_SOURCE_ARN}},
}
QUEUE_ARN = {"Fn::GetAtt": ["SupportMailQueue", "Arn"]}


def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def test_the_mail_bucket_is_private_encrypted_versioned_kept_and_expires_raw_mail(packaged):
    _, template = packaged
    bucket = resources(template)["SupportMailBucket"]
    properties = bucket["Properties"]
    assert bucket["Type"] == "AWS::S3::Bucket"
    assert bucket["DeletionPolicy"] == "Retain"  # attachments belong to tickets
    assert properties["BucketName"] == {"Fn::Sub": "okpay-${Stage}-support-mail-${AWS::AccountId}"}
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # SES needs no key grant
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {r["Id"]: r for r in properties["LifecycleConfiguration"]["Rules"]}
    assert all(r["Status"] == "Enabled" for r in rules.values())
    # Raw mail goes after 90 days (longer than the dead-letter queue keeps a message); attachments stay.
    (expiring,) = [r for r in rules.values() if "ExpirationInDays" in r]
    assert expiring["Prefix"] == INBOUND_PREFIX
    assert expiring["ExpirationInDays"] == 90
    dlq_days = resources(template)["SupportMailDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"] / 86400
    assert expiring["ExpirationInDays"] > dlq_days
    assert any("NoncurrentVersionExpiration" in r for r in rules.values())
    assert any("AbortIncompleteMultipartUpload" in r for r in rules.values())


def test_only_this_stage_receipt_rule_may_write_mail_and_only_under_inbound(packaged):
    _, template = packaged
    policy = resources(template)["SupportMailBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "SupportMailBucket"}
    statements = policy["PolicyDocument"]["Statement"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "ses.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == {"Fn::Sub": f"${{SupportMailBucket.Arn}}/{INBOUND_PREFIX}*"}
    assert allow["Condition"] == SOURCE_CONDITIONS
    # Everything else only takes access away: no request without TLS 1.2+.
    denials = [s for s in statements if s["Effect"] == "Deny"]
    assert len(denials) == len(statements) - 1
    (no_tls,) = [s for s in denials if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
    assert no_tls["Principal"] == "*" and no_tls["Action"] == "s3:*"
    assert {"Fn::Sub": "${SupportMailBucket.Arn}/*"} in no_tls["Resource"]
    assert any(s.get("Condition", {}).get("NumericLessThan", {}).get("s3:TlsVersion") == 1.2 for s in denials)


def test_only_this_stage_receipt_rule_may_publish_to_the_mail_topic(packaged):
    _, template = packaged
    topic = resources(template)["SupportMailTopic"]["Properties"]
    assert topic["TopicName"] == {"Fn::Sub": "okpay-${Stage}-support-mail"}
    policy = resources(template)["SupportMailTopicPolicy"]["Properties"]
    assert policy["Topics"] == [{"Ref": "SupportMailTopic"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == {"Ref": "SupportMailTopic"}
    assert statement["Condition"] == SOURCE_CONDITIONS


def test_the_source_arn_names_the_rule_set_and_rule_the_template_creates(packaged):
    _, template = packaged
    rule_set = resources(template)["SupportMailRuleSet"]["Properties"]["RuleSetName"]["Fn::Sub"]
    rule = resources(template)["SupportMailReceiptRule"]["Properties"]["Rule"]["Name"]["Fn::Sub"]
    assert RULE_SOURCE_ARN.endswith(f":receipt-rule-set/{rule_set}:receipt-rule/{rule}")


def test_only_the_mail_topic_may_send_to_the_queue(packaged):
    _, template = packaged
    policy = resources(template)["SupportMailQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "SupportMailQueue"}]
    statements = policy["PolicyDocument"]["Statement"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Resource"] == QUEUE_ARN
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "SupportMailTopic"}}}
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_queue_is_encrypted_outlives_retries_and_redrives_to_its_dead_letter_queue(packaged):
    _, template = packaged
    queue = resources(template)["SupportMailQueue"]["Properties"]
    dlq = resources(template)["SupportMailDeadLetterQueue"]["Properties"]
    function = resources(template)["InboundMail"]["Properties"]
    assert queue["QueueName"] == {"Fn::Sub": "okpay-${Stage}-support-mail"}
    assert dlq["QueueName"] == {"Fn::Sub": "okpay-${Stage}-support-mail-dlq"}
    assert queue["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True
    # AWS: at least 6 x the function's timeout, or a batch still running is delivered again.
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["SupportMailDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    # A standard queue's message keeps its first enqueue time in the DLQ: the DLQ must keep longer.
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert dlq["MessageRetentionPeriod"] == 14 * 86400  # SQS's maximum
    assert dlq["RedriveAllowPolicy"]["redrivePermission"] == "byQueue"
    assert dlq["RedriveAllowPolicy"]["sourceQueueArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:okpay-${Stage}-support-mail"}
    ]


def test_the_topic_delivers_to_the_queue_once_the_queue_lets_it(packaged):
    _, template = packaged
    subscription = resources(template)["SupportMailSubscription"]
    assert subscription["DependsOn"] == "SupportMailQueuePolicy"  # no first notification refused
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "SupportMailTopic"},
        "Protocol": "sqs",
        "Endpoint": QUEUE_ARN,
        "RawMessageDelivery": False,
    }


def test_the_receipt_rule_takes_the_support_domain_scans_requires_tls_and_stores_then_notifies(packaged):
    stage, template = packaged
    rule_set = resources(template)["SupportMailRuleSet"]
    assert rule_set["Type"] == "AWS::SES::ReceiptRuleSet"
    receipt_rule = resources(template)["SupportMailReceiptRule"]
    assert receipt_rule["Type"] == "AWS::SES::ReceiptRule"
    # SES checks at creation that it may write and publish.
    assert set(receipt_rule["DependsOn"]) == {"SupportMailBucketPolicy", "SupportMailTopicPolicy"}
    properties = resolve(receipt_rule["Properties"], stage)
    assert properties["RuleSetName"] == {"Ref": "SupportMailRuleSet"}
    rule = properties["Rule"]
    assert rule["Enabled"] is True
    assert rule["ScanEnabled"] is True  # the spam and virus verdicts the handler passes on
    assert rule["TlsPolicy"] == "Require"
    # The support address's domain: SES matches an address exactly, and replies come to support+<token>@.
    support_email = chalice_config()["stages"][stage]["environment_variables"]["OKPAY_SUPPORT_EMAIL"]
    assert rule["Recipients"] == [support_email.rpartition("@")[2]]
    assert rule["Actions"] == [
        {
            "S3Action": {
                "BucketName": {"Ref": "SupportMailBucket"},
                "ObjectKeyPrefix": INBOUND_PREFIX,
                "TopicArn": {"Ref": "SupportMailTopic"},
            }
        }
    ]


def test_the_mail_function_consumes_this_stacks_queue_with_partial_batch_responses(packaged):
    _, template = packaged
    function = resources(template)["InboundMail"]
    properties = function["Properties"]
    assert properties["Handler"] == "app.inbound_mail"
    assert properties["FunctionName"] == {"Fn::Sub": "okpay-${Stage}-inbound_mail"}
    assert set(as_list(function["DependsOn"])) == {"FunctionResourceAccess", "InboundMailAccess"}
    (event,) = properties["Events"].values()
    assert event["Type"] == "SQS"
    mapping = event["Properties"]
    # Chalice writes an ARN from the name in app.py; the merge makes it this stack's queue (a
    # dependency, so the mapping is made after the queue) and nothing else.
    assert mapping["Queue"] == {"Fn::Sub": "${SupportMailQueue.Arn}"}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= mapping["BatchSize"] <= 10
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 5}  # a flood never takes the API's concurrency


def test_only_the_mail_function_may_consume_the_queue_and_read_raw_mail(packaged):
    _, template = packaged
    policy = resources(template)["InboundMailAccess"]
    assert policy["Type"] == "AWS::IAM::Policy"
    assert policy["Properties"]["Roles"] == [{"Ref": "InboundMailRole"}]
    granted: dict[str, list[Any]] = {}
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "Condition" not in statement
        for action in as_list(statement["Action"]):
            granted.setdefault(action, []).append(statement["Resource"])
    inbound = {"Fn::Sub": f"${{SupportMailBucket.Arn}}/{INBOUND_PREFIX}*"}
    attachments = {"Fn::Sub": "${SupportMailBucket.Arn}/attachments/*"}
    assert granted == {
        "sqs:ReceiveMessage": [QUEUE_ARN],
        "sqs:DeleteMessage": [QUEUE_ARN],
        "sqs:GetQueueAttributes": [QUEUE_ARN],
        "sqs:ChangeMessageVisibility": [QUEUE_ARN],
        "s3:GetObject": [inbound, attachments],
        "s3:DeleteObject": [inbound],  # a virus FAIL's raw message is not kept
        "s3:PutObject": [attachments],
    }
    # The agents' pre-signed attachment downloads: the API function, attachments only.
    reader = resources(template)["SupportMailAttachmentsRead"]["Properties"]
    assert reader["Roles"] == [{"Ref": "ApiHandlerRole"}]
    (statement,) = reader["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Allow", "s3:GetObject", attachments)
    # Nothing else grants anything on the queue or the mail bucket, nor any SQS action.
    for logical, other in of_type(template, "AWS::IAM::Policy").items():
        if logical not in {"InboundMailAccess", "SupportMailAttachmentsRead"}:
            text = json.dumps(other)
            assert "SupportMail" not in text and "sqs:" not in text, logical
    for logical, role in of_type(template, "AWS::IAM::Role").items():
        text = json.dumps(role["Properties"].get("Policies", []))
        assert "sqs:" not in text and "support-mail" not in text, logical


def test_the_stack_outputs_what_the_operator_needs_for_mail(packaged):
    _, template = packaged
    outputs = template["Outputs"]
    assert outputs["SupportMailBucketName"]["Value"] == {"Ref": "SupportMailBucket"}
    assert outputs["SupportMailRuleSetName"]["Value"] == {"Ref": "SupportMailRuleSet"}
    assert outputs["SupportMailDeadLetterQueueArn"]["Value"] == {"Fn::GetAtt": ["SupportMailDeadLetterQueue", "Arn"]}
