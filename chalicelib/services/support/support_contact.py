"""How to reach customer service (客服): phone, email, chat and the help centre."""

from __future__ import annotations

from datetime import datetime, time

from chalicelib.adapters import clock
from chalicelib.adapters.config import Settings
from chalicelib.i18n.phrases import SUPPORT_HOURS, phrase

# Service hours, Beijing time. Chat is staffed 08:00–22:00 every day; the hotline 09:00–21:00.
CHAT_OPEN, CHAT_CLOSE = time(8, 0), time(22, 0)
EMAIL_RESPONSE_HOURS = 24


def contact_channels(settings: Settings, locale: str, now: datetime) -> dict:
    local_time = clock.to_shanghai(now).time()
    return {
        "phone": {"number": settings.support_phone, "hours": phrase(SUPPORT_HOURS, "phone", locale)},
        "email": {"address": settings.support_email, "response_hours": EMAIL_RESPONSE_HOURS},
        "chat": {"available": CHAT_OPEN <= local_time < CHAT_CLOSE, "hours": phrase(SUPPORT_HOURS, "chat", locale)},
        "help_center": {"url": settings.help_center_url},
    }
