"""Live-chat texts (在线客服), zh-CN and en: the transcript and ticket emails, and the system
messages the user reads in the chat. Merged into `chalicelib.i18n.templates.TEMPLATES`.
Times are Beijing time, pre-formatted.
"""

from __future__ import annotations

from chalicelib.i18n.locale import Texts

CHAT_TEMPLATES: dict[str, Texts[tuple[str | None, str]]] = {
    "chat_transcript_email": {
        "zh-CN": (
            "Okpay 在线客服对话记录（{chat_id}）",
            "您好，\n\n您与 Okpay 在线客服的对话已结束，对话记录如下（北京时间）：\n\n{transcript}\n\n"
            "如还有问题，可在 24 小时内回到该对话继续留言，或发起新的对话。\n\nOkpay",
        ),
        "en": (
            "Okpay: your chat transcript ({chat_id})",
            "Hello,\n\nYour chat with Okpay support has ended. Here is the conversation (Beijing time):\n\n"
            "{transcript}\n\nIf you need more help, write in the same chat within 24 hours or start a new one."
            "\n\nOkpay",
        ),
    },
    "chat_ticket_email": {
        "zh-CN": (
            "Okpay 在线客服对话已转为工单 {ticket_id}",
            "您好，\n\n您的在线客服对话（{chat_id}）已转为工单 {ticket_id}，客服将在 {when}（北京时间）前"
            "在工单中答复您，您也可以在 App 中查看和补充。\n\n对话记录（北京时间）：\n\n{transcript}\n\nOkpay",
        ),
        "en": (
            "Okpay: your chat became ticket {ticket_id}",
            "Hello,\n\nYour chat with Okpay support ({chat_id}) became ticket {ticket_id}. An agent will answer "
            "there by {when} (Beijing time); you can follow it and add details in the app.\n\n"
            "The conversation (Beijing time):\n\n{transcript}\n\nOkpay",
        ),
    },
}

# System messages in the chat (sender "system"), in the user's language when written.
CHAT_SYSTEM_MESSAGES: dict[str, Texts[str]] = {
    "joined": {"en": "{name} joined the chat.", "zh-CN": "{name} 已接入对话，为您服务。"},
    "resolved": {"en": "The chat has ended.", "zh-CN": "对话已结束。"},
    "closed_by_user": {"en": "You ended the chat.", "zh-CN": "您已结束对话。"},
    "idle": {
        "en": "The chat ended after 30 minutes without a reply.",
        "zh-CN": "由于 30 分钟未收到您的回复，对话已结束。",
    },
    "to_ticket": {
        "en": "This chat became ticket {ticket_id}; we will answer you there.",
        "zh-CN": "本次对话已转为工单 {ticket_id}，我们将在工单中答复您。",
    },
    "queue_ticket": {
        "en": "No agent could take your chat in time, so it became ticket {ticket_id}. We will answer you there "
        "and by email.",
        "zh-CN": "暂时没有客服能及时接入，您的对话已转为工单 {ticket_id}，我们将在工单中并通过邮件答复您。",
    },
}

# Who said it, in transcripts: sender -> name (agents are named by their display name).
CHAT_SENDERS: dict[str, Texts[str]] = {
    "user": {"en": "You", "zh-CN": "您"},
    "system": {"en": "Okpay", "zh-CN": "Okpay"},
    "agent": {"en": "Okpay Support", "zh-CN": "Okpay 客服"},
}

# The subject of a ticket made from a chat.
CHAT_TICKET_SUBJECT: Texts[str] = {"en": "Live chat: {excerpt}", "zh-CN": "在线客服：{excerpt}"}
