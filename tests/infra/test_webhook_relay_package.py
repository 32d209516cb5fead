"""The packaged template's webhook relay (contract, section 14): the API and the order_expiry job
publish a new event's key to an encrypted topic of this stack, which invokes the `webhook_relay`
function; only those two may publish.

Uses the packaged templates of tests/infra/test_package.py (built once per run).
"""

from __future__ import annotations

import json

from tests.infra import test_package
from tests.infra.test_package import as_list, of_type

packages = test_package.packages
packaged = test_package.packaged

TOPIC = {"Ref": "WebhookRelayTopic"}
PUBLISHERS = {"APIHandler": "ApiHandlerRole", "OrderExpiry": "OrderExpiryRole"}


def test_the_relay_topic_is_this_stages_and_encrypted(packaged):
    _, template = packaged
    topic = template["Resources"]["WebhookRelayTopic"]
    assert topic["Type"] == "AWS::SNS::Topic"
    assert topic["Properties"]["TopicName"] == {"Fn::Sub": "okpay-${Stage}-webhook-relay"}
    assert topic["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"


def test_the_relay_function_is_subscribed_to_this_stacks_topic(packaged):
    _, template = packaged
    function = template["Resources"]["WebhookRelay"]
    properties = function["Properties"]
    assert properties["Handler"] == "app.webhook_relay"
    assert properties["FunctionName"] == {"Fn::Sub": "okpay-${Stage}-webhook_relay"}
    assert "FunctionResourceAccess" in as_list(function["DependsOn"])  # reads the webhook secrets (KMS)
    assert properties["Timeout"] >= 30  # one change's events, each waiting up to 10 s
    (event,) = properties["Events"].values()
    assert event["Type"] == "SNS"
    # Chalice writes an ARN from the name in app.py; the merge makes it this stack's topic (a
    # dependency, so the subscription is made after the topic) and nothing else.
    assert event["Properties"] == {"Topic": {"Fn::Sub": "${WebhookRelayTopic}"}}


def test_only_the_functions_that_record_events_may_publish_and_only_to_the_relay_topic(packaged):
    _, template = packaged
    resources = template["Resources"]
    policy = resources["WebhookRelayPublish"]
    assert policy["Type"] == "AWS::IAM::Policy"
    properties = policy["Properties"]
    assert {role["Ref"] for role in properties["Roles"]} == set(PUBLISHERS.values())
    (statement,) = properties["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Allow", "sns:Publish", TOPIC)
    assert "Condition" not in statement
    for function in PUBLISHERS:  # no first run before the grant
        assert "WebhookRelayPublish" in as_list(resources[function]["DependsOn"]), function
    # Nothing else grants anything on the topic; every function knows its ARN (shared environment).
    for logical, other in of_type(template, "AWS::IAM::Policy").items():
        if logical != "WebhookRelayPublish":
            assert "WebhookRelayTopic" not in json.dumps(other), logical
    for logical, role in of_type(template, "AWS::IAM::Role").items():
        assert "webhook-relay" not in json.dumps(role["Properties"].get("Policies", [])), logical
    for logical, function in of_type(template, "AWS::Serverless::Function").items():
        assert function["Properties"]["Environment"]["Variables"]["OKPAY_WEBHOOK_RELAY_TOPIC"] == TOPIC, logical
