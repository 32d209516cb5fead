"""Email and SMS texts, zh-CN and en: `{locale: (subject, body)}` (the subject None for SMS), chosen by
chalicelib.i18n.locale.pick. `{name}` fields are filled by `render`.

SMS bodies stay short (one 70-character Chinese segment where possible) and always name Okpay,
as mainland carriers require a signature.
"""

from __future__ import annotations

from typing import Any

from chalicelib.i18n.chat_texts import CHAT_TEMPLATES
from chalicelib.i18n.email_support_texts import EMAIL_SUPPORT_TEMPLATES
from chalicelib.i18n.locale import Texts, pick
from chalicelib.i18n.support_templates import SUPPORT_TEMPLATES

# template -> locale -> (subject or None for SMS, body)
TEMPLATES: dict[str, Texts[tuple[str | None, str]]] = {
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
    "register_existing_sms": {
        "zh-CN": (
            None,
            "【Okpay】有人尝试用本手机号注册 Okpay，但该号码已有账户。如非本人操作请忽略；忘记密码可在登录页找回。",
        ),
        "en": (
            None,
            "[Okpay] Someone tried to sign up with this number, which already has an Okpay account. "
            "If it was not you, ignore this. Forgot your password? Reset it from the sign-in screen.",
        ),
    },
    "security_notice_sms": {
        "zh-CN": (None, "【Okpay】{event}（{when}）。如非本人操作，请立即修改密码并联系客服 {support}。"),
        "en": (None, "[Okpay] {event} ({when}). If this was not you, change your password now and call {support}."),
    },
    "security_notice_email": {
        "zh-CN": (
            "Okpay 安全提醒：{event}",
            "您好，\n\n{event}（{when}，北京时间）。{detail}\n\n"
            "如非本人操作，请立即修改密码，并联系客服 {support}。\n\nOkpay",
        ),
        "en": (
            "Okpay security notice: {event}",
            "Hello,\n\n{event} ({when}, Beijing time). {detail}\n\n"
            "If this was not you, change your password now and contact support at {support}.\n\nOkpay",
        ),
    },
    # A security notice a user may not have caused: its "this wasn't me" line freezes the account
    # (a single-use link, 7 days; contract v1.2, section 11). Email only: an SMS never carries it.
    "security_notice_email_not_me": {
        "zh-CN": (
            "Okpay 安全提醒：{event}",
            "您好，\n\n{event}（{when}，北京时间）。{detail}\n\n"
            "不是我本人操作？请立即冻结账户（所有登录将退出，资金无法转出）：\n{link}\n"
            "该链接 7 天内有效，仅可使用一次。然后请联系客服 {support}。\n\nOkpay",
        ),
        "en": (
            "Okpay security notice: {event}",
            "Hello,\n\n{event} ({when}, Beijing time). {detail}\n\n"
            "This wasn't me: freeze my account now (every sign-in ends, no money can leave):\n{link}\n"
            "The link works once, for 7 days. Then contact support at {support}.\n\nOkpay",
        ),
    },
    "password_age_email": {
        "zh-CN": (
            "Okpay 提醒：建议更新密码",
            "您好，\n\n您的 Okpay 密码已使用超过 {days} 天。为了账户安全，建议您在 App 中更新密码。"
            "这只是提醒，不会影响您登录。\n\nOkpay",
        ),
        "en": (
            "Okpay: consider updating your password",
            "Hello,\n\nYour Okpay password is more than {days} days old. We suggest changing it in the app. "
            "This is only a reminder; signing in is not affected.\n\nOkpay",
        ),
    },
    "password_age_sms": {
        "zh-CN": (None, "【Okpay】您的密码已使用超过 {days} 天，建议在 App 中更新。仅为提醒，不影响登录。"),
        "en": (
            None,
            "[Okpay] Your password is over {days} days old; consider changing it in the app. Sign-in is not affected.",
        ),
    },
    "kyc_approve_email": {
        "zh-CN": ("Okpay 实名认证已通过", "您好，\n\n您的实名认证已通过，账户等级为 {level} 级。\n\nOkpay"),
        "en": (
            "Okpay: your identity is verified",
            "Hello,\n\nYour identity is verified. Your account is now level {level}.\n\nOkpay",
        ),
    },
    "kyc_approve_sms": {
        "zh-CN": (None, "【Okpay】您的实名认证已通过，账户等级：{level} 级。"),
        "en": (None, "[Okpay] Your identity is verified. Account level: {level}."),
    },
    "kyc_reject_email": {
        "zh-CN": (
            "Okpay 实名认证未通过",
            "您好，\n\n您的实名认证未通过，原因：{reason}\n您可以在 App 中修改后重新提交。\n\nOkpay",
        ),
        "en": (
            "Okpay: identity verification not approved",
            "Hello,\n\nYour identity verification was not approved. Reason: {reason}\n"
            "You can correct it and submit again in the app.\n\nOkpay",
        ),
    },
    "kyc_reject_sms": {
        "zh-CN": (None, "【Okpay】您的实名认证未通过：{reason}。可在 App 中重新提交。"),
        "en": (None, "[Okpay] Identity verification not approved: {reason}. You can submit again in the app."),
    },
    "kyc_request_documents_email": {
        "zh-CN": (
            "Okpay 实名认证需补充材料",
            "您好，\n\n请在 App 中补充以下材料：{documents}。\n说明：{reason}\n\nOkpay",
        ),
        "en": (
            "Okpay: more documents needed",
            "Hello,\n\nPlease upload in the app: {documents}.\nNote: {reason}\n\nOkpay",
        ),
    },
    "kyc_request_documents_sms": {
        "zh-CN": (None, "【Okpay】实名认证需补充材料：{documents}。请在 App 中上传。"),
        "en": (None, "[Okpay] Identity verification needs: {documents}. Please upload them in the app."),
    },
    "transfer_code_sms": {
        "zh-CN": (
            None,
            "【Okpay】您正在向 {payee} 转账 {amount}，验证码 {code}，{minutes} 分钟内有效。请勿告诉任何人。",
        ),
        "en": (
            None,
            "[Okpay] Code {code} confirms your transfer of {amount} to {payee}. Valid {minutes} min. Never share it.",
        ),
    },
    "ops_alert": {
        "zh-CN": ("Okpay 运维告警：{title}", "{detail}"),
        "en": ("Okpay alert: {title}", "{detail}"),
    },
}


TEMPLATES.update(SUPPORT_TEMPLATES)
TEMPLATES.update(CHAT_TEMPLATES)
TEMPLATES.update(EMAIL_SUPPORT_TEMPLATES)


def render(template: str, locale: str | None, **params: Any) -> tuple[str | None, str]:
    subject, body = pick(TEMPLATES[template], locale)
    return (subject.format(**params) if subject else None), body.format(**params)
