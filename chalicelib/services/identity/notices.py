"""Security notices to both of a user's contacts, and codes sent to one contact.

Notices never fail the request that caused them: they go through the notice outbox
(chalicelib/services/common/notice_outbox.py), so a failed send is retried by `notify_dispatch` and
the change stands. Codes are different: if a code cannot be sent the caller must know. Its send
answers `503 try_again` and gives back what was counted for it (contract v1.2, section 1, Faults), so
the user's retry finds the SMS limits as they were.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters import aws, clock, notify
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.locale import DEFAULT_LOCALE, pick
from chalicelib.i18n.phrases import CHANNELS, EVENTS, PURPOSES
from chalicelib.services.common import notice_outbox
from chalicelib.services.common.rate_limits import SmsCount, WindowCount
from chalicelib.services.identity import freeze_links
from chalicelib.store.notices import Notice
from chalicelib.store.users import User

CODE_SMS = "verification_code_sms"
CODE_EMAIL = "verification_code_email"
# Notices whose email carries a "this wasn't me" line with a single-use freeze token (section 11).
NOT_ME_EVENTS = frozenset(
    {"new_device", "password_changed", "password_reset", "contact_change_requested", "contact_changed", "mfa_changed"}
)


# SES or SNS could not take a code: the user may ask again shortly (a brief outage or throttling).
CODE_RETRY_AFTER = 5
Counted = SmsCount | WindowCount

# How SES ("AccessDenied") and SNS ("AuthorizationError") refuse a call the role is not allowed.
PROBE_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError"})
_probes_denied: set[str] = set()  # channels whose refused probe this process has warned about
_probes_lock = threading.Lock()


class CodeNotSent(OkpayError):
    """`503 try_again`: the code could not be sent, and was not counted."""

    def __init__(self) -> None:
        super().__init__("try_again", retry_after=CODE_RETRY_AFTER)


@contextmanager
def delivering_code(*counted: Counted) -> Iterator[None]:
    """Around a code's send: if SES or SNS fails it (down, throttled, out of reach), what was
    counted for it is given back and the request answers `503 try_again`."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
        code = code or type(error).__name__
        logger.warning("code not sent", extra={"aws_error": code})
        for count in counted:
            try:
                count.give_back()
            except Exception:  # the 503 stands; the count lapses with its window
                logger.exception("code count not given back")
        raise CodeNotSent from None


def send_code_by_sms(
    phone: str, code: str, *, purpose: str, minutes: int, locale: str, counted: Collection[Counted] = ()
) -> bool:
    with delivering_code(*counted):
        return notify.send_sms(
            phone, CODE_SMS, locale, code=code, minutes=minutes, purpose=pick(PURPOSES[purpose], locale)
        )


def send_code_by_email(
    email: str, code: str, *, purpose: str, minutes: int, locale: str, counted: Collection[Counted] = ()
) -> None:
    with delivering_code(*counted):
        notify.send_email(
            email, CODE_EMAIL, locale, code=code, minutes=minutes, purpose=pick(PURPOSES[purpose], locale)
        )


def ensure_channel_can_send(channel: str) -> None:
    """`503 try_again` while SES ("email") or SNS ("sms") cannot take a message, known by one cheap
    read of that service: busy (throttling, 5xx) or out of reach is down; any other answer is up.

    For the routes that answer every caller alike (forgot, register/start, freeze): called for
    every caller before the account is looked up, so a known and an unknown login get the same
    503 while the channel is down, with the same calls made.

    The API's role is granted these two reads (infra/resources.yaml, `CodeChannelProbe`). Refused,
    the probe cannot see an outage: an unknown login would then get 202 where a known one gets the
    code's 503. It still counts as up (failing every such request would be worse), and the process
    warns once per channel.
    """
    try:
        if channel == "email":
            aws.client("ses").get_send_quota()
        else:
            aws.client("sns").get_sms_attributes(attributes=["DefaultSMSType"])
    except (ClientError, BotoCoreError) as error:
        if aws.is_busy(error):
            logger.warning("code channel down", extra={"channel": channel})
            raise CodeNotSent from None
        code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
        if code in PROBE_DENIED_CODES:
            _warn_probe_denied(channel, code)


