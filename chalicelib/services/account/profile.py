"""The signed-in user's own account: profile, password change, closing it."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.adapters import clock
from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.services.account.summary import closing_blockers, kyc_summary
from chalicelib.services.identity import notices, protection, reauth, sessions
from chalicelib.services.identity.password_age import change_recommended, schedule_review
from chalicelib.services.identity.password_policy import check_password
from chalicelib.services.identity.passwords import hash_password
from chalicelib.store.conditions import condition_failed
from chalicelib.store.security_events import record_security_event
from chalicelib.store.users import User, email_claim, phone_claim, release_claim


def active_account(user: User | None) -> User:
    """The caller's account (read with the session check), unless closed (401). A frozen account
    is still one: it signs in, reads, receives (contract v1.2, section 11)."""
    if user is None or user.status == "closed":
        raise OkpayError("unauthorized")
    return user


def unfrozen_account(user: User | None) -> User:
    """The caller's account for a security change (contacts, MFA): `403 account_frozen` while frozen."""
    account = active_account(user)
    protection.refuse_if_frozen(account)
    return account


def profile(user: User, now: datetime) -> dict:
    return {
        "user_id": user.user_id,
        "email": user.email,
        "phone": user.phone,
        "display_name": user.display_name,
        "locale": user.locale,
        "email_verified": bool(user.email_verified),
        "phone_verified": bool(user.phone_verified),
        "kyc": kyc_summary(user.user_id),
        "mfa": {"totp": user.totp_enabled, "sms": bool(user.mfa_sms), "email": bool(user.mfa_email)},
        "password_changed_at": clock.isoformat(clock.from_stamp(user.password_changed_at))
        if user.password_changed_at
        else None,
        "password_change_recommended": change_recommended(user, now),
        "role": user.role,
        "status": "frozen" if protection.is_frozen(user) else "active",
        **freeze_view(user),
        "created_at": clock.isoformat(clock.from_stamp(user.created_at)),
    }


def freeze_view(user: User) -> dict:
    """`{"freeze": {reason, at, by}}` while the account is frozen, else nothing (the field is left out)."""
    if not protection.is_frozen(user):
        return {}
    at = clock.isoformat(clock.from_stamp(user.frozen_at)) if user.frozen_at else None
    return {"freeze": {"reason": user.freeze_reason, "at": at, "by": user.frozen_by or "agent"}}


def update_profile(user: User, *, display_name: str | None, locale: str | None) -> User:
    actions = []
    if display_name is not None:
        actions.append(User.display_name.set(display_name))
    if locale is not None:
        actions.append(User.locale.set(locale))
    if actions:
        user.update(actions=actions, condition=protection.still_open())
    if locale is not None:
        sessions.update_locale(user.user_id, locale)
    return user


def change_password(user: User, current_password: str, new_password: str, *, session_id: str, now: datetime) -> None:
    check_password(
        new_password, email=user.email, phone=user.phone, display_name=user.display_name, field="new_password"
    )
    reauth.confirm_password(user, current_password, now, session_id=session_id)
    schedule_review(user, now)
    new = [  # one write with the revocation of the other sessions (see password_reset)
        User.password_hash.set(hash_password(new_password)),
        User.password_changed_at.set(clock.stamp(now)),
        User.password_review_day.set(user.password_review_day),
        User.user_id_sort.set(user.user_id),
    ]
    revoked = sessions.revoke_all(user.user_id, except_session=session_id, reason="password_changed", user_actions=new)
    logger.info(
        "password changed", extra={"event": "password_changed", "user_id": user.user_id, "sessions_revoked": revoked}
    )
    record_security_event(user.user_id, "password_changed", clock.stamp(now))
    notices.notify_security_event(user, "password_changed", now)


def close_account(user: User, password: str, now: datetime, *, session_id: str) -> None:
    # A frozen account is under review (its security ticket is open): it is not closed, and its
    # contacts not released, until the freeze is lifted.
    protection.refuse_if_frozen(user)
    reauth.confirm_password(user, password, now, session_id=session_id)
    if closing_blockers(user.user_id):
        raise OkpayError("account_not_empty")
    try:
        user.update(
            actions=[User.status.set("closed"), User.closed_at.set(clock.stamp(now))], condition=User.status == "active"
        )
    except UpdateError as error:
        if condition_failed(error):  # closed (or frozen) meanwhile by another request
            user.refresh(consistent_read=True)
            protection.refuse_if_frozen(user)
            raise OkpayError("unauthorized") from None
        raise
    notices.notify_security_event(user, "account_closed", now)
    # The data stays (record-keeping rules); the contacts are released for new accounts.
    if user.phone:
        release_claim(phone_claim(user.phone), user.user_id)
    if user.email and user.email_verified:
        release_claim(email_claim(user.email), user.user_id)
    sessions.revoke_all(user.user_id, reason="account_closed")
    logger.info("account closed", extra={"event": "account_closed", "user_id": user.user_id})
