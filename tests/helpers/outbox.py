"""Reading the SMS and email the app sent: the local outbox, security notices, and what moto's SNS/SES recorded."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import outbox

REGION = "ap-southeast-1"


def messages(to: str, channel: str | None = None) -> list[outbox.OutboxMessage]:
    """Messages sent to `to` (E.164 phone or email), newest first."""
    return [m for m in outbox.messages(to) if channel is None or m.channel == channel]


def notices(to: str) -> list[outbox.OutboxMessage]:
    """Security notices sent to `to` (email or phone), newest first."""
    return [
        m
        for m in outbox.messages(to)
        if (m.channel == "email" and (m.subject or "").startswith(("Okpay security notice", "Okpay 安全提醒")))
        or (m.channel == "sms" and "[Okpay] Your code" not in m.body and "验证码" not in m.body)
    ]


def notice_texts(to: str) -> str:
    return "\n".join(f"{m.subject or ''} {m.body}" for m in notices(to))


def moto_sms(phone: str) -> list[str]:
    """Bodies of the SMS moto's SNS recorded for `phone` (in sending order)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return [body for number, body in sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values() if number == phone]


def moto_emails(address: str) -> list[Any]:
    """The emails moto's SES recorded for `address` (in sending order): .subject, .body."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [
        message
        for message in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
        if address in message.destinations.get("ToAddresses", [])
    ]
