"""Email and SMS texts of disputes (申诉) and support tickets (客服), zh-CN and en, and the phrases
that fill them; stored as every text is (`{locale: text}`, chalicelib.i18n.locale).

Merged into `chalicelib.i18n.templates.TEMPLATES`. Users without a verified email get the short
`case_update_sms` instead of an email. Times are shown in Beijing time (`{when}` is pre-formatted).
"""

from __future__ import annotations

from chalicelib.i18n.locale import Texts

SUPPORT_TEMPLATES: dict[str, Texts[tuple[str | None, str]]] = {
    "case_update_sms": {
        "zh-CN": (None, "【Okpay】您的{case}（{case_id}）{what}。详情请在 App 中查看。"),
        "en": (None, "[Okpay] Your {case} {case_id}: {what}. See the app for details."),
    },
    # --- disputes ---------------------------------------------------------------------------
    "dispute_filed_email": {
        "zh-CN": (
            "Okpay 申诉已受理：{case_id}",
            "您好，\n\n我们已收到您对交易 {transaction_id}（{amount}）的申诉，编号 {case_id}。\n"
            "客服将在 {when}（北京时间）前答复您。您可以在 App 中补充说明或撤回申诉。\n\nOkpay",
        ),
        "en": (
            "Okpay: appeal {case_id} received",
            "Hello,\n\nWe received your appeal {case_id} about transaction {transaction_id} ({amount}).\n"
            "An agent will reply by {when} (Beijing time). You can add details or withdraw it in the app.\n\nOkpay",
        ),
    },
    "dispute_reply_email": {
        "zh-CN": (
            "Okpay 申诉 {case_id} 有新回复",
            "您好，\n\n客服就您的申诉 {case_id} 回复如下：\n\n{body}\n\n您可以在 App 中回复。\n\nOkpay",
        ),
        "en": (
            "Okpay: new reply on appeal {case_id}",
            "Hello,\n\nAn agent replied to your appeal {case_id}:\n\n{body}\n\nYou can answer in the app.\n\nOkpay",
        ),
    },
    "dispute_extended_email": {
        "zh-CN": (
            "Okpay 申诉 {case_id} 处理时间延长",
            "您好，\n\n您的申诉 {case_id} 需要更多时间处理，预计在 {when}（北京时间）前给出结果。\n"
            "原因：{reason}\n\nOkpay",
        ),
        "en": (
            "Okpay: appeal {case_id} needs more time",
            "Hello,\n\nYour appeal {case_id} needs more time. We expect to resolve it by {when} (Beijing time).\n"
            "Reason: {reason}\n\nOkpay",
        ),
    },
    "dispute_refunded_email": {
        "zh-CN": (
            "Okpay 申诉 {case_id} 已退款",
            "您好，\n\n您的申诉 {case_id} 已处理：{amount} 已退回您的 Okpay 钱包。\n说明：{note}\n\nOkpay",
        ),
        "en": (
            "Okpay: appeal {case_id} refunded",
            "Hello,\n\nYour appeal {case_id} is resolved: {amount} was refunded to your Okpay wallet.\n"
            "Note: {note}\n\nOkpay",
        ),
    },
    "dispute_rejected_email": {
        "zh-CN": (
            "Okpay 申诉 {case_id} 处理结果",
            "您好，\n\n经核实，您的申诉 {case_id} 未获支持。\n说明：{note}\n如有疑问，请联系客服 {support}。\n\nOkpay",
        ),
        "en": (
            "Okpay: decision on appeal {case_id}",
            "Hello,\n\nAfter review, your appeal {case_id} was not upheld.\nNote: {note}\n"
            "If you have questions, contact support at {support}.\n\nOkpay",
        ),
    },
    "dispute_withdrawn_email": {
        "zh-CN": ("Okpay 申诉 {case_id} 已撤回", "您好，\n\n您已撤回申诉 {case_id}。\n\nOkpay"),
        "en": ("Okpay: appeal {case_id} withdrawn", "Hello,\n\nYou withdrew your appeal {case_id}.\n\nOkpay"),
    },
    "dispute_escalated_email": {
        "zh-CN": (
            "Okpay 申诉 {case_id} 已升级处理",
            "您好，\n\n很抱歉，您的申诉 {case_id} 未能在承诺时间内得到答复，已提交客服主管优先处理。\n\nOkpay",
        ),
        "en": (
            "Okpay: appeal {case_id} escalated",
            "Hello,\n\nWe are sorry: your appeal {case_id} was not answered in the time we promised. "
            "It has been escalated to a support lead.\n\nOkpay",
        ),
    },
    # --- tickets ----------------------------------------------------------------------------
    "ticket_ack_email": {
        "zh-CN": (
            "Okpay 客服已收到您的问题：{case_id}",
            "您好，\n\n我们已收到您的问题「{subject}」，工单编号 {case_id}。\n"
            "客服将在 {when}（北京时间）前首次答复您。\n\nOkpay",
        ),
        "en": (
            "Okpay support: request {case_id} received",
            'Hello,\n\nWe received your request "{subject}" as ticket {case_id}.\n'
            "An agent will reply by {when} (Beijing time).\n\nOkpay",
        ),
    },
    "ticket_reply_email": {
        "zh-CN": (
            "Okpay 工单 {case_id} 有新回复",
            "您好，\n\n客服就工单 {case_id}「{subject}」回复如下：\n\n{body}\n\n您可以在 App 中回复。\n\nOkpay",
        ),
        "en": (
            "Okpay: new reply on ticket {case_id}",
            'Hello,\n\nAn agent replied to ticket {case_id} "{subject}":\n\n{body}\n\n'
            "You can answer in the app.\n\nOkpay",
        ),
    },
    "ticket_solved_email": {
        "zh-CN": (
            "Okpay 工单 {case_id} 已解决",
            "您好，\n\n工单 {case_id}「{subject}」已标记为已解决。"
            "如问题仍未解决，直接在 App 中回复即可重新打开。\n\nOkpay",
        ),
        "en": (
            "Okpay: ticket {case_id} solved",
            'Hello,\n\nTicket {case_id} "{subject}" was marked solved. If it is not, reply in the app to reopen it.'
            "\n\nOkpay",
        ),
    },
    "ticket_escalated_email": {
        "zh-CN": (
            "Okpay 工单 {case_id} 已升级处理",
            "您好，\n\n很抱歉，工单 {case_id} 未能在 24 小时内得到答复，已提交客服主管优先处理。\n\nOkpay",
        ),
        "en": (
            "Okpay: ticket {case_id} escalated",
            "Hello,\n\nWe are sorry: ticket {case_id} was not answered within 24 hours. "
            "It has been escalated to a support lead.\n\nOkpay",
        ),
    },
    # --- staff ------------------------------------------------------------------------------
    "sla_reminder_email": {
        "zh-CN": ("Okpay 客服提醒：{count} 个案件即将超时", "以下案件即将到达答复期限：\n\n{cases}\n\nOkpay"),
        "en": (
            "Okpay support: {count} case(s) due soon",
            "These cases reach their reply deadline soon:\n\n{cases}\n\nOkpay",
        ),
    },
}

