"""Telling a user about their dispute or ticket, in their language, without failing the request.

The account's email gets the full email (it can carry an agent's reply), as a help desk writes to
the address its customer gave; while that address is not verified, or when the email cannot be
sent, the phone (verified at sign-up) also gets a short SMS naming the case and pointing to the app.
Notices are not one-time codes, so they do not count towards the SMS code caps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import clock, notify
from chalicelib.adapters.logging import logger
from chalicelib.i18n.locale import DEFAULT_LOCALE, pick
from chalicelib.i18n.support_templates import CASE_KINDS, CASE_UPDATES
from chalicelib.store.users import User, get_user


def beijing_time(at: datetime) -> str:
    return clock.to_shanghai(at).strftime("%Y-%m-%d %H:%M")


def tell_user(user: User | str | None, event: str, case_id: str, **params: Any) -> bool:
    """Email (or text) `user` about `event` on `case_id`; False when nothing could be sent."""
    if isinstance(user, str):
        user = get_user(user)
    if user is None or user.status == "closed":  # a frozen account still hears about its cases
        return False
    locale = user.locale or DEFAULT_LOCALE
    kind = event.split("_", 1)[0]  # "dispute" | "ticket"
    emailed = False
    if user.email:
        try:
            notify.send_email(user.email, f"{event}_email", locale, case_id=case_id, **params)
            emailed = True
        except Exception:  # SES refused or is down: the phone still hears of it
            logger.exception("case email not sent", extra={"user_id": user.user_id, "event": event})
    if (emailed and user.email_verified) or not user.phone:
        return emailed
    try:
        what = pick(CASE_UPDATES[event], locale).format(**params)
        case = pick(CASE_KINDS[kind], locale)
        return notify.send_sms(user.phone, "case_update_sms", locale, case=case, case_id=case_id, what=what) or emailed
    except Exception:
        logger.exception("case notice not sent", extra={"user_id": user.user_id, "event": event, "case_id": case_id})
    return emailed
