"""The local stage starts in whatever region the shell has (issue 10, item 11).

S3 refuses `CreateBucket` with `LocationConstraint: us-east-1` (that region is the default and must
not be named), which made `make run` crash with `AWS_DEFAULT_REGION=us-east-1`; and the alert topic
must be made, and published to, where the app looks for it.
"""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters import notify
from chalicelib.adapters.config import get_settings
from localstage.resources import bucket_location, create_stage_resources, table_definitions

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-1"]


@pytest.fixture(params=REGIONS)
def region(request, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", request.param)
    with mock_aws():
        yield request.param


def test_the_stage_resources_are_created_in_the_shells_region(region):
    settings = get_settings()
    assert settings.region == region
    create_stage_resources(boto3.session.Session(), settings)
    create_stage_resources(boto3.session.Session(), settings)  # twice, as a restart against the same moto does

    s3 = boto3.client("s3", region_name=region)
    location = s3.get_bucket_location(Bucket=settings.kyc_bucket)["LocationConstraint"]
    assert location == (None if region == "us-east-1" else region)
    assert all(s3.get_public_access_block(Bucket=settings.kyc_bucket)["PublicAccessBlockConfiguration"].values())

    tables = boto3.client("dynamodb", region_name=region).list_tables()["TableNames"]
    assert {f"okpay-local-{table}" for table in table_definitions()} <= set(tables)
    sender = boto3.client("ses", region_name=region).list_verified_email_addresses()["VerifiedEmailAddresses"]
    assert settings.ses_sender in sender


def test_the_alert_topic_is_where_the_app_publishes(region):
    settings = get_settings()
    assert settings.alert_topic_arn.split(":")[3] == region
    create_stage_resources(boto3.session.Session(), settings)
    topics = [topic["TopicArn"] for topic in boto3.client("sns", region_name=region).list_topics()["Topics"]]
    assert topics == [settings.alert_topic_arn]
    notify.alert_operators("region check", "the topic is found")  # raises NotFound when it is not


def test_seeding_works_in_any_region(region):
    from localstage.seed import seed

    create_stage_resources(boto3.session.Session(), get_settings())
    assert seed()


def test_only_us_east_1_leaves_the_location_out():
    assert bucket_location("us-east-1") == {}
    assert bucket_location("eu-west-1") == {"CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}


def test_deployed_stages_keep_the_topic_arn_their_stack_gives(monkeypatch):
    arn = "arn:aws:sns:ap-southeast-1:111122223333:okpay-prod-alerts"
    monkeypatch.setenv("OKPAY_STAGE", "prod")
    monkeypatch.setenv("OKPAY_ALERT_TOPIC_ARN", arn)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert get_settings().alert_topic_arn == arn
