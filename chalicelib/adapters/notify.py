"""Email (SES) and SMS (SNS, Transactional) in the recipient's language.

In the local stage every message is also copied to the outbox before the call returns, so a
client can read a code from `GET /_local/outbox` as soon as its request has been answered.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import aws, clock, outbox
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.logging import logger
from chalicelib.adapters.phone_numbers import country_code, mask_phone
from chalicelib.i18n.templates import render

SMS_TYPE = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}


def send_email(to: str, template: str, locale: str, *, reply_to: str | None = None, **params: Any) -> str:
    """Send; SES's MessageId (SES rewrites the Message-ID header to `<{MessageId}@{region}.amazonses.com>`)."""
    subject, body = render(template, locale, **params)
    settings = get_settings()
    extra = {"ReplyToAddresses": [reply_to]} if reply_to else {}
    sent = aws.client("ses").send_email(
        Source=settings.ses_sender,
        Destination={"ToAddresses": [to]},
        Message={
            "Subject": {"Data": subject or "Okpay", "Charset": "UTF-8"},
            "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
        },
        **extra,
    )
    logger.info("email sent", extra={"template": template, "locale": locale})
    if settings.is_local:
        outbox.record(
            outbox.OutboxMessage("email", to, subject or "Okpay", body, clock.isoformat(clock.now()), reply_to)
        )
    return sent.get("MessageId", "")


def can_text(phone: str) -> bool:
    """Whether we text this E.164 number: its country calling code is one of `OKPAY_SMS_COUNTRY_CODES`
    (+86, +852, +853, +886 and any other configured codes)."""
    return country_code(phone) in get_settings().sms_country_codes


def send_sms(phone: str, template: str, locale: str, **params: Any) -> bool:
    """Text an E.164 number; False (and nothing sent) when its country is not one we text."""
    settings = get_settings()
    if not can_text(phone):
        logger.warning("sms not sent: country not enabled", extra={"to": mask_phone(phone), "template": template})
        return False
    _, body = render(template, locale, **params)
    aws.client("sns").publish(PhoneNumber=phone, Message=body, MessageAttributes=SMS_TYPE)
    logger.info("sms sent", extra={"template": template, "locale": locale, "to": mask_phone(phone)})
    if settings.is_local:
        outbox.record(outbox.OutboxMessage("sms", phone, None, body, clock.isoformat(clock.now())))
    return True


def alert_operators(title: str, detail: str) -> None:
    """Publish to the alert topic the support lead and on-call subscribe to."""
    topic = get_settings().alert_topic_arn
    subject, body = render("ops_alert", "en", title=title, detail=detail)
    logger.warning("operator alert", extra={"title": title})
    if topic:
        aws.client("sns").publish(TopicArn=topic, Subject=(subject or title)[:100], Message=body)
