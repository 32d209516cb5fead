"""moto under the local stage's isolation: a refused transaction leaves every item as it was."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

TABLE = "okpay-local-counters"


@pytest.fixture
def dynamodb(stage):
    return boto3.client("dynamodb", region_name="ap-southeast-1")


def item(dynamodb, key: str):
    return dynamodb.get_item(TableName=TABLE, Key={"counter_id": {"S": key}}, ConsistentRead=True).get("Item")


def test_a_refused_transaction_puts_back_what_its_earlier_items_wrote(dynamodb):
    dynamodb.put_item(TableName=TABLE, Item={"counter_id": {"S": "kept"}, "n": {"N": "1"}})
    dynamodb.put_item(TableName=TABLE, Item={"counter_id": {"S": "updated"}, "n": {"N": "1"}})
    dynamodb.put_item(TableName=TABLE, Item={"counter_id": {"S": "deleted"}, "n": {"N": "7"}})
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"counter_id": {"S": "created"}, "n": {"N": "1"}}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"counter_id": {"S": "updated"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Delete": {"TableName": TABLE, "Key": {"counter_id": {"S": "deleted"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"counter_id": {"S": "kept"}},
                        "ConditionExpression": "attribute_not_exists(counter_id)",
                    }
                },
            ]
        )
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert item(dynamodb, "created") is None
    assert item(dynamodb, "updated")["n"] == {"N": "1"}
    assert item(dynamodb, "deleted")["n"] == {"N": "7"}
    assert item(dynamodb, "kept")["n"] == {"N": "1"}


def test_a_transaction_that_passes_writes_everything(dynamodb):
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"counter_id": {"S": "a"}, "n": {"N": "1"}}}},
            {"Put": {"TableName": TABLE, "Item": {"counter_id": {"S": "b"}, "n": {"N": "2"}}}},
        ]
    )
    assert item(dynamodb, "a")["n"] == {"N": "1"} and item(dynamodb, "b")["n"] == {"N": "2"}


def test_writes_outside_the_transaction_survive_its_rollback(dynamodb):
    # moto's own rollback restored whole tables, wiping other writes; only the transaction's items go back.
    dynamodb.put_item(TableName=TABLE, Item={"counter_id": {"S": "other"}, "n": {"N": "5"}})
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"counter_id": {"S": "mine"}, "n": {"N": "1"}}}},
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {"counter_id": {"S": "other"}, "n": {"N": "9"}},
                        "ConditionExpression": "attribute_not_exists(counter_id)",
                    }
                },
            ]
        )
    assert item(dynamodb, "other")["n"] == {"N": "5"}
    assert item(dynamodb, "mine") is None
