"""Email through SES and SMS through SNS (Transactional), as moto records them."""

from __future__ import annotations

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from chalicelib.adapters import aws, notify, outbox
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.phone_numbers import mask_phone
from chalicelib.errors import OkpayError
from chalicelib.services.common.phones import normalize_phone

REGION = "ap-southeast-1"


def sent_emails():
    return ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages


def sent_sms():
    return sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages


def test_email_goes_through_ses_in_the_recipients_language(stage):
    notify.send_email(
        "wang.fang@example.com", "verification_code_email", "zh-CN", code="123456", minutes=15, purpose="重置密码"
    )
    (message,) = sent_emails()
    assert message.source == get_settings().ses_sender
    assert message.destinations["ToAddresses"] == ["wang.fang@example.com"]
    assert message.subject == "Okpay 验证码"
    assert "123456" in message.body and "15 分钟" in message.body


def test_sms_is_transactional_and_in_the_recipients_language(stage):
    sent_params = []
    sns = aws.client("sns")
    sns.meta.events.register("provide-client-params.sns.Publish", lambda params, **_: sent_params.append(params))
    try:
        assert notify.send_sms("+8613800138000", "verification_code_sms", "en", code="654321", minutes=5, purpose="x")
    finally:
        sns.meta.events.unregister("provide-client-params.sns.Publish")
    ((number, body),) = sent_sms().values()
    assert number == "+8613800138000"
    assert "654321" in body and body.startswith("[Okpay]")
    attributes = sent_params[0]["MessageAttributes"]
    assert attributes["AWS.SNS.SMS.SMSType"] == {"DataType": "String", "StringValue": "Transactional"}


def test_no_sms_to_countries_not_enabled(stage):
    assert notify.can_text("+85261234567") and not notify.can_text("+14155550123")
    assert notify.send_sms("+14155550123", "verification_code_sms", "en", code="1", minutes=5, purpose="x") is False
    assert len(sent_sms()) == 0
    assert outbox.messages() == []


def test_the_local_stage_keeps_a_copy_of_each_message(stage):
    notify.send_sms("+85261234567", "verification_code_sms", "zh-CN", code="777777", minutes=5, purpose="登录")
    (copy,) = outbox.messages("+85261234567")
    assert copy.channel == "sms" and "777777" in copy.body and "【Okpay】" in copy.body


def test_operator_alerts_go_to_the_alert_topic(stage):
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    notify.alert_operators("reconcile mismatch", "CNY does not sum to zero")
    topic = backend.topics[get_settings().alert_topic_arn]
    assert topic.sent_notifications[-1][1].startswith("CNY does not sum")


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("+852 6123 4567", "+85261234567"),
        ("+853 6612 3456", "+85366123456"),
        ("+886 912 345 678", "+886912345678"),
    ],
)
def test_phone_numbers_are_normalized_to_e164(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12345", "not a phone", "+86 000", "", "+999 1234567"])
def test_invalid_phone_numbers_are_a_validation_error(raw):
    with pytest.raises(OkpayError) as caught:
        normalize_phone(raw, field="recipient.phone")
    assert (caught.value.code, caught.value.field, caught.value.reason) == (
        "validation_error",
        "recipient.phone",
        "phone",
    )


def test_masked_phone_keeps_only_the_ends():
    assert mask_phone("+8613812345678") == "+86 138****5678"
