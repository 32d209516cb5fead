"""What `make package` builds for a real account: it lints clean and keeps the promises a reviewer checks.

`python -m tools.package` (`chalice package --stage <stage> --merge-template infra/resources.yaml`,
then the Lambda zip without what the app never loads) runs once per test session (per stage) into a
temporary directory, never into build/. The first run pip-downloads the Lambda requirements into
.chalice/deployments (gitignored); later runs reuse that zip.
"""

from __future__ import annotations

import ast
import fcntl
import json
import os
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.adapters import config as settings_module
from chalicelib.adapters.aws import SERVICES
from chalicelib.errors import RETRY_AFTER_CODES, STATUS_BY_CODE
from chalicelib.i18n import error_message
from localstage.resources import table_definitions
from tools.package import HOLIDAY_ENTITIES, MAX_ZIP_BYTES, STDNUM_DATA, package

PROJECT_DIR = Path(__file__).resolve().parents[2]
REGION = "ap-southeast-1"  # the Makefile's default REGION
DEPLOYED_STAGES = ("dev", "prod")
ALL_STAGES = ("local", "dev", "prod")

# Chalice's logical ids for this app (app.py): the API, the six scheduled jobs, the live-chat
# WebSocket's three route functions, the inbound-mail queue's function, the webhook relay topic's
# function, one role each.
WEBSOCKET_FUNCTIONS = ("WebsocketConnect", "WebsocketMessage", "WebsocketDisconnect")
FUNCTIONS = (
    "APIHandler",
    "DisputeSla",
    "TicketSla",
    "Reconcile",
    "PasswordAge",
    "TopupSettle",
    "ChatQueue",
    "OrderExpiry",
    "WebhookDispatch",
    "NotifyDispatch",
    *WEBSOCKET_FUNCTIONS,
    "InboundMail",
    "WebhookRelay",
)
ROLES = (
    "ApiHandlerRole",
    "DisputeSlaRole",
    "TicketSlaRole",
    "ReconcileRole",
    "PasswordAgeRole",
    "TopupSettleRole",
    "ChatQueueRole",
    "OrderExpiryRole",
    "WebhookDispatchRole",
    "NotifyDispatchRole",
    *(f"{function}Role" for function in WEBSOCKET_FUNCTIONS),
    "InboundMailRole",
    "WebhookRelayRole",
)

# Variables whose values exist only once the stack does: the template puts them in every function.
RESOURCE_ENVIRONMENT = {
    "OKPAY_KYC_BUCKET": {"Ref": "KycDocumentsBucket"},
    "OKPAY_MAIL_BUCKET": {"Ref": "SupportMailBucket"},
    "OKPAY_ALERT_TOPIC_ARN": {"Ref": "AlertTopic"},
    "OKPAY_FIELD_KEY_ID": {"Ref": "FieldKey"},
    "OKPAY_JWT_SECRET_ARN": {"Ref": "JwtSigningSecret"},
    "OKPAY_WS_ENDPOINT": {"Fn::Sub": "https://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"},
    "OKPAY_WS_URL": {"Fn::Sub": "wss://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"},
    "OKPAY_WEBHOOK_RELAY_TOPIC": {"Ref": "WebhookRelayTopic"},
}

# Tables whose items expire (sessions, one-time codes, counters, idempotency records).
EXPIRING_TABLES = {"sessions", "codes", "counters", "idempotency", "connections"}

# API Gateway's own errors -> the contract code they answer with.
GATEWAY_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": "not_found",  # unknown route
    "RESOURCE_NOT_FOUND": "not_found",
    "THROTTLED": "rate_limited",
    "QUOTA_EXCEEDED": "rate_limited",
    "REQUEST_TOO_LARGE": "payload_too_large",
    "UNSUPPORTED_MEDIA_TYPE": "unsupported_media_type",
    "UNAUTHORIZED": "unauthorized",
    "ACCESS_DENIED": "forbidden",
    "WAF_FILTERED": "forbidden",
    "INTEGRATION_TIMEOUT": "try_again",
    "INTEGRATION_FAILURE": "try_again",
    "DEFAULT_4XX": "validation_error",
    "DEFAULT_5XX": "internal_error",
}

