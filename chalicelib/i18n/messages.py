"""Error messages per code, in English and Simplified Chinese (`{locale: text}`, chalicelib.i18n.locale).

`code` is the stable contract; these texts are for people and may be reworded freely. A reason
(e.g. why a password is weak, what is wrong with a field) picks a more specific text.
"""

from __future__ import annotations

from typing import Any

from chalicelib.i18n.locale import DEFAULT_LOCALE, Texts, pick

# code -> text
_MESSAGES: dict[str, Texts[str]] = {
    "validation_error": {"en": "The request is not valid.", "zh-CN": "请求内容不正确。"},
    "weak_password": {"en": "This password is too easy to guess.", "zh-CN": "密码太容易被猜到。"},
    "invalid_id_number": {"en": "The ID number is not valid.", "zh-CN": "证件号码无效。"},
    "idempotency_key_required": {
        "en": "An Idempotency-Key header (1-255 printable characters) is required.",
        "zh-CN": "此请求需要 Idempotency-Key 请求头（1-255 个可打印字符）。",
    },
    "invalid_cursor": {"en": "The page cursor does not belong to this list.", "zh-CN": "分页游标与此列表不匹配。"},
    "unauthorized": {"en": "Please sign in again.", "zh-CN": "请重新登录。"},
    "invalid_refresh_token": {
        "en": "Your sign-in has expired. Please sign in again.",
        "zh-CN": "登录已过期，请重新登录。",
    },
    "token_reused": {
        "en": "This sign-in was ended for your safety. Please sign in again.",
        "zh-CN": "为保障安全，此次登录已失效，请重新登录。",
    },
    "invalid_credentials": {"en": "The account or password is incorrect.", "zh-CN": "账号或密码错误。"},
    "card_declined": {"en": "The bank declined this card.", "zh-CN": "银行拒绝了此卡的交易。"},
    "bank_insufficient_funds": {"en": "The bank card has insufficient funds.", "zh-CN": "银行卡余额不足。"},
    "forbidden": {"en": "You are not allowed to do this.", "zh-CN": "您没有执行此操作的权限。"},
    "kyc_required": {"en": "Please complete real-name verification first.", "zh-CN": "请先完成实名认证。"},
    "step_up_required": {
        "en": "Please confirm with your password or authenticator code.",
        "zh-CN": "请输入密码或验证器动态码确认。",
    },
    "phone_not_verified": {"en": "Please verify your phone number first.", "zh-CN": "请先验证手机号码。"},
    "own_case": {
        "en": "Agents cannot handle a case about their own account.",
        "zh-CN": "客服人员不能处理与本人账户相关的事项。",
    },
    "account_frozen": {
        "en": "Your account is frozen: no money can leave it. Contact support to lift the freeze.",
        "zh-CN": "您的账户已冻结，资金无法转出。如需解冻请联系客服。",
    },
    "already_frozen": {"en": "This account is already frozen.", "zh-CN": "该账户已处于冻结状态。"},
    "not_frozen": {"en": "This account is not frozen.", "zh-CN": "该账户未被冻结。"},
    "agent_review_required": {
        "en": "This freeze can only be lifted by Okpay support after a review. Please contact support.",
        "zh-CN": "此次冻结须由 Okpay 客服核实后解除，请联系客服。",
    },
    "freeze_too_recent": {
        "en": "For your safety, a freeze can be lifted 1 hour after it started at the earliest.",
        "zh-CN": "为保障安全，冻结 1 小时后才能解冻。",
    },
    "invalid_token": {
        "en": "This link is no longer valid: it was used already or has expired.",
        "zh-CN": "该链接已失效：已被使用或已过期。",
    },
    "account_closed": {"en": "This account is closed.", "zh-CN": "该账户已注销。"},
    "recipient_unavailable": {
        "en": "The recipient's account can no longer receive money. The transfer was canceled.",
        "zh-CN": "收款人账户已无法收款，本次转账已取消。",
    },
    "not_found": {"en": "Not found.", "zh-CN": "未找到相关内容。"},
    "recipient_not_found": {
        "en": "No Okpay user has this phone number or email.",
        "zh-CN": "未找到该手机号或邮箱对应的用户。",
    },
    "method_not_allowed": {"en": "This method is not allowed here.", "zh-CN": "不支持此请求方法。"},
    "email_in_use": {"en": "This email is already used by another account.", "zh-CN": "该邮箱已被其他账号使用。"},
    "phone_in_use": {
        "en": "This phone number is already used by another account.",
        "zh-CN": "该手机号已被其他账号使用。",
    },
    "totp_already_enabled": {"en": "The authenticator app is already on.", "zh-CN": "验证器已开启。"},
    "account_not_empty": {
        "en": "Empty every balance and close open cases before closing the account.",
        "zh-CN": "请先清空余额并结清未完成事项，再注销账户。",
    },
    "identity_in_use": {
        "en": "This identity is already verified on another account.",
        "zh-CN": "该身份已在其他账号完成实名认证。",
    },
    "kyc_pending": {"en": "A verification request is already being reviewed.", "zh-CN": "已有实名认证申请在审核中。"},
    "kyc_not_pending": {
        "en": "This verification request is not waiting for a decision.",
        "zh-CN": "该实名认证申请不在待审核状态。",
    },
    "funding_source_exists": {"en": "This card is already added.", "zh-CN": "该银行卡已添加。"},
    "transfer_not_pending": {
        "en": "This transfer is no longer waiting for confirmation.",
        "zh-CN": "该转账已不在待确认状态。",
    },
    "already_paid": {"en": "This order has already been paid.", "zh-CN": "该订单已支付。"},
    "order_exists": {"en": "An order with this out_order_no already exists.", "zh-CN": "该商户订单号已被使用。"},
    "order_not_open": {"en": "This order can no longer be paid or closed.", "zh-CN": "该订单已无法支付或关闭。"},
    "refund_exists": {
        "en": "A different refund with this out_refund_no already exists.",
        "zh-CN": "该商户退款单号已用于另一笔退款。",
    },
    "dispute_exists": {
        "en": "There is already an open appeal for this transaction.",
        "zh-CN": "该交易已有处理中的申诉。",
    },
    "dispute_closed": {"en": "This appeal is already closed.", "zh-CN": "该申诉已结案。"},
    "dispute_not_awaiting_approval": {
        "en": "This appeal has no refund waiting for approval.",
        "zh-CN": "该申诉没有待审批的退款。",
    },
    "ticket_closed": {"en": "This ticket is closed. Please open a new one.", "zh-CN": "该工单已关闭，请新建工单。"},
    "chat_exists": {
        "en": "You already have a chat open (see details.chat_id).",
        "zh-CN": "您已有进行中的在线客服对话（见 details.chat_id）。",
    },
    "chat_closed": {
        "en": "This chat ended more than 24 hours ago. Please start a new one.",
        "zh-CN": "该对话已结束超过 24 小时，请发起新的对话。",
    },
    "chat_taken": {"en": "Another agent is handling this chat.", "zh-CN": "该对话已由其他客服接待。"},
    "chat_not_active": {
        "en": "This chat is not active: accept it first, or it has ended.",
        "zh-CN": "该对话不在进行中：请先接入，或对话已结束。",
    },
    "chat_limit_reached": {
        "en": "You are away or already hold as many chats as you allow (max_chats).",
        "zh-CN": "您当前为离开状态，或接待的对话数已达上限（max_chats）。",
    },
    "request_in_progress": {
        "en": "The same request is still being processed. Try again shortly.",
        "zh-CN": "相同的请求正在处理中，请稍后重试。",
    },
    "payload_too_large": {"en": "The request is too large.", "zh-CN": "请求内容过大。"},
    "unsupported_media_type": {
        "en": "Send the body as application/json.",
        "zh-CN": "请以 application/json 格式发送请求内容。",
    },
    "invalid_code": {"en": "The verification code is incorrect or has expired.", "zh-CN": "验证码错误或已过期。"},
    "invalid_password": {"en": "The password is incorrect.", "zh-CN": "密码错误。"},
    "mfa_required": {"en": "A second verification step is required.", "zh-CN": "需要进行二次验证。"},
    "underage": {"en": "You must be 18 or older to verify your identity.", "zh-CN": "实名认证须年满 18 周岁。"},
    "insufficient_funds": {"en": "Your balance is not enough.", "zh-CN": "余额不足。"},
    "limit_exceeded": {"en": "This exceeds your account limit.", "zh-CN": "超出账户限额。"},
    "self_transfer": {"en": "You cannot transfer money to yourself.", "zh-CN": "不能向自己转账。"},
    "currency_not_accepted": {"en": "This merchant does not accept this currency.", "zh-CN": "该商户不支持此币种。"},
    "card_holder_mismatch": {
        "en": "Withdrawals go only to a card in your own verified name.",
        "zh-CN": "只能提现到与实名信息一致的本人银行卡。",
    },
    "amount_too_small": {"en": "The amount is too small to convert.", "zh-CN": "金额过小，无法兑换。"},
    "idempotency_key_reused": {
        "en": "This Idempotency-Key was already used for a different request.",
        "zh-CN": "该 Idempotency-Key 已用于另一个不同的请求。",
    },
    "not_disputable": {"en": "This transaction cannot be appealed.", "zh-CN": "该交易不支持申诉。"},
    "dispute_window_closed": {
        "en": "Appeals must be filed within 120 days of the transaction.",
        "zh-CN": "申诉须在交易后 120 天内提交。",
    },
    "amount_exceeds_refundable": {
        "en": "The amount is more than what can still be refunded.",
        "zh-CN": "金额超过可退款金额。",
    },
    "account_locked": {
        "en": "Too many failed attempts. Please try again later.",
        "zh-CN": "尝试次数过多，请稍后再试。",
    },
    "rate_limited": {"en": "Too many requests. Please try again later.", "zh-CN": "请求过于频繁，请稍后再试。"},
    "internal_error": {"en": "Something went wrong on our side. Please try again.", "zh-CN": "系统繁忙，请稍后再试。"},
    "try_again": {"en": "The service is busy. Please retry shortly.", "zh-CN": "服务繁忙，请稍后重试。"},
}

