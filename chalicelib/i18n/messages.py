"""Error messages per code, in English and Simplified Chinese.

`code` is the stable contract; these texts are for people and may be reworded freely. A reason
(e.g. why a password is weak, what is wrong with a field) picks a more specific text.
"""

from __future__ import annotations

from typing import Any

from chalicelib.i18n.locale import DEFAULT_LOCALE

# code -> (en, zh-CN)
_MESSAGES: dict[str, tuple[str, str]] = {
    "validation_error": ("The request is not valid.", "请求内容不正确。"),
    "weak_password": ("This password is too easy to guess.", "密码太容易被猜到。"),
    "invalid_id_number": ("The ID number is not valid.", "证件号码无效。"),
    "idempotency_key_required": (
        "An Idempotency-Key header (1-255 printable characters) is required.",
        "此请求需要 Idempotency-Key 请求头（1-255 个可打印字符）。",
    ),
    "invalid_cursor": ("The page cursor does not belong to this list.", "分页游标与此列表不匹配。"),
    "unauthorized": ("Please sign in again.", "请重新登录。"),
    "invalid_refresh_token": ("Your sign-in has expired. Please sign in again.", "登录已过期，请重新登录。"),
    "token_reused": (
        "This sign-in was ended for your safety. Please sign in again.",
        "为保障安全，此次登录已失效，请重新登录。",
    ),
    "invalid_credentials": ("The account or password is incorrect.", "账号或密码错误。"),
    "card_declined": ("The bank declined this card.", "银行拒绝了此卡的交易。"),
    "bank_insufficient_funds": ("The bank card has insufficient funds.", "银行卡余额不足。"),
    "forbidden": ("You are not allowed to do this.", "您没有执行此操作的权限。"),
    "kyc_required": (
        "Please complete real-name verification first.",
        "请先完成实名认证。",
    ),
    "step_up_required": (
        "Please confirm with your password or authenticator code.",
        "请输入密码或验证器动态码确认。",
    ),
    "phone_not_verified": ("Please verify your phone number first.", "请先验证手机号码。"),
    "own_case": (
        "Agents cannot handle a case about their own account.",
        "客服人员不能处理与本人账户相关的事项。",
    ),
    "recipient_unavailable": (
        "The recipient's account can no longer receive money. The transfer was canceled.",
        "收款人账户已无法收款，本次转账已取消。",
    ),
    "not_found": ("Not found.", "未找到相关内容。"),
    "recipient_not_found": ("No Okpay user has this phone number or email.", "未找到该手机号或邮箱对应的用户。"),
    "method_not_allowed": ("This method is not allowed here.", "不支持此请求方法。"),
    "email_in_use": ("This email is already used by another account.", "该邮箱已被其他账号使用。"),
    "phone_in_use": ("This phone number is already used by another account.", "该手机号已被其他账号使用。"),
    "totp_already_enabled": ("The authenticator app is already on.", "验证器已开启。"),
    "account_not_empty": (
        "Empty every balance and close open cases before closing the account.",
        "请先清空余额并结清未完成事项，再注销账户。",
    ),
    "identity_in_use": ("This identity is already verified on another account.", "该身份已在其他账号完成实名认证。"),
    "kyc_pending": ("A verification request is already being reviewed.", "已有实名认证申请在审核中。"),
    "kyc_not_pending": ("This verification request is not waiting for a decision.", "该实名认证申请不在待审核状态。"),
    "funding_source_exists": ("This card is already added.", "该银行卡已添加。"),
    "transfer_not_pending": ("This transfer is no longer waiting for confirmation.", "该转账已不在待确认状态。"),
    "already_paid": ("This order has already been paid.", "该订单已支付。"),
    "dispute_exists": ("There is already an open appeal for this transaction.", "该交易已有处理中的申诉。"),
    "dispute_closed": ("This appeal is already closed.", "该申诉已结案。"),
    "ticket_closed": (
        "This ticket is closed. Please open a new one.",
        "该工单已关闭，请新建工单。",
    ),
    "request_in_progress": (
        "The same request is still being processed. Try again shortly.",
        "相同的请求正在处理中，请稍后重试。",
    ),
    "payload_too_large": ("The request is too large.", "请求内容过大。"),
    "unsupported_media_type": ("Send the body as application/json.", "请以 application/json 格式发送请求内容。"),
    "invalid_code": ("The verification code is incorrect or has expired.", "验证码错误或已过期。"),
    "invalid_password": ("The password is incorrect.", "密码错误。"),
    "mfa_required": ("A second verification step is required.", "需要进行二次验证。"),
    "underage": ("You must be 18 or older to verify your identity.", "实名认证须年满 18 周岁。"),
    "insufficient_funds": ("Your balance is not enough.", "余额不足。"),
    "limit_exceeded": ("This exceeds your account limit.", "超出账户限额。"),
    "self_transfer": ("You cannot transfer money to yourself.", "不能向自己转账。"),
    "currency_not_accepted": ("This merchant does not accept this currency.", "该商户不支持此币种。"),
    "card_holder_mismatch": (
        "Withdrawals go only to a card in your own verified name.",
        "只能提现到与实名信息一致的本人银行卡。",
    ),
    "amount_too_small": ("The amount is too small to convert.", "金额过小，无法兑换。"),
    "idempotency_key_reused": (
        "This Idempotency-Key was already used for a different request.",
        "该 Idempotency-Key 已用于另一个不同的请求。",
    ),
    "not_disputable": ("This transaction cannot be appealed.", "该交易不支持申诉。"),
    "dispute_window_closed": (
        "Appeals must be filed within 120 days of the transaction.",
        "申诉须在交易后 120 天内提交。",
    ),
    "amount_exceeds_refundable": (
        "The amount is more than what can still be refunded.",
        "金额超过可退款金额。",
    ),
    "account_locked": (
        "Too many failed attempts. Please try again later.",
        "尝试次数过多，请稍后再试。",
    ),
    "rate_limited": ("Too many requests. Please try again later.", "请求过于频繁，请稍后再试。"),
    "internal_error": ("Something went wrong on our side. Please try again.", "系统繁忙，请稍后再试。"),
    "try_again": ("The service is busy. Please retry shortly.", "服务繁忙，请稍后重试。"),
}

