"""Short phrases that fill templates and records: what a code is for, what a security event was,
what a ledger entry or a debit was, support hours.

Every text is `{locale: text}` (chalicelib.i18n.locale.pick chooses one); a table maps an id to such
a text. `{name}` fields are filled by `phrase` (str.format).
"""

from __future__ import annotations

from chalicelib.i18n.locale import Texts, pick

# purpose -> text; reads after "to …" / "用于…"
PURPOSES: dict[str, Texts[str]] = {
    "register": {"en": "sign up", "zh-CN": "注册账户"},
    "reset": {"en": "reset your password", "zh-CN": "重置密码"},
    "mfa": {"en": "sign in", "zh-CN": "登录验证"},
    "verify_email": {"en": "verify your email", "zh-CN": "验证邮箱"},
    "verify_phone": {"en": "verify your phone number", "zh-CN": "验证手机号"},
    "change_email": {"en": "confirm your new email", "zh-CN": "确认新邮箱"},
    "change_phone": {"en": "confirm your new phone number", "zh-CN": "确认新手机号"},
    "freeze": {"en": "freeze your account", "zh-CN": "冻结账户"},
    "unfreeze": {"en": "unfreeze your account", "zh-CN": "解冻账户"},
}

# event -> (title, detail) of a security notice
EVENTS: dict[str, Texts[tuple[str, str]]] = {
    "reauth_revoked": {
        "en": (
            "A sign-in was ended after 5 wrong passwords or codes",
            "Someone signed in to your account on {device} entered a wrong password or code 5 times, "
            "so that sign-in was ended. Your own sign-in still works.",
        ),
        "zh-CN": (
            "连续 5 次密码或验证码错误，相关登录已退出",
            "在 {device} 上登录您账户的人连续 5 次输入错误的密码或验证码，该登录已被强制退出。您本人仍可正常登录。",
        ),
    },
    "new_device": {
        "en": ("New sign-in on {device}", "Your account was signed in to from a device not seen before."),
        "zh-CN": ("新设备登录：{device}", "您的账户在一台新设备上登录。"),
    },
    "password_changed": {
        "en": ("Your password was changed", "All other sign-ins were ended."),
        "zh-CN": ("您的密码已修改", "其他设备上的登录已全部退出。"),
    },
    "password_reset": {
        "en": ("Your password was reset", "Every device was signed out."),
        "zh-CN": ("您的密码已重置", "所有设备上的登录已全部退出。"),
    },
    "mfa_changed": {
        "en": ("Your sign-in verification settings changed", "{detail}"),
        "zh-CN": ("您的登录验证设置已更改", "{detail}"),
    },
    "contact_change_requested": {
        "en": ("A change of your {channel} was requested", "The new {channel} must be confirmed with a code first."),
        "zh-CN": ("有人申请更换您的{channel}", "新的{channel}须先通过验证码确认。"),
    },
    "contact_changed": {
        "en": ("Your {channel} was changed", "Sign-in and notices now use the new {channel}."),
        "zh-CN": ("您的{channel}已更换", "登录和通知将使用新的{channel}。"),
    },
    "account_closed": {
        "en": ("Your Okpay account was closed", "Records are kept as the law requires."),
        "zh-CN": ("您的 Okpay 账户已注销", "相关记录将按法律要求保存。"),
    },
    "funding_source_changed": {
        "en": ("Your bank cards changed", "{detail}"),
        "zh-CN": ("您的银行卡信息已变更", "{detail}"),
    },
    # A debit above the notice threshold (chalicelib.services.wallet.money_out): what left the wallet, and how.
    "large_debit": {
        "en": ("{amount} left your Okpay wallet", "{what}. We tell you about every debit above {threshold}."),
        "zh-CN": ("您的 Okpay 账户支出 {amount}", "{what}。单笔支出超过 {threshold} 时我们都会通知您。"),
    },
    # Account protection (chalicelib.services.account.freezes): `by` is a FREEZE_ACTORS text.
    "account_frozen": {
        "en": (
            "Your Okpay account was frozen",
            "Frozen by {by}. No money can leave the account until the freeze is lifted; receiving money, "
            "top-ups and support still work. Ticket {ticket_id} lists the debits of the last 72 hours: "
            "dispute any you did not make.",
        ),
        "zh-CN": (
            "您的 Okpay 账户已冻结",
            "冻结操作方：{by}。解冻前资金无法转出；收款、充值和客服不受影响。工单 {ticket_id} 列出了最近 72 小时的"
            "支出，如有非本人交易请发起申诉。",
        ),
    },
    "account_unfrozen": {
        "en": ("Your Okpay account was unfrozen", "Money can leave the account again (lifted by {by})."),
        "zh-CN": ("您的 Okpay 账户已解冻", "账户资金可以正常转出（解冻操作方：{by}）。"),
    },
}

# Who froze or unfroze an account, as notices name them.
FREEZE_ACTORS: dict[str, Texts[str]] = {
    "agent": {"en": "Okpay support", "zh-CN": "Okpay 客服"},
    "user": {"en": "you", "zh-CN": "您本人"},
}

