"""Short phrases that fill templates: what a code is for, what a security event was."""

from __future__ import annotations

# purpose -> (en, zh-CN); reads after "to …" / "用于…"
PURPOSES: dict[str, tuple[str, str]] = {
    "register": ("sign up", "注册账户"),
    "reset": ("reset your password", "重置密码"),
    "mfa": ("sign in", "登录验证"),
    "verify_email": ("verify your email", "验证邮箱"),
    "verify_phone": ("verify your phone number", "验证手机号"),
    "change_email": ("confirm your new email", "确认新邮箱"),
    "change_phone": ("confirm your new phone number", "确认新手机号"),
}

# event -> ((en title, en detail), (zh title, zh detail))
EVENTS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "reauth_revoked": (
        (
            "A sign-in was ended after 5 wrong passwords or codes",
            "Someone signed in to your account on {device} entered a wrong password or code 5 times, "
            "so that sign-in was ended. Your own sign-in still works.",
        ),
        (
            "连续 5 次密码或验证码错误，相关登录已退出",
            "在 {device} 上登录您账户的人连续 5 次输入错误的密码或验证码，该登录已被强制退出。您本人仍可正常登录。",
        ),
    ),
    "new_device": (
        ("New sign-in on {device}", "Your account was signed in to from a device not seen before."),
        ("新设备登录：{device}", "您的账户在一台新设备上登录。"),
    ),
    "password_changed": (
        ("Your password was changed", "All other sign-ins were ended."),
        ("您的密码已修改", "其他设备上的登录已全部退出。"),
    ),
    "password_reset": (
        ("Your password was reset", "Every device was signed out."),
        ("您的密码已重置", "所有设备上的登录已全部退出。"),
    ),
    "mfa_changed": (
        ("Your sign-in verification settings changed", "{detail}"),
        ("您的登录验证设置已更改", "{detail}"),
    ),
    "contact_change_requested": (
        ("A change of your {channel} was requested", "The new {channel} must be confirmed with a code first."),
        ("有人申请更换您的{channel}", "新的{channel}须先通过验证码确认。"),
    ),
    "contact_changed": (
        ("Your {channel} was changed", "Sign-in and notices now use the new {channel}."),
        ("您的{channel}已更换", "登录和通知将使用新的{channel}。"),
    ),
    "account_closed": (
        ("Your Okpay account was closed", "Records are kept as the law requires."),
        ("您的 Okpay 账户已注销", "相关记录将按法律要求保存。"),
    ),
    "funding_source_changed": (
        ("Your bank cards changed", "{detail}"),
        ("您的银行卡信息已变更", "{detail}"),
    ),
}

CHANNELS = {"email": ("email address", "邮箱"), "phone": ("phone number", "手机号")}

MFA_DETAILS = {
    "totp_on": ("An authenticator app is now required at sign-in.", "登录时需要验证器动态码。"),
    "totp_off": ("The authenticator app was turned off.", "验证器已关闭。"),
    "recovery_codes": (
        "New recovery codes were created; the old ones no longer work.",
        "已生成新的恢复码，旧恢复码失效。",
    ),
    "sms_on": ("SMS codes are now used at sign-in.", "登录时将使用短信验证码。"),
    "sms_off": ("SMS codes at sign-in were turned off.", "登录短信验证码已关闭。"),
    "email_on": ("Email codes are now used at sign-in.", "登录时将使用邮箱验证码。"),
    "email_off": ("Email codes at sign-in were turned off.", "登录邮箱验证码已关闭。"),
}


def pick(pair: tuple[str, str], locale: str) -> str:
    return pair[1] if locale == "zh-CN" else pair[0]


DOCUMENT_KINDS = {
    "id_front": ("front of the ID", "证件正面"),
    "id_back": ("back of the ID", "证件反面"),
    "proof_of_address": ("proof of address", "住址证明"),
    "selfie": ("a selfie holding the ID", "手持证件照"),
}

# A debit above the notice threshold (chalicelib.services.debits): what left the wallet, and how.
EVENTS["large_debit"] = (
    ("{amount} left your Okpay wallet", "{what}. We tell you about every debit above {threshold}."),
    ("您的 Okpay 账户支出 {amount}", "{what}。单笔支出超过 {threshold} 时我们都会通知您。"),
)

# debit kind -> (en, zh-CN); `{counterparty}` names the merchant, card or target currency
# What a ledger entry says to the user who owns it (history, statements), in the user's language.
ENTRY_TEXTS: dict[str, tuple[str, str]] = {
    "topup": ("Top-up from {bank} ending {last4}", "银行卡充值（{bank} 尾号 {last4}）"),
    "payment": ("Payment to {name}", "向{name}付款"),
    "withdrawal": ("Withdrawal to {bank} ending {last4}", "提现至银行卡（{bank} 尾号 {last4}）"),
    "withdrawal_returned": (
        "Withdrawal returned: the bank declined the card ending {last4}",
        "提现退回：银行拒绝了尾号 {last4} 的银行卡",
    ),
    "conversion": ("Currency conversion {source} → {target}", "货币兑换 {source} → {target}"),
    "dispute_refund": ("Refund for appeal {dispute_id}", "申诉退款（{dispute_id}）"),
}

CARD_CHANGES: dict[str, tuple[str, str]] = {
    "added": ("The card ending {last4} was added.", "尾号 {last4} 的银行卡已添加。"),
    "removed": ("The card ending {last4} was removed.", "尾号 {last4} 的银行卡已移除。"),
}

LIST_SEPARATOR = (", ", "、")


def phrase(table: dict[str, tuple[str, str]], key: str, locale: str | None, **values: object) -> str:
    """`table[key]` in the locale's language, filled in."""
    return pick(table[key], locale or "en").format(**values)


DEBIT_KINDS: dict[str, tuple[str, str]] = {
    "payment": ("A payment to {counterparty}", "向{counterparty}付款"),
    "withdrawal": ("A withdrawal to the card ending {counterparty}", "提现至尾号 {counterparty} 的银行卡"),
    "conversion": ("A conversion to {counterparty}", "兑换为 {counterparty}"),
    "transfer": ("A transfer to {counterparty}", "向 {counterparty} 转账"),
}