# Validation reasons -> text; `{field}` is the offending field.
_VALIDATION_REASONS: dict[str, Texts[str]] = {
    "missing": {"en": "{field} is required.", "zh-CN": "缺少必填字段 {field}。"},
    "unknown_field": {"en": "{field} is not a known field.", "zh-CN": "不支持的字段 {field}。"},
    "type": {"en": "{field} has the wrong type.", "zh-CN": "字段 {field} 的类型不正确。"},
    "integer": {"en": "{field} must be a whole number.", "zh-CN": "字段 {field} 必须是整数。"},
    "string": {"en": "{field} must be a string.", "zh-CN": "字段 {field} 必须是字符串。"},
    "boolean": {"en": "{field} must be true or false.", "zh-CN": "字段 {field} 必须是 true 或 false。"},
    "object": {"en": "{field} must be a JSON object.", "zh-CN": "字段 {field} 必须是 JSON 对象。"},
    "array": {"en": "{field} must be a list.", "zh-CN": "字段 {field} 必须是列表。"},
    "choice": {"en": "{field} is not one of the allowed values.", "zh-CN": "字段 {field} 的取值不在允许范围内。"},
    "too_small": {"en": "{field} is too small.", "zh-CN": "字段 {field} 的值过小。"},
    "too_large": {"en": "{field} is too large.", "zh-CN": "字段 {field} 的值过大。"},
    "too_short": {"en": "{field} is too short.", "zh-CN": "字段 {field} 过短。"},
    "too_long": {"en": "{field} is too long.", "zh-CN": "字段 {field} 过长。"},
    "format": {"en": "{field} is not in the right format.", "zh-CN": "字段 {field} 的格式不正确。"},
    "amount": {
        "en": "{field} must be a positive whole number of minor units, at most 10^12.",
        "zh-CN": "字段 {field} 必须是以最小货币单位表示的正整数，且不超过 10^12。",
    },
    "currency": {
        "en": "{field} must be one of CNY, HKD, USD, EUR, JPY.",
        "zh-CN": "字段 {field} 必须是 CNY、HKD、USD、EUR、JPY 之一。",
    },
    "phone": {"en": "{field} is not a valid phone number.", "zh-CN": "字段 {field} 不是有效的手机号码。"},
    "email": {"en": "{field} is not a valid email address.", "zh-CN": "字段 {field} 不是有效的邮箱地址。"},
    "datetime": {
        "en": "{field} must be an ISO 8601 date and time.",
        "zh-CN": "字段 {field} 必须是 ISO 8601 格式的日期时间。",
    },
    "body": {"en": "The body must be a JSON object.", "zh-CN": "请求内容必须是 JSON 对象。"},
    "json": {"en": "The body is not valid JSON.", "zh-CN": "请求内容不是有效的 JSON。"},
    "header": {"en": "The {field} header is not valid.", "zh-CN": "请求头 {field} 无效。"},
}


