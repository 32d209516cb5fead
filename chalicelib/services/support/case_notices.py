"""Telling a user about their dispute or ticket, in their language, without failing the request.

The account's email gets the full email (it can carry an agent's reply), as a help desk writes to
the address its customer gave; while that address is not verified, or when the email cannot be
sent at once, the phone (verified at sign-up) also gets a short SMS naming the case and pointing to
the app. Both go through the notice outbox (retried by `notify_dispatch`). Notices are not one-time
codes, so they do not count towards the SMS code caps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.i18n.locale import DEFAULT_LOCALE, pick
from chalicelib.i18n.support_templates import CASE_KINDS, CASE_UPDATES
from chalicelib.services.common import notice_outbox
from chalicelib.store.notices import Notice
from chalicelib.store.users import User, get_user


def beijing_time(at: datetime) -> str:
    return clock.to_shanghai(at).strftime("%Y-%m-%d %H:%M")


@dataclass
class CaseNotices:
    """What `event` on a case tells its user: the email, and the text while the email is not verified."""

    user: User
    event: str
    case_id: str
    params: dict[str, Any]
    mail: Notice | None
    text: Notice | None

    @property
    def notices(self) -> list[Notice]:
        return [notice for notice in (self.mail, self.text) if notice is not None]


def plan(user: User | str | None, event: str, case_id: str, now: datetime, **params: Any) -> CaseNotices | None:
    """The notices of `event` on `case_id` (not yet recorded), for a caller that puts them in the change's
    own transaction (`notice_outbox.record_in`, then `send_planned`); None when there is nobody to tell."""
    if isinstance(user, str):
        user = get_user(user)
    if user is None or user.status == "closed":  # a frozen account still hears about its cases
        return None
    locale = user.locale or DEFAULT_LOCALE
    mail = (
        notice_outbox.email(user.email, f"{event}_email", locale, now, case_id=case_id, **params)
        if user.email
        else None
    )
    planned = CaseNotices(user, event, case_id, params, mail, None)
    if user.phone and not (user.email and user.email_verified):
        planned.text = _text(planned, now)
    return planned


def send_planned(planned: CaseNotices | None, now: datetime) -> bool:
    """After the change (and its notices) committed: the first attempts, and the text if the email failed."""
    if planned is None:
        return False
    notice_outbox.send_after_commit(planned.notices, now)
    return _text_if_unsent(planned, now) or bool(planned.notices)


def tell_user(user: User | str | None, event: str, case_id: str, **params: Any) -> bool:
    """Email (or text) the user about `event` on `case_id`; False when there is nobody to tell.

    Called once the case's change has committed: the notices are recorded in the outbox right after
    it and before any send (`notice_outbox.deliver`), and a failed send is retried by the job.
    """
    now = clock.now()
    planned = plan(user, event, case_id, now, **params)
    if planned is None:
        return False
    told = notice_outbox.deliver(planned.notices, now)
    return _text_if_unsent(planned, now) or told


def _text_if_unsent(planned: CaseNotices, now: datetime) -> bool:
    """A verified email whose first attempt failed: the short text goes now too (the email follows later)."""
    mail = planned.mail
    if planned.text is not None or mail is None or mail.status == "sent" or not planned.user.phone:
        return False
    return notice_outbox.deliver([_text(planned, now)], now)


def _text(planned: CaseNotices, now: datetime) -> Notice | None:
    locale = planned.user.locale or DEFAULT_LOCALE
    try:
        what = pick(CASE_UPDATES[planned.event], locale).format(**planned.params)
        case = pick(CASE_KINDS[planned.event.split("_", 1)[0]], locale)  # "dispute" | "ticket"
    except Exception:
        logger.exception("case text not built", extra={"event": planned.event, "case_id": planned.case_id})
        return None
    return notice_outbox.sms(
        planned.user.phone, "case_update_sms", locale, now, case=case, case_id=planned.case_id, what=what
    )