# What a case is called, for `case_update_sms` and the staff reminder: kind -> text
CASE_KINDS: dict[str, Texts[str]] = {
    "dispute": {"en": "appeal", "zh-CN": "申诉"},
    "ticket": {"en": "ticket", "zh-CN": "工单"},
}
# What happened, for `case_update_sms`: event -> text
CASE_UPDATES: dict[str, Texts[str]] = {
    "dispute_filed": {"en": "received, reply by {when}", "zh-CN": "已受理，将于 {when} 前答复"},
    "dispute_reply": {"en": "an agent replied", "zh-CN": "客服已回复"},
    "dispute_extended": {"en": "needs more time, expected by {when}", "zh-CN": "处理时间延长至 {when}"},
    "dispute_refunded": {"en": "{amount} refunded to your wallet", "zh-CN": "已退款 {amount} 至钱包"},
    "dispute_rejected": {"en": "not upheld", "zh-CN": "未获支持"},
    "dispute_withdrawn": {"en": "withdrawn", "zh-CN": "已撤回"},
    "dispute_escalated": {"en": "escalated to a support lead", "zh-CN": "已升级由客服主管处理"},
    "ticket_ack": {"en": "received, reply by {when}", "zh-CN": "已收到，将于 {when} 前答复"},
    "ticket_reply": {"en": "an agent replied", "zh-CN": "客服已回复"},
    "ticket_solved": {"en": "marked solved; reply to reopen", "zh-CN": "已解决，回复可重新打开"},
    "ticket_escalated": {"en": "escalated to a support lead", "zh-CN": "已升级由客服主管处理"},
}

# One case in `sla_reminder_email` (`{cases}`), in the recipient's language.
SLA_REMINDER_LINE: Texts[str] = {
    "en": "- {kind} {case_id}: reply by {when} (Beijing time)",
    "zh-CN": "- {kind} {case_id}：请于 {when}（北京时间）前答复",
}