# (code, reason) -> a more specific text for one code
_REASONS: dict[tuple[str, str], Texts[str]] = {
    ("validation_error", "not_later"): {
        "en": "resolve_by must be later than now and than the date already promised.",
        "zh-CN": "resolve_by 必须晚于当前时间及此前承诺的日期。",
    },
    ("validation_error", "too_far"): {
        "en": "resolve_by must be within 90 days of filing.",
        "zh-CN": "resolve_by 不能晚于提交申诉后 90 天。",
    },
    ("validation_error", "refund_on_reject"): {
        "en": "refund_amount is only allowed with outcome refunded.",
        "zh-CN": "只有处理结果为 refunded 时才能填写 refund_amount。",
    },
    ("weak_password", "too_short"): {"en": "Use at least 8 characters.", "zh-CN": "密码至少需要 8 个字符。"},
    ("weak_password", "too_long"): {"en": "Use at most 128 characters.", "zh-CN": "密码最多 128 个字符。"},
    ("weak_password", "common"): {
        "en": "This password is one of the most common ones. Choose another.",
        "zh-CN": "该密码过于常见，请换一个。",
    },
    ("weak_password", "contains_email"): {
        "en": "The password must not contain your email name.",
        "zh-CN": "密码不能包含您的邮箱用户名。",
    },
    ("weak_password", "contains_phone"): {
        "en": "The password must not contain your phone number.",
        "zh-CN": "密码不能包含您的手机号码。",
    },
    ("weak_password", "guessable"): {
        "en": "This password is too easy to guess. A few uncommon words together work well.",
        "zh-CN": "密码太容易被猜到，建议使用几个不常见的词组合。",
    },
    ("validation_error", "phone_country"): {
        "en": "We cannot send text messages to this country yet.",
        "zh-CN": "暂不支持向该国家或地区发送短信。",
    },
    ("validation_error", "mfa_method"): {
        "en": "This verification method is not turned on for the account.",
        "zh-CN": "该账户未开启此验证方式。",
    },
    ("validation_error", "documents_required"): {
        "en": "Upload the documents this level needs first (see details.missing).",
        "zh-CN": "请先上传该等级所需的证件材料（见 details.missing）。",
    },
    ("validation_error", "contact_not_verified"): {
        "en": "Verify this contact before using it for sign-in codes.",
        "zh-CN": "请先验证该联系方式，再用于接收登录验证码。",
    },
}


def error_message(code: str, locale: str | None, *, reason: str | None = None, **params: Any) -> str:
    """The text for `code` (or for `reason`, when one is known) in `locale`."""
    if reason and (code, reason) in _REASONS:
        return pick(_REASONS[(code, reason)], locale)
    if code == "validation_error" and reason in _VALIDATION_REASONS:
        return pick(_VALIDATION_REASONS[reason], locale).format(field=params.get("field") or "value")
    return pick(_MESSAGES.get(code) or _MESSAGES["internal_error"], locale)


def known_codes() -> frozenset[str]:
    return frozenset(_MESSAGES)


__all__ = ["DEFAULT_LOCALE", "error_message", "known_codes"]
