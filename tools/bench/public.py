"""Operations anyone can call: health, support contact, merchants, FX rates, the OpenAPI document,
and the reconcile job on the local route."""

from __future__ import annotations

from typing import Any

from tools.bench.harness import Bench, Operation

OPERATIONS: list[Operation] = []


def _query_merchants(bench: Bench) -> Any:
    return bench.client("dynamodb").query(
        TableName=bench.table("catalog"),
        KeyConditionExpression="#kind = :kind",
        ExpressionAttributeNames={"#kind": "kind"},
        ExpressionAttributeValues={":kind": {"S": "merchant"}},
    )


def _get_latest_rates(bench: Bench) -> Any:
    return bench.client("dynamodb").get_item(
        TableName=bench.table("catalog"), Key={"kind": {"S": "fx_rates"}, "item_id": {"S": "latest"}}
    )


OPERATIONS.append(Operation("GET /health"))
OPERATIONS.append(Operation("GET /support/contact"))
OPERATIONS.append(
    Operation(
        "GET /merchants",
        bare=_query_merchants,
        bare_label="1 Query catalog/merchant",
        calls={"dynamodb.Query": 1},
        headers={"Accept-Language": "zh-CN"},
    )
)
OPERATIONS.append(
    Operation("GET /fx/rates", bare=_get_latest_rates, bare_label="1 GetItem catalog", calls={"dynamodb.GetItem": 1})
)
OPERATIONS.append(Operation("GET /openapi.json"))
OPERATIONS.append(Operation("POST /_local/jobs/reconcile", body={}, check_calls=False))