# Everything a stage's policy file may grant. Adding to it is a security review, on purpose.
POLICY_FILE_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",  # with Put/Update/Delete/Get, what TransactWriteItems is authorised by
    "ses:SendEmail",
    "ses:SendRawEmail",
    "sns:Publish",
}


# --- building -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """stage -> the packaged SAM template, built once per run (shared by xdist workers, under a lock)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = tmp_path_factory.getbasetemp().parent  # this run's directory, common to its workers
    else:
        root = tmp_path_factory.getbasetemp()
    templates = {}
    with (root / "okpay-package.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one chalice at a time: they share .chalice/deployments
        try:
            for stage in DEPLOYED_STAGES:
                out = root / "okpay-package" / stage
                # A YAML merge template makes Chalice write sam.yaml (not sam.json).
                if not (out / "done").exists():
                    package(stage, out, REGION)
                    (out / "done").touch()
                templates[stage] = out / "sam.yaml"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return templates


@pytest.fixture(params=DEPLOYED_STAGES)
def packaged(request: pytest.FixtureRequest, packages: dict[str, Path]) -> tuple[str, dict[str, Any]]:
    """(stage, the packaged template as a dict)."""
    stage = request.param
    return stage, yaml.safe_load(packages[stage].read_text(encoding="utf-8"))


def resolve(value: Any, stage: str) -> Any:
    """The value with `Fn::If` on the template's IsProd condition decided for `stage`."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            condition, when_true, when_false = value["Fn::If"]
            assert condition == "IsProd", f"unexpected condition {condition}"
            return resolve(when_true if stage == "prod" else when_false, stage)
        return {key: resolve(item, stage) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, stage) for item in value]
    return value


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def policy_file(stage: str) -> tuple[str, dict[str, Any]]:
    text = (PROJECT_DIR / ".chalice" / f"policy-{stage}.json").read_text(encoding="utf-8")
    return text, json.loads(text)


def chalice_config() -> dict[str, Any]:
    return json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text(encoding="utf-8"))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the template as a whole ----------------------------------------------------------------------


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_the_packaged_template_lints_without_errors(packages, stage):
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(packages[stage], config=ManualArgs(regions=[REGION, "us-east-1"]))
    errors = [str(match) for match in matches if match.rule.id.startswith("E")]
    assert not errors, "\n".join(errors)
    for match in matches:
        warnings.warn(f"cfn-lint ({stage}): {match}", stacklevel=1)


def test_the_stage_parameter_must_be_given_and_names_a_deployed_stage(packaged):
    _, template = packaged
    stage_parameter = template["Parameters"]["Stage"]
    assert set(stage_parameter["AllowedValues"]) == set(DEPLOYED_STAGES)
    # No default: a dev package deployed without Stage=dev would otherwise make prod-named resources.
    assert "Default" not in stage_parameter


def test_build_output_is_never_committed():
    ignored = (PROJECT_DIR / ".gitignore").read_text(encoding="utf-8").split()
    assert "build/" in ignored
    assert ".chalice/deployments/" in ignored


# --- tables ---------------------------------------------------------------------------------------


def test_every_table_is_on_demand_backed_up_encrypted_and_kept(packaged):
    stage, template = packaged
    tables = of_type(template, "AWS::DynamoDB::Table")
    names = set()
    for logical, table in tables.items():
        properties = resolve(table["Properties"], stage)
        sub = properties["TableName"]["Fn::Sub"]
        assert sub.startswith("okpay-${Stage}-"), logical  # localstage/resources.py parses this
        names.add(sub.removeprefix("okpay-${Stage}-"))
        assert properties["BillingMode"] == "PAY_PER_REQUEST", logical
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, logical
        assert properties["SSESpecification"]["SSEEnabled"] is True, logical
        assert table["DeletionPolicy"] == "Retain", logical
        assert table["UpdateReplacePolicy"] == "Retain", logical
        assert properties["DeletionProtectionEnabled"] is (stage == "prod"), logical
        ttl = properties.get("TimeToLiveSpecification")
        if ttl is not None:
            assert ttl == {"AttributeName": "expires_ttl", "Enabled": True}, logical
    with_ttl = {
        resolve(t["Properties"], stage)["TableName"]["Fn::Sub"].removeprefix("okpay-${Stage}-")
        for t in tables.values()
        if "TimeToLiveSpecification" in t["Properties"]
    }
    assert with_ttl >= EXPIRING_TABLES
    # Every table of infra/resources.yaml, as the local stage reads them, is in the package.
    assert names == set(table_definitions())
    assert len(names) == len(tables)


# --- KYC bucket, alerts, key, secret -------------------------------------------------------------


def test_the_kyc_bucket_is_private_encrypted_versioned_and_kept(packaged):
    _, template = packaged
    bucket = template["Resources"]["KycDocumentsBucket"]
    properties = bucket["Properties"]
    assert bucket["Type"] == "AWS::S3::Bucket"
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    lifecycle = properties["LifecycleConfiguration"]["Rules"]
    assert any(r["Status"] == "Enabled" and "AbortIncompleteMultipartUpload" in r for r in lifecycle)


def test_the_kyc_bucket_refuses_requests_without_tls(packaged):
    _, template = packaged
    policy = of_type(template, "AWS::S3::BucketPolicy")["KycDocumentsBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "KycDocumentsBucket"}
    statements = policy["PolicyDocument"]["Statement"]
    (tls,) = [s for s in statements if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
    assert tls["Effect"] == "Deny"
    assert tls["Principal"] == "*"
    assert tls["Action"] == "s3:*"
    assert {"Fn::GetAtt": ["KycDocumentsBucket", "Arn"]} in tls["Resource"]
    assert {"Fn::Sub": "${KycDocumentsBucket.Arn}/*"} in tls["Resource"]
    assert all(s["Effect"] == "Deny" for s in statements)  # it only ever takes access away


def test_the_alert_topic_is_encrypted_and_mails_the_alert_email_when_given(packaged):
    _, template = packaged
    topic = template["Resources"]["AlertTopic"]["Properties"]
    assert topic["TopicName"] == {"Fn::Sub": "okpay-${Stage}-alerts"}
    assert topic["KmsMasterKeyId"] == "alias/aws/sns"
    subscription = template["Resources"]["AlertEmailSubscription"]
    assert subscription["Condition"] == "HasAlertEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlertTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlertEmail"},
    }
    assert template["Parameters"]["AlertEmail"]["Default"] == ""


def test_the_field_key_rotates_is_kept_and_has_its_alias(packaged):
    _, template = packaged
    key = template["Resources"]["FieldKey"]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["DeletionPolicy"] == "Retain"  # without it, the tables' encrypted fields are lost
    assert key["Properties"]["EnableKeyRotation"] is True
    alias = template["Resources"]["FieldKeyAlias"]["Properties"]
    assert alias == {"AliasName": {"Fn::Sub": "alias/okpay-${Stage}-fields"}, "TargetKeyId": {"Ref": "FieldKey"}}


def test_the_jwt_signing_key_is_generated_not_written_down(packaged):
    _, template = packaged
    secret = template["Resources"]["JwtSigningSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    # Also keys the stored hashes of codes and ID numbers (chalicelib/adapters/keys.py): never lost.
    assert secret["DeletionPolicy"] == "Retain"
    assert secret["UpdateReplacePolicy"] == "Retain"
    assert "SecretString" not in secret["Properties"]
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 64


# --- functions ------------------------------------------------------------------------------------


def test_chalice_still_generates_the_functions_and_roles_the_template_refers_to(packaged):
    _, template = packaged
    assert set(of_type(template, "AWS::Serverless::Function")) == set(FUNCTIONS)
    assert set(of_type(template, "AWS::IAM::Role")) == set(ROLES)
    assert template["Resources"]["RestAPI"]["Type"] == "AWS::Serverless::Api"


def test_every_function_gets_every_variable_the_code_reads(packaged):
    _, template = packaged
    read_by_code = {name for name in settings_module._VARIABLES if name.startswith("OKPAY_")}
    for logical, function in of_type(template, "AWS::Serverless::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        for name, value in RESOURCE_ENVIRONMENT.items():
            assert variables.get(name) == value, (logical, name)
        assert read_by_code <= set(variables), (logical, read_by_code - set(variables))


def test_every_function_has_a_fixed_name_a_log_group_with_retention_and_the_resource_policy(packaged):
    _, template = packaged
    log_groups = {
        resource["Properties"]["LogGroupName"]["Fn::Sub"]: resource["Properties"]
        for resource in of_type(template, "AWS::Logs::LogGroup").values()
    }
    access = template["Resources"]["FunctionResourceAccess"]
    attached = {role["Ref"] for role in access["Properties"]["Roles"]}
    for logical, function in of_type(template, "AWS::Serverless::Function").items():
        properties = function["Properties"]
        # /aws/lambda/okpay-<stage>-* is all the stage policy file lets a function write logs to.
        assert properties["FunctionName"]["Fn::Sub"].startswith("okpay-${Stage}-"), logical
        assert log_groups[f"/aws/lambda/${{{logical}}}"]["RetentionInDays"] > 0, logical
        assert properties["Role"]["Fn::GetAtt"][0] in attached, logical
        # The inbound-mail function also waits for its queue and bucket policy (InboundMailAccess).
        assert "FunctionResourceAccess" in as_list(function.get("DependsOn")), logical
    assert attached == set(of_type(template, "AWS::IAM::Role"))


def test_only_the_api_reserves_concurrency(packaged):
    stage, template = packaged
    # Reserving the same amount for each scheduled job too would take the whole account's concurrency.
    reserved = {
        logical: function["Properties"].get("ReservedConcurrentExecutions")
        for logical, function in of_type(template, "AWS::Serverless::Function").items()
    }
    assert {logical for logical, value in reserved.items() if value is not None} <= {"APIHandler"}
    if stage == "prod":
        assert reserved["APIHandler"] == 200


def test_the_resource_policy_grants_only_the_template_resources(packaged):
    _, template = packaged
    document = template["Resources"]["FunctionResourceAccess"]["Properties"]["PolicyDocument"]
    granted = {}
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            granted[action] = statement["Resource"]
    assert granted == {
        "s3:PutObject": {"Fn::Sub": "${KycDocumentsBucket.Arn}/*"},
        "s3:GetObject": {"Fn::Sub": "${KycDocumentsBucket.Arn}/*"},
        "sns:Publish": {"Ref": "AlertTopic"},
        "kms:Encrypt": {"Fn::GetAtt": ["FieldKey", "Arn"]},
        "kms:Decrypt": {"Fn::GetAtt": ["FieldKey", "Arn"]},
        "kms:GenerateDataKey": {"Fn::GetAtt": ["FieldKey", "Arn"]},
        "secretsmanager:GetSecretValue": {"Ref": "JwtSigningSecret"},
    }


# The one statement allowed to grant on every resource: the code-channel probe's two reads, which
# support no resource-level permissions (infra/resources.yaml, `CodeChannelProbe`).
PROBE_ACTIONS = {"ses:GetSendQuota", "sns:GetSMSAttributes"}


def iam_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) of every IAM policy in the package: the template's own policies and
    each role's inline ones (the stage policy file)."""
    for logical, policy in of_type(template, "AWS::IAM::Policy").items():
        yield from ((logical, s) for s in as_list(policy["Properties"]["PolicyDocument"]["Statement"]))
    for logical, role in of_type(template, "AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            yield from ((logical, s) for s in as_list(inline["PolicyDocument"]["Statement"]))


def test_only_the_code_channel_probe_grants_on_every_resource_and_only_to_the_api(packaged):
    _, template = packaged
    everywhere = [(logical, s) for logical, s in iam_statements(template) if "*" in as_list(s.get("Resource", []))]
    assert [(logical, s["Effect"], set(as_list(s["Action"]))) for logical, s in everywhere] == [
        ("CodeChannelProbe", "Allow", PROBE_ACTIONS)
    ]
    [(_, statement)] = everywhere
    assert set(statement) == {"Sid", "Effect", "Action", "Resource"}  # no NotAction, no other resource
    probe = template["Resources"]["CodeChannelProbe"]
    assert probe["Type"] == "AWS::IAM::Policy"
    assert probe["Properties"]["Roles"] == [{"Ref": "ApiHandlerRole"}]  # the function behind the routes
    assert "CodeChannelProbe" in as_list(template["Resources"]["APIHandler"]["DependsOn"])
    # Nothing else grants these two (they stay out of the stage policy file, too).
    granting = {logical for logical, s in iam_statements(template) if PROBE_ACTIONS & set(as_list(s.get("Action")))}
    assert granting == {"CodeChannelProbe"}


# --- the routes -----------------------------------------------------------------------------------


def test_the_api_has_every_route_but_the_local_tools(packaged):
    """The /_local routes are not registered outside `local` (contract, section 10): API Gateway has
    no such resource, so they answer its unknown-route 404 envelope."""
    from chalicelib.api import areas
    from chalicelib.api.routing import OPERATIONS

    areas.load_all(local=True)  # every operation declared, whatever this worker ran before
    _, template = packaged
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert not [path for path in paths if path.startswith("/_local")]
    served = {(op.method.lower(), op.path) for op in OPERATIONS if not op.local_only}
    packaged_routes = {(method, path) for path, item in paths.items() for method in item if method != "options"}
    assert packaged_routes == served


# --- the live-chat WebSocket API ------------------------------------------------------------------

# Route key -> the function behind it and its handler in app.py.
WEBSOCKET_ROUTES = {
    "$connect": ("WebsocketConnect", "app.websocket_connect"),
    "$default": ("WebsocketMessage", "app.websocket_message"),
    "$disconnect": ("WebsocketDisconnect", "app.websocket_disconnect"),
}


def test_the_websocket_api_sends_each_route_to_its_function(packaged):
    _, template = packaged
    resources = template["Resources"]
    api = resources["WebsocketAPI"]
    assert api["Type"] == "AWS::ApiGatewayV2::Api"
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    routes = {
        route["Properties"]["RouteKey"]: route for route in of_type(template, "AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == set(WEBSOCKET_ROUTES)
    for route_key, (function, handler) in WEBSOCKET_ROUTES.items():
        route = routes[route_key]["Properties"]
        assert route["ApiId"] == {"Ref": "WebsocketAPI"}, route_key
        integration_id = route["Target"]["Fn::Join"][1][1]["Ref"]
        integration = resources[integration_id]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY", route_key
        assert integration["IntegrationUri"]["Fn::Sub"][1] == {"WebsocketHandler": {"Ref": function}}, route_key
        assert resources[function]["Properties"]["Handler"] == handler, route_key
    # OKPAY_WS_ENDPOINT, OKPAY_WS_URL and the ManageConnections policy name the stage `api`.
    (stage,) = of_type(template, "AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["StageName"] == "api"
    assert {chalice_config()["stages"][name]["api_gateway_stage"] for name in DEPLOYED_STAGES} == {"api"}


def test_only_the_functions_that_push_may_post_to_and_close_connections_of_this_websocket_api(packaged):
    _, template = packaged
    policy = template["Resources"]["WebsocketManageConnections"]
    assert policy["Type"] == "AWS::IAM::Policy"
    properties = policy["Properties"]
    # The API (REST writes push, a revocation closes), the $default route (pong, typing) and the
    # chat_queue job (chats it turns into tickets or resolves).
    assert {role["Ref"] for role in properties["Roles"]} == {"ApiHandlerRole", "WebsocketMessageRole", "ChatQueueRole"}
    (statement,) = properties["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "execute-api:ManageConnections"
    prefix = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebsocketAPI}/api/"
    assert sorted(resource["Fn::Sub"] for resource in statement["Resource"]) == [
        f"{prefix}DELETE/@connections/*",
        f"{prefix}POST/@connections/*",
    ]
    # Nothing else in the template grants execute-api.
    for logical, other in of_type(template, "AWS::IAM::Policy").items():
        if logical != "WebsocketManageConnections":
            assert "execute-api" not in json.dumps(other), logical
    for logical, role in of_type(template, "AWS::IAM::Role").items():
        assert "execute-api" not in json.dumps(role["Properties"].get("Policies", [])), logical


def test_the_connections_table_is_found_by_user_and_by_session_without_a_scan(packaged):
    stage, template = packaged
    table = resolve(template["Resources"]["ConnectionsTable"]["Properties"], stage)
    assert table["TableName"] == {"Fn::Sub": "okpay-${Stage}-connections"}
    assert table["KeySchema"] == [{"AttributeName": "connection_id", "KeyType": "HASH"}]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert indexes["by_user"]["KeySchema"][0] == {"AttributeName": "user_id", "KeyType": "HASH"}
    assert indexes["by_session"]["KeySchema"][0] == {"AttributeName": "session_id", "KeyType": "HASH"}
    # A connection lives at most API Gateway's 2 hours: its record expires.
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_ttl", "Enabled": True}


# --- API Gateway's own errors ---------------------------------------------------------------------


def test_api_gateway_errors_use_the_contract_envelope(packaged):
    _, template = packaged
    api = template["Resources"]["RestAPI"]["Properties"]
    responses = api["GatewayResponses"]
    assert set(responses) == set(GATEWAY_RESPONSES)
    # Stand-alone GatewayResponse resources miss the SAM deployment and are dropped on the next one.
    assert not of_type(template, "AWS::ApiGateway::GatewayResponse")
    for response_type, code in GATEWAY_RESPONSES.items():
        response = responses[response_type]
        assert int(response["StatusCode"]) == STATUS_BY_CODE[code], response_type
        headers = response["ResponseParameters"]["Headers"]
        assert headers["X-Request-Id"] == "context.requestId", response_type
        body = json.loads(response["ResponseTemplates"]["application/json"].replace("$context.requestId", "REQ"))
        error = body["error"]
        assert error["code"] == code, response_type
        assert error["message"] == error_message(code, "en"), response_type
        assert error["request_id"] == "REQ", response_type
        if code in RETRY_AFTER_CODES:
            retry_after = headers["Retry-After"]
            assert retry_after.startswith("'") and retry_after.endswith("'"), response_type  # a static value
            assert error["details"] == {"retry_after": int(retry_after.strip("'"))}, response_type
        else:
            assert "Retry-After" not in headers, response_type
            assert "details" not in error, response_type


# --- the stage policy files and config.json -------------------------------------------------------


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_the_stage_policy_file_is_least_privilege(stage):
    text, policy = policy_file(stage)
    for other in ALL_STAGES:
        if other != stage:
            assert f"okpay-{other}-" not in text, f"policy-{stage}.json mentions the {other} stage"
    actions = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        statement_actions = set(as_list(statement["Action"]))
        actions |= statement_actions
        resources = as_list(statement.get("Resource", []))
        assert "*" not in resources, statement
        if any(action.startswith("dynamodb:") for action in statement_actions):
            assert resources == [
                f"arn:aws:dynamodb:*:*:table/okpay-{stage}-*",
                f"arn:aws:dynamodb:*:*:table/okpay-{stage}-*/index/*",
            ]
        if any(action.startswith("logs:") for action in statement_actions):
            assert resources == [f"arn:aws:logs:*:*:log-group:/aws/lambda/okpay-{stage}-*:*"]
        if statement_actions & {"ses:SendEmail", "ses:SendRawEmail"}:
            sender = chalice_config()["stages"][stage]["environment_variables"]["OKPAY_SES_SENDER"]
            assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": sender}}
        if "sns:Publish" in statement_actions:
            # SMS to a phone number has no ARN; NotResource leaves every topic and endpoint out.
            assert statement_actions == {"sns:Publish"}
            assert "Resource" not in statement
            assert statement["NotResource"] == "arn:aws:sns:*:*:*"
    assert actions <= POLICY_FILE_ACTIONS, actions - POLICY_FILE_ACTIONS
    assert not any(action.endswith("*") for action in actions)


def test_each_role_carries_its_stage_policy_file(packaged):
    stage, template = packaged
    _, policy = policy_file(stage)
    for logical, role in of_type(template, "AWS::IAM::Role").items():
        (inline,) = role["Properties"]["Policies"]
        assert inline["PolicyDocument"] == policy, logical


def test_config_json_names_each_stage_tables_and_policy():
    config = chalice_config()
    assert config["autogen_policy"] is False
    for stage in ALL_STAGES:
        stage_config = config["stages"][stage]
        assert stage_config["environment_variables"]["OKPAY_TABLE_PREFIX"] == f"okpay-{stage}-", stage
        assert stage_config["environment_variables"]["OKPAY_STAGE"] == stage, stage
    for stage in DEPLOYED_STAGES:
        stage_config = config["stages"][stage]
        assert stage_config["iam_policy_file"] == f"policy-{stage}.json", stage
        # The template's resources are the only source of these in a deployed stage.
        for name in RESOURCE_ENVIRONMENT:
            assert name not in stage_config["environment_variables"], (stage, name)
        assert not set(RESOURCE_ENVIRONMENT) & set(config.get("environment_variables", {}))


# --- the Lambda zip -------------------------------------------------------------------------------

# Dev-only code and tools: never imported by what Lambda runs (app.py, chalicelib/).
DEV_ONLY = {"localstage", "tests", "tools", "moto", "pytest", "hypothesis", "schemathesis", "yaml"}
# Modules of phonenumbers and python-stdnum whose data tools/package.py leaves out or keeps.
PHONENUMBERS_WITHOUT_DATA = {"phonenumbers.geocoder", "phonenumbers.carrier", "phonenumbers.timezone"}
STDNUM_MODULES_CHECKED = {"stdnum", "stdnum.exceptions", "stdnum.luhn", "stdnum.cn", "stdnum.cn.ric"}


def _deployed_sources(read: dict[str, str]) -> dict[str, ast.Module]:
    """path -> syntax tree of app.py and every chalicelib module in `read` (path -> source)."""
    return {
        path: ast.parse(source, path)
        for path, source in read.items()
        if path == "app.py" or (path.startswith("chalicelib/") and path.endswith(".py"))
    }


def _work_tree_sources() -> dict[str, ast.Module]:
    files = [PROJECT_DIR / "app.py", *sorted((PROJECT_DIR / "chalicelib").rglob("*.py"))]
    return _deployed_sources({str(f.relative_to(PROJECT_DIR)): f.read_text(encoding="utf-8") for f in files})


def _imports(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(modules imported, `a.b` of each `from a import b`: a module or a name in `a`), anywhere in the
    module (functions included, `if TYPE_CHECKING:` blocks not)."""
    modules: set[str] = set()
    from_names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
            modules.add(node.module)
            from_names.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return modules, from_names


def _imported_modules(tree: ast.Module) -> set[str]:
    modules, from_names = _imports(tree)
    return modules | from_names


def _zip(packages: dict[str, Path], stage: str) -> Path:
    return packages[stage].parent / "deployment.zip"


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_the_lambda_zip_is_at_most_15_mb_and_holds_only_the_app_and_its_requirements(packages, stage):
    path = _zip(packages, stage)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    top_level = {name.split("/", 1)[0] for name in names}
    assert path.stat().st_size <= MAX_ZIP_BYTES, f"{path.stat().st_size / 1e6:.1f} MB (docs/deploy.md)"
    assert {"app.py", "chalicelib", "chalice"} <= top_level
    assert not top_level & {"localstage", "tests", "tools", "infra", "docs", "build"}, top_level
    assert not [name for name in names if name.startswith("chalicelib/localstage/") or "__pycache__/" in name]


def test_the_deployed_code_imports_no_dev_only_package():
    for path, tree in _work_tree_sources().items():
        roots = {module.split(".")[0] for module in _imported_modules(tree)}
        assert not roots & DEV_ONLY, (path, roots & DEV_ONLY)


def test_the_deployed_code_uses_only_data_the_zip_keeps():
    """What tools/package.py leaves out is what no code uses; a new use must keep its data there."""
    for path, tree in _work_tree_sources().items():
        modules = _imported_modules(tree)
        assert not modules & PHONENUMBERS_WITHOUT_DATA, path
        stdnum = {module for module in modules if module.split(".")[0] == "stdnum"}
        # A new stdnum module may read a .dat file: keep it in tools/package.py's STDNUM_DATA, then add it here.
        assert stdnum <= STDNUM_MODULES_CHECKED, (path, stdnum - STDNUM_MODULES_CHECKED)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = ast.unparse(node.func.value)
            if owner == "holidays":
                # Only China's calendar has its translations in the zip (HOLIDAY_ENTITIES).
                assert node.func.attr == "country_holidays", (path, ast.unparse(node))
                assert isinstance(node.args[0], ast.Constant) and node.args[0].value in HOLIDAY_ENTITIES, path
            if owner == "aws" and node.func.attr == "client":
                assert isinstance(node.args[0], ast.Constant) and node.args[0].value in SERVICES, path
    assert "stdnum/cn/loc.dat" in STDNUM_DATA


@pytest.fixture(scope="session")
def unpacked(packages: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev stage's Lambda zip, unzipped as Lambda does into /var/task."""
    task = tmp_path_factory.mktemp("lambda-task")
    with zipfile.ZipFile(_zip(packages, "dev")) as archive:
        archive.extractall(task)
    return task


def test_the_app_runs_from_the_lambda_zip_alone(unpacked):
    """Only the unzipped package and the standard library on sys.path (tests/infra/lambda_smoke.py):
    app.py, every module the deployed code imports, two requests and every data file kept."""
    read = {
        str(path.relative_to(unpacked)): path.read_text(encoding="utf-8")
        for path in [unpacked / "app.py", *(unpacked / "chalicelib").rglob("*.py")]
    }
    modules: set[str] = set()
    for tree in _deployed_sources(read).values():
        imported, from_names = _imports(tree)
        modules |= imported
        # `from a import b` imports a module only when the package has one called a.b.
        modules |= {
            name
            for name in from_names
            if (unpacked / f"{name.replace('.', '/')}.py").exists()
            or (unpacked / name.replace(".", "/") / "__init__.py").exists()
        }
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text(encoding="utf-8"))
    env = {
        **config["environment_variables"],
        **config["stages"]["dev"]["environment_variables"],
        "OKPAY_KYC_BUCKET": "okpay-dev-kyc-documents",
        "OKPAY_ALERT_TOPIC_ARN": "arn:aws:sns:ap-southeast-1:123456789012:okpay-dev-alerts",
        "OKPAY_FIELD_KEY_ID": "alias/okpay-dev-fields",
        "OKPAY_JWT_SECRET_ARN": "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:okpay-dev-jwt",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: a stray AWS call fails at once
        "LAMBDA_TASK_ROOT": str(unpacked),
    }
    smoke = Path(__file__).with_name("lambda_smoke.py")
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(smoke), str(unpacked), *sorted(modules)],
        cwd=unpacked,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.strip().endswith("ok")


def test_a_client_for_a_service_whose_model_the_zip_leaves_out_is_refused():
    from chalicelib.adapters import aws

    with pytest.raises(ValueError, match="SERVICES"):
        aws.client("sqs")
