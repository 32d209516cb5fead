"""Emails of the email support channel (contract section 13), zh-CN and en; stored as every text is
(`{locale: text}`, chalicelib.i18n.locale) and merged into `chalicelib.i18n.templates.TEMPLATES`.

Each is sent with the ticket's signed reply address as `Reply-To` and names the ticket in its
subject as `[tkt_…]`, the form a reply by subject is threaded on. They quote only what the agent
wrote: never the customer's mail, never anything about the account.
"""

from __future__ import annotations

from chalicelib.i18n.locale import Texts

EMAIL_SUPPORT_TEMPLATES: dict[str, Texts[tuple[str | None, str]]] = {
    "email_ticket_ack_email": {
        "zh-CN": (
            "[{case_id}] Okpay 客服已收到您的邮件：{subject}",
            "您好，\n\n我们已收到您的邮件「{subject}」，工单编号 {case_id}。\n"
            "客服将在 {when}（北京时间）前首次答复您。补充信息请直接回复本邮件。\n\nOkpay",
        ),
        "en": (
            "[{case_id}] Okpay support received your email: {subject}",
            'Hello,\n\nWe received your email "{subject}" as ticket {case_id}.\n'
            "An agent will reply by {when} (Beijing time). To add anything, reply to this email.\n\nOkpay",
        ),
    },
    "email_ticket_reply_email": {
        "zh-CN": (
            "[{case_id}] 回复：{subject}",
            "您好，\n\n客服就工单 {case_id}「{subject}」回复如下：\n\n{body}\n\n"
            "如需继续沟通，请直接回复本邮件。\n\nOkpay",
        ),
        "en": (
            "[{case_id}] Re: {subject}",
            'Hello,\n\nAn agent replied to ticket {case_id} "{subject}":\n\n{body}\n\n'
            "To answer, reply to this email.\n\nOkpay",
        ),
    },
    "email_ticket_solved_email": {
        "zh-CN": (
            "[{case_id}] 已解决：{subject}",
            "您好，\n\n工单 {case_id}「{subject}」已标记为已解决。"
            "如问题仍未解决，直接回复本邮件即可重新打开。\n\nOkpay",
        ),
        "en": (
            "[{case_id}] Solved: {subject}",
            'Hello,\n\nTicket {case_id} "{subject}" was marked solved. If it is not, reply to this email to reopen it.'
            "\n\nOkpay",
        ),
    },
}
