"""Create the stage's tables, KYC bucket and alert topic on moto from infra/resources.yaml.

The template is the one definition of every table; this reads its key schemas, indexes and TTL
settings, so the local stage and the tests can never drift from what is deployed.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[1] / "infra" / "resources.yaml"


@lru_cache(maxsize=1)
def load_template() -> dict[str, Any]:
    import yaml

    class CfnLoader(yaml.SafeLoader):
        pass

    def intrinsic(loader: yaml.Loader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
        name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    CfnLoader.add_multi_constructor("!", intrinsic)
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506 (a SafeLoader)


def table_definitions() -> dict[str, dict[str, Any]]:
    """Logical table name ('users') -> its CloudFormation properties."""
    tables = {}
    for resource in load_template()["Resources"].values():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        properties = resource["Properties"]
        # TableName is !Sub okpay-${Stage}-<table>
        logical = properties["TableName"]["Fn::Sub"].split("${Stage}-", 1)[1]
        tables[logical] = properties
    return tables


def create_tables(dynamodb: Any, prefix: str) -> list[str]:
    """Create every table (missing ones only) with `prefix`; returns the names created."""
    existing = set(dynamodb.list_tables()["TableNames"])
    created = []
    for logical, properties in table_definitions().items():
        name = f"{prefix}{logical}"
        if name in existing:
            continue
        request: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "KeySchema": properties["KeySchema"],
        }
        if properties.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        dynamodb.create_table(**request)
        ttl = properties.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        created.append(name)
    return created


def bucket_location(region: str) -> dict[str, Any]:
    """CreateBucket's location for `region`: us-east-1 is S3's default and must not be named
    (S3 refuses `LocationConstraint: us-east-1`); every other region must be."""
    if region == "us-east-1":
        return {}
    return {"CreateBucketConfiguration": {"LocationConstraint": region}}


def create_stage_resources(session: Any, settings: Any) -> None:
    """Tables, the private KYC and support-mail buckets, the alert topic and a verified SES sender for `settings`, in
    its region (whatever region the shell has: the local stage runs in any)."""
    region = settings.region
    create_tables(session.client("dynamodb", region_name=region), settings.table_prefix)
    s3 = session.client("s3", region_name=region)
    for bucket in (settings.kyc_bucket, settings.mail_bucket):
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=bucket, **bucket_location(region))
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    if settings.alert_topic_arn:
        session.client("sns", region_name=region).create_topic(Name=settings.alert_topic_arn.rsplit(":", 1)[1])
    session.client("ses", region_name=region).verify_email_identity(EmailAddress=settings.ses_sender)
