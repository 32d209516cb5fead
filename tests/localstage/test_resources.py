"""The local stage's AWS resources are built from infra/resources.yaml, the one definition."""

from __future__ import annotations

import boto3

from chalicelib.store.base import BaseModel
from localstage.resources import create_tables, load_template, table_definitions


def all_models():
    found, pending = [], list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return found


def test_every_table_in_the_template_is_created_with_its_keys_indexes_and_ttl(stage):
    dynamodb = boto3.client("dynamodb")
    for logical, properties in table_definitions().items():
        name = f"okpay-local-{logical}"
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == properties["KeySchema"], logical
        indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
        assert indexes == {index["IndexName"] for index in properties.get("GlobalSecondaryIndexes", [])}, logical
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if "TimeToLiveSpecification" in properties:
            assert ttl["AttributeName"] == properties["TimeToLiveSpecification"]["AttributeName"], logical


def test_creating_again_changes_nothing(stage):
    assert create_tables(boto3.client("dynamodb"), "okpay-local-") == []


def test_every_model_has_a_table_with_the_same_keys():
    import chalicelib.store.catalog
    import chalicelib.store.users  # noqa: F401

    definitions = table_definitions()
    for model in all_models():
        properties = definitions[model.Meta.table]
        keys = {entry["AttributeName"]: entry["KeyType"] for entry in properties["KeySchema"]}
        assert keys.get(model._hash_keyname) == "HASH", model
        if model._range_keyname:
            assert keys.get(model._range_keyname) == "RANGE", model


def test_the_kyc_bucket_is_private_and_the_sender_verified(stage):
    s3 = boto3.client("s3")
    block = s3.get_public_access_block(Bucket=stage.kyc_bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert stage.ses_sender in boto3.client("ses").list_verified_email_addresses()["VerifiedEmailAddresses"]
    topics = [topic["TopicArn"] for topic in boto3.client("sns").list_topics()["Topics"]]
    assert stage.alert_topic_arn in topics


def test_the_template_parses_intrinsics():
    tables = load_template()["Resources"]["UsersTable"]["Properties"]
    assert tables["TableName"] == {"Fn::Sub": "okpay-${Stage}-users"}
