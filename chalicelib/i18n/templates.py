"""Email and SMS texts, zh-CN and en. `{name}` fields are filled by `render`.

SMS bodies stay short (one 70-character Chinese segment where possible) and always name Okpay,
as mainland carriers require a signature.
"""

from __future__ import annotations

from typing import Any

# template -> locale -> (subject or None for SMS, body)
TEMPLATES: dict[str, dict[str, tuple[str | None, str]]] = {
    "verification_code_sms": {
        "zh-CN": (None, "【Okpay】验证码 {code}，{minutes} 分钟内有效，用于{purpose}。请勿告诉任何人。"),
        "en": (None, "[Okpay] Your code is {code}, valid for {minutes} min, to {purpose}. Never share it."),
    },
    "verification_code_email": {
        "zh-CN": (
            "Okpay 验证码",
            "您好，\n\n您的验证码是 {code}，{minutes} 分钟内有效，用于{purpose}。\n"
            "如非本人操作，请忽略本邮件并联系客服。\n\nOkpay",
        ),
        "en": (
            "Your Okpay code",
            "Hello,\n\nYour code is {code}. It is valid for {minutes} minutes, to {purpose}.\n"
            "If this was not you, ignore this email and contact support.\n\nOkpay",
        ),
    },
    "ops_alert": {
        "zh-CN": ("Okpay 运维告警：{title}", "{detail}"),
        "en": ("Okpay alert: {title}", "{detail}"),
    },
}


def render(template: str, locale: str, **params: Any) -> tuple[str | None, str]:
    texts = TEMPLATES[template]
    subject, body = texts.get(locale) or texts["en"]
    return (subject.format(**params) if subject else None), body.format(**params)