# Validation reasons -> (en, zh-CN); `{field}` is the offending field.
_VALIDATION_REASONS: dict[str, tuple[str, str]] = {
    "missing": ("{field} is required.", "缺少必填字段 {field}。"),
    "unknown_field": ("{field} is not a known field.", "不支持的字段 {field}。"),
    "type": ("{field} has the wrong type.", "字段 {field} 的类型不正确。"),
    "integer": ("{field} must be a whole number.", "字段 {field} 必须是整数。"),
    "string": ("{field} must be a string.", "字段 {field} 必须是字符串。"),
    "boolean": ("{field} must be true or false.", "字段 {field} 必须是 true 或 false。"),
    "object": ("{field} must be a JSON object.", "字段 {field} 必须是 JSON 对象。"),
    "array": ("{field} must be a list.", "字段 {field} 必须是列表。"),
    "choice": ("{field} is not one of the allowed values.", "字段 {field} 的取值不在允许范围内。"),
    "too_small": ("{field} is too small.", "字段 {field} 的值过小。"),
    "too_large": ("{field} is too large.", "字段 {field} 的值过大。"),
    "too_short": ("{field} is too short.", "字段 {field} 过短。"),
    "too_long": ("{field} is too long.", "字段 {field} 过长。"),
    "format": ("{field} is not in the right format.", "字段 {field} 的格式不正确。"),
    "amount": (
        "{field} must be a positive whole number of minor units, at most 10^12.",
        "字段 {field} 必须是以最小货币单位表示的正整数，且不超过 10^12。",
    ),
    "currency": (
        "{field} must be one of CNY, HKD, USD, EUR, JPY.",
        "字段 {field} 必须是 CNY、HKD、USD、EUR、JPY 之一。",
    ),
    "phone": ("{field} is not a valid phone number.", "字段 {field} 不是有效的手机号码。"),
    "email": ("{field} is not a valid email address.", "字段 {field} 不是有效的邮箱地址。"),
    "datetime": (
        "{field} must be an ISO 8601 date and time.",
        "字段 {field} 必须是 ISO 8601 格式的日期时间。",
    ),
    "body": ("The body must be a JSON object.", "请求内容必须是 JSON 对象。"),
    "json": ("The body is not valid JSON.", "请求内容不是有效的 JSON。"),
    "header": ("The {field} header is not valid.", "请求头 {field} 无效。"),
}


# (code, reason) -> (en, zh-CN): a more specific text for one code
_REASONS: dict[tuple[str, str], tuple[str, str]] = {
    ("validation_error", "not_later"): (
        "resolve_by must be later than now and than the date already promised.",
        "resolve_by 必须晚于当前时间及此前承诺的日期。",
    ),
    ("validation_error", "too_far"): (
        "resolve_by must be within 90 days of filing.",
        "resolve_by 不能晚于提交申诉后 90 天。",
    ),
    ("validation_error", "refund_on_reject"): (
        "refund_amount is only allowed with outcome refunded.",
        "只有处理结果为 refunded 时才能填写 refund_amount。",
    ),
    ("weak_password", "too_short"): ("Use at least 8 characters.", "密码至少需要 8 个字符。"),
    ("weak_password", "too_long"): ("Use at most 128 characters.", "密码最多 128 个字符。"),
    ("weak_password", "common"): (
        "This password is one of the most common ones. Choose another.",
        "该密码过于常见，请换一个。",
    ),
    ("weak_password", "contains_email"): (
        "The password must not contain your email name.",
        "密码不能包含您的邮箱用户名。",
    ),
    ("weak_password", "contains_phone"): (
        "The password must not contain your phone number.",
        "密码不能包含您的手机号码。",
    ),
    ("weak_password", "guessable"): (
        "This password is too easy to guess. A few uncommon words together work well.",
        "密码太容易被猜到，建议使用几个不常见的词组合。",
    ),
    ("validation_error", "phone_country"): (
        "We cannot send text messages to this country yet.",
        "暂不支持向该国家或地区发送短信。",
    ),
    ("validation_error", "mfa_method"): (
        "This verification method is not turned on for the account.",
        "该账户未开启此验证方式。",
    ),
    ("validation_error", "documents_required"): (
        "Upload the documents this level needs first (see details.missing).",
        "请先上传该等级所需的证件材料（见 details.missing）。",
    ),
    ("validation_error", "contact_not_verified"): (
        "Verify this contact before using it for sign-in codes.",
        "请先验证该联系方式，再用于接收登录验证码。",
    ),
}


def error_message(code: str, locale: str | None, *, reason: str | None = None, **params: Any) -> str:
    """The text for `code` (or for `reason`, when one is known) in `locale`."""
    index = 1 if locale == "zh-CN" else 0
    if reason and (code, reason) in _REASONS:
        return _REASONS[(code, reason)][index]
    if code == "validation_error" and reason in _VALIDATION_REASONS:
        return _VALIDATION_REASONS[reason][index].format(field=params.get("field") or "value")
    texts = _MESSAGES.get(code) or _MESSAGES["internal_error"]
    return texts[index]


def known_codes() -> frozenset[str]:
    return frozenset(_MESSAGES)


__all__ = ["DEFAULT_LOCALE", "error_message", "known_codes"]
