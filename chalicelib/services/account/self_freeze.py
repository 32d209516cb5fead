"""A signed-in user freezing their own account and lifting that freeze (contract v1.2, section 11).

- `freeze_own`: no password (someone in a hurry, or with a thief's hands near the phone, must not be
  slowed down); the caller's session is kept, every other one is revoked.
- `start_unfreeze`: an SMS code to the verified phone (the SMS per-number limits apply).
- `unfreeze_own`: checks in the contract's order — not frozen `409 not_frozen`; a freeze by an agent
  or with reason `suspected_fraud` is lifted only by support (`403 agent_review_required`); sooner
  than 1 hour after the freeze `409 freeze_too_recent` (`details.available_at`); then the password
  and the code (SMS, or a TOTP code), each a re-authentication that counts in the session's budget
  (chalicelib.services.identity.reauth: the 5th wrong one revokes the session).

Freezing and lifting themselves are chalicelib.services.account.freezes. These work while frozen:
a frozen account still signs in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.services.account import freezes
from chalicelib.services.common import rate_limits
from chalicelib.services.identity import notices, one_time_codes, protection, reauth
from chalicelib.store.users import User

UNFREEZE_CODE_LIFETIME = timedelta(minutes=10)
COOLING_OFF = timedelta(hours=1)  # a freeze stands at least this long (a thief cannot undo it at once)
NEEDS_AGENT_REVIEW = freezes.NEEDS_AGENT_REVIEW


def unfreeze_code_id(user_id: str) -> str:
    return f"unfreeze#{user_id}"


def freeze_own(user: User, reason: str, note: str | None, *, session_id: str, now: datetime) -> dict:
    """`{status: frozen, frozen_at, reason}`; `409 already_frozen`."""
    result = freezes.freeze(
        user.user_id, reason, freezes.Actor.owner(user.user_id), now, keep_session=session_id, note=note or None
    )
    return {"status": "frozen", "frozen_at": result["freeze"]["at"], "reason": reason}


def start_unfreeze(user: User, now: datetime) -> None:
    """Text a code to the verified phone; `409 not_frozen`, `429 rate_limited` past the SMS limits."""
    if not protection.is_frozen(user):
        raise OkpayError("not_frozen")
    code_id = unfreeze_code_id(user.user_id)
    wait = rate_limits.reserve_sms_code(user.phone, code_id, now)
    if wait is not None:
        raise OkpayError("rate_limited", retry_after=wait)
    issued = one_time_codes.issue(code_id, lifetime=UNFREEZE_CODE_LIFETIME, now=now, user_id=user.user_id)
    if issued is None:  # 5 wrong tries on this code: a new one once it expires
        raise OkpayError("rate_limited", retry_after=int(UNFREEZE_CODE_LIFETIME.total_seconds()))
    minutes = int(UNFREEZE_CODE_LIFETIME.total_seconds() // 60)
    counted = [rate_limits.SmsCount(user.phone, code_id, now)]
    notices.send_code_by_sms(
        user.phone, issued.code, purpose="unfreeze", minutes=minutes, locale=user.locale, counted=counted
    )


def unfreeze_own(user: User, password: str, code: str, method: str, *, session_id: str, now: datetime) -> dict:
    """`{status: active}` after the checks above, in that order."""
    if not protection.is_frozen(user):
        raise OkpayError("not_frozen")

    def owner_may_lift(frozen: User) -> None:
        if frozen.frozen_by != "user" or frozen.freeze_reason == NEEDS_AGENT_REVIEW:
            raise OkpayError("agent_review_required")
        available_at = clock.from_stamp(frozen.frozen_at) + COOLING_OFF
        if now < available_at:
            raise OkpayError("freeze_too_recent", details={"available_at": clock.isoformat(available_at)})

    owner_may_lift(user)
    reauth.confirm_password(user, password, now, session_id=session_id)
    if method == "totp":
        reauth.confirm_second_factor(user, code, now, session_id=session_id, allow_recovery=False)
    else:
        reauth.confirm_code(user, now, lambda: _sms_code_right(user, code, now), session_id=session_id)
    # Conditioned on the freeze these rules passed on: one an agent set meanwhile is not lifted.
    freezes.unfreeze(user.user_id, "lifted by the owner", freezes.Actor.owner(user.user_id), now, rules=owner_may_lift)
    return {"status": "active"}


def _sms_code_right(user: User, code: str, now: datetime) -> bool:
    """The unfreeze code is right (and now used up). Its own 5 tries are counted before comparing."""
    try:
        one_time_codes.check(unfreeze_code_id(user.user_id), code, now=now)
    except OkpayError:
        return False
    return True