# The security ticket a freeze opens: the debits of the 72 hours before it, one line each.
FREEZE_TICKET: dict[str, Texts[str]] = {
    "subject": {"en": "Account frozen: review of recent debits", "zh-CN": "账户已冻结：核查近期支出"},
    "intro": {
        "en": (
            "The account was frozen at {when} (Beijing time) by {by}. These are the debits of the 72 hours "
            "before the freeze; reply here, or open a dispute naming the transaction, for any you did not make:"
        ),
        "zh-CN": (
            "账户已于 {when}（北京时间）由{by}冻结。以下是冻结前 72 小时内的支出；"
            "如有非本人交易，请在此回复，或针对该交易发起申诉："
        ),
    },
    "line": {
        "en": "- {when}  {amount}  {description}  (transaction {transaction_id})",
        "zh-CN": "- {when}  {amount}  {description}（交易号 {transaction_id}）",
    },
    "none": {"en": "There were no debits in the 72 hours before the freeze.", "zh-CN": "冻结前 72 小时内没有支出。"},
    "more": {"en": "… and more: see the transaction history.", "zh-CN": "……还有更多，请查看交易记录。"},
    "note": {"en": "The user's note: {note}", "zh-CN": "用户补充说明：{note}"},
}

CHANNELS: dict[str, Texts[str]] = {
    "email": {"en": "email address", "zh-CN": "邮箱"},
    "phone": {"en": "phone number", "zh-CN": "手机号"},
}

MFA_DETAILS: dict[str, Texts[str]] = {
    "totp_on": {"en": "An authenticator app is now required at sign-in.", "zh-CN": "登录时需要验证器动态码。"},
    "totp_off": {"en": "The authenticator app was turned off.", "zh-CN": "验证器已关闭。"},
    "recovery_codes": {
        "en": "New recovery codes were created; the old ones no longer work.",
        "zh-CN": "已生成新的恢复码，旧恢复码失效。",
    },
    "sms_on": {"en": "SMS codes are now used at sign-in.", "zh-CN": "登录时将使用短信验证码。"},
    "sms_off": {"en": "SMS codes at sign-in were turned off.", "zh-CN": "登录短信验证码已关闭。"},
    "email_on": {"en": "Email codes are now used at sign-in.", "zh-CN": "登录时将使用邮箱验证码。"},
    "email_off": {"en": "Email codes at sign-in were turned off.", "zh-CN": "登录邮箱验证码已关闭。"},
}


DOCUMENT_KINDS: dict[str, Texts[str]] = {
    "id_front": {"en": "front of the ID", "zh-CN": "证件正面"},
    "id_back": {"en": "back of the ID", "zh-CN": "证件反面"},
    "proof_of_address": {"en": "proof of address", "zh-CN": "住址证明"},
    "selfie": {"en": "a selfie holding the ID", "zh-CN": "手持证件照"},
}


# What a ledger entry says to the user who owns it (history, statements), in the user's language.
ENTRY_TEXTS: dict[str, Texts[str]] = {
    "topup": {"en": "Top-up from {bank} ending {last4}", "zh-CN": "银行卡充值（{bank} 尾号 {last4}）"},
    "payment": {"en": "Payment to {name}", "zh-CN": "向{name}付款"},
    "withdrawal": {"en": "Withdrawal to {bank} ending {last4}", "zh-CN": "提现至银行卡（{bank} 尾号 {last4}）"},
    "withdrawal_returned": {
        "en": "Withdrawal returned: the bank declined the card ending {last4}",
        "zh-CN": "提现退回：银行拒绝了尾号 {last4} 的银行卡",
    },
    "conversion": {"en": "Currency conversion {source} → {target}", "zh-CN": "货币兑换 {source} → {target}"},
    "dispute_refund": {"en": "Refund for appeal {dispute_id}", "zh-CN": "申诉退款（{dispute_id}）"},
    "merchant_refund": {"en": "Refund from {name}", "zh-CN": "{name}退款"},
}

CARD_CHANGES: dict[str, Texts[str]] = {
    "added": {"en": "The card ending {last4} was added.", "zh-CN": "尾号 {last4} 的银行卡已添加。"},
    "removed": {"en": "The card ending {last4} was removed.", "zh-CN": "尾号 {last4} 的银行卡已移除。"},
}

LIST_SEPARATOR: Texts[str] = {"en": ", ", "zh-CN": "、"}


# debit kind -> what left the wallet; `{counterparty}` names the merchant, card, payee or target currency
DEBIT_KINDS: dict[str, Texts[str]] = {
    "payment": {"en": "A payment to {counterparty}", "zh-CN": "向{counterparty}付款"},
    "withdrawal": {
        "en": "A withdrawal to the card ending {counterparty}",
        "zh-CN": "提现至尾号 {counterparty} 的银行卡",
    },
    "conversion": {"en": "A conversion to {counterparty}", "zh-CN": "兑换为 {counterparty}"},
    "transfer": {"en": "A transfer to {counterparty}", "zh-CN": "向 {counterparty} 转账"},
}

# How to reach customer service (chalicelib.services.support.support_contact): the staffed hours, Beijing time.
SUPPORT_HOURS: dict[str, Texts[str]] = {
    "phone": {"en": "Every day 09:00-21:00 (Beijing time)", "zh-CN": "每天 09:00-21:00（北京时间）"},
    "chat": {"en": "Every day 08:00-22:00 (Beijing time)", "zh-CN": "每天 08:00-22:00（北京时间）"},
}


def phrase(table: dict[str, Texts[str]], key: str, locale: str | None, **values: object) -> str:
    """`table[key]` in `locale` (else the default locale), filled in."""
    return pick(table[key], locale).format(**values)


__all__ = [
    "CARD_CHANGES",
    "CHANNELS",
    "DEBIT_KINDS",
    "DOCUMENT_KINDS",
    "ENTRY_TEXTS",
    "EVENTS",
    "FREEZE_ACTORS",
    "FREEZE_TICKET",
    "LIST_SEPARATOR",
    "MFA_DETAILS",
    "PURPOSES",
    "SUPPORT_HOURS",
    "phrase",
    "pick",
]
