"""Step-up for payments and withdrawals: the password or an authenticator code past the day's budget.

Contract, section 5: a day's (Asia/Shanghai) payments, transfers and withdrawals share 1,000 CNY
equivalent that needs nothing beyond the session (`money_out.STEP_UP_BUDGET`). Past it, a payment
or withdrawal carries `authorization: {password}` or `{totp}`, else `403 step_up_required` with
`details.methods`. A wrong one is `422 invalid_password` / `invalid_code`, counted as a
re-authentication failure of the session (`reauth`: the 5th revokes it) and in the day's step-up
failures (more than 10 block money out until the next password login).

An `authorization` that is given is always checked, needed or not: a client that sends one learns
whether it is right, and a request that carries a good one need not fit the day's budget when it
commits (see `money_out.count_in(cap_budget=...)`).

A TOTP code is spent (its time step recorded) when it is checked, so it cannot authorise two
requests even if the posting that follows fails.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.errors import OkpayError
from chalicelib.services import money_out, reauth
from chalicelib.store.users import User


def methods(user: User) -> list[str]:
    """What the user can step up with: the password always, an authenticator app once enabled."""
    return ["password", "totp"] if user.totp_enabled else ["password"]


def check_authorization(
    payer: money_out.Payer, authorization: Any, cny: int, now: datetime, *, session_id: str
) -> bool:
    """The step-up for a debit of `cny` (CNY minor units) by `payer`.

    `authorization` is None, a mapping or an object with `password` / `totp`. Returns True when a
    password or TOTP code was given and is right, False when none was given and none is needed.
    Raises `403 step_up_required`, `422 invalid_password` or `422 invalid_code`.
    """
    password = _given(authorization, "password")
    code = _given(authorization, "totp")
    if password is None and code is None:
        require_within_budget(payer, cny)
        return False
    user = payer.user
    try:
        if password is not None:
            reauth.confirm_password(user, password, now, session_id=session_id)
        else:
            reauth.confirm_second_factor(user, code, now, session_id=session_id, allow_recovery=False)
    except OkpayError as error:
        if error.code in ("invalid_password", "invalid_code"):  # not a 429: nothing was compared
            money_out.record_step_up_failure(user.user_id, now)
        raise
    return True


def require_within_budget(payer: money_out.Payer, cny: int) -> None:
    """`403 step_up_required` when `cny` does not fit what is left of the day's budget."""
    if money_out.needs_step_up(payer, cny):
        raise OkpayError("step_up_required", details={"methods": methods(payer.user)})


def _given(authorization: Any, name: str) -> str | None:
    if authorization is None:
        return None
    value = authorization.get(name) if isinstance(authorization, dict) else getattr(authorization, name, None)
    return value if isinstance(value, str) and value else None