def _warn_probe_denied(channel: str, code: str | None) -> None:
    with _probes_lock:
        if channel in _probes_denied:
            return
        _probes_denied.add(channel)
    logger.warning(
        "code channel probe refused by IAM: an outage of this channel goes unseen (infra/resources.yaml)",
        extra={"channel": channel, "aws_error": code},
    )


def notify_security_event(
    user: User,
    event: str,
    now: datetime,
    *,
    email: str | None = None,
    phone: str | None = None,
    channels: Collection[str] = ("email", "sms"),
    **params: str,
) -> None:
    """Tell the user by email (if verified) and SMS. `email`/`phone` override the addresses;
    `channels` narrows it to one of them (a notice to a contact being replaced).

    Called once the change has committed (its callers' changes are not all one transaction of ours:
    a password hash, a revoked session family, a freeze ticket), so the notices are recorded in the
    outbox right after it and before any send (`notice_outbox.deliver`); the job retries a failed send.
    """
    try:
        notices = security_notices(user, event, now, email=email, phone=phone, channels=channels, **params)
    except Exception:
        logger.exception("security notice not built", extra={"user_id": user.user_id, "event": event})
        return
    notice_outbox.deliver(notices, now, LATE_PARAMS)


def security_notices(
    user: User,
    event: str,
    now: datetime,
    *,
    email: str | None = None,
    phone: str | None = None,
    channels: Collection[str] = ("email", "sms"),
    **params: str,
) -> list[Notice]:
    """The notices of `event` (not yet recorded), for a caller that puts them in its own transaction
    (`notice_outbox.record_in`, then `notice_outbox.send_after_commit(..., LATE_PARAMS)`)."""
    locale = user.locale or DEFAULT_LOCALE
    values = {key: _localize(key, value, locale) for key, value in params.items()}
    title, detail = (text.format(**values) for text in pick(EVENTS[event], locale))
    when = clock.to_shanghai(now).strftime("%Y-%m-%d %H:%M")
    support = get_settings().support_phone
    to_email = (email or (user.email if user.email_verified else None)) if "email" in channels else None
    to_phone = (phone or user.phone) if "sms" in channels else None
    notices = []
    if to_email:
        facts = {"event": title, "when": when, "detail": detail, "support": support}
        if event in NOT_ME_EVENTS:  # the link's token is made when the email is sent, never stored
            template, late = "security_notice_email_not_me", {"late": "not_me_link", "user_id": user.user_id}
            notices.append(notice_outbox.email(to_email, template, locale, now, **late, **facts))
        else:
            notices.append(
                notice_outbox.email(to_email, "security_notice_email", locale, now, user_id=user.user_id, **facts)
            )
    if to_phone:
        notices.append(
            notice_outbox.sms(
                to_phone,
                "security_notice_sms",
                locale,
                now,
                user_id=user.user_id,
                event=title,
                when=when,
                support=support,
            )
        )
    return [notice for notice in notices if notice is not None]


def _not_me_params(notice: Notice, now: datetime) -> tuple[str, dict[str, str]]:
    """The "this wasn't me" link of a security notice's email, made as it is sent (one token per email,
    bound to the user; the SMS never carries one); without a token stored, the email goes without it."""
    try:
        return "security_notice_email_not_me", {"link": freeze_links.link_for(freeze_links.issue(notice.user_id, now))}
    except Exception:
        logger.exception("freeze link not issued", extra={"user_id": notice.user_id})
        return "security_notice_email", {}


# What a security notice makes only when it is sent: for `notice_outbox` (the request) and notify_dispatch.
LATE_PARAMS: notice_outbox.LateParams = {"not_me_link": _not_me_params}


def _localize(key: str, value: str, locale: str) -> str:
    if key == "channel" and value in CHANNELS:
        return pick(CHANNELS[value], locale)
    return value
