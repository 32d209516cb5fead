"""Step-up: the day's budget that needs nothing beyond the session, and the password or
authenticator code past it.

Contract, section 5: a day's (Asia/Shanghai) payments, transfers and withdrawals share 1,000 CNY
equivalent (`STEP_UP_BUDGET`). Past it, a payment or withdrawal carries `authorization:
{password}` or `{totp}`, else `403 step_up_required` with `details.methods` (a transfer waits for
a code instead: chalicelib.services.wallet.transfers). A wrong one is `422 invalid_password` /
`invalid_code`, counted as a re-authentication failure of the session and in the day's step-up
failures (chalicelib.services.identity.reauth: the 5th in a session revokes it; more than 10 in a
day block money out until the next password login).

An `authorization` that is given is always checked, needed or not: a client that sends one learns
whether it is right, and a request that carries a good one need not fit the day's budget when it
commits (`count_budget(capped=False)`). A TOTP code is spent (its time step recorded) when it is
checked, so it cannot authorise two requests even if the posting that follows fails.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.services.identity import reauth
from chalicelib.store.counters import Counter
from chalicelib.store.users import User

STEP_UP_BUDGET = 1_000_00  # CNY minor units a day without step-up


def budget_counter_id(user_id: str, now: datetime) -> str:
    return f"budget#{user_id}#{clock.shanghai_day(now)}"


def methods(user: User) -> list[str]:
    """What the user can step up with: the password always, an authenticator app once enabled."""
    return ["password", "totp"] if user.totp_enabled else ["password"]


def needs_step_up(budget_used: int, cny: int) -> bool:
    """Past the day's 1,000 CNY budget shared by payments, transfers and withdrawals."""
    return budget_used + cny > STEP_UP_BUDGET


def step_up_required(user: User) -> OkpayError:
    return OkpayError("step_up_required", details={"methods": methods(user)})


def check_authorization(
    user: User, budget_used: int, authorization: Any, cny: int, now: datetime, *, session_id: str
) -> bool:
    """The step-up for a debit of `cny` (CNY minor units) by `user`, who spent `budget_used` today.

    `authorization` is None, a mapping or an object with `password` / `totp`. Returns True when a
    password or TOTP code was given and is right, False when none was given and none is needed.
    Raises `403 step_up_required`, `422 invalid_password` or `422 invalid_code`.
    """
    password = _given(authorization, "password")
    code = _given(authorization, "totp")
    if password is None and code is None:
        if needs_step_up(budget_used, cny):
            raise step_up_required(user)
        return False
    try:
        if password is not None:
            reauth.confirm_password(user, password, now, session_id=session_id)
        else:
            reauth.confirm_second_factor(user, code, now, session_id=session_id, allow_recovery=False)
    except OkpayError as error:
        if error.code in ("invalid_password", "invalid_code"):  # not a 429: nothing was compared
            reauth.record_step_up_failure(user.user_id, now)
        raise
    return True


def count_budget(work: Any, user_id: str, cny: int, now: datetime, *, capped: bool) -> None:
    """Add `cny` to the day's budget inside `work` (a unit of work).

    `capped`: no step-up was given, so the budget must still hold when the transaction commits (two
    concurrent requests that each fit the budget read before cannot both pass it).
    """
    work.update(
        Counter(budget_counter_id(user_id, now)),
        actions=[Counter.count.add(cny), Counter.expires_ttl.set(now + timedelta(days=2))],
        condition=(Counter.count.does_not_exist() | (Counter.count <= STEP_UP_BUDGET - cny)) if capped else None,
    )


def give_back_budget(work: Any, user_id: str, cny: int, now: datetime) -> None:
    """A returned movement no longer counts in the day's budget."""
    work.update(Counter(budget_counter_id(user_id, now)), actions=[Counter.count.add(-cny)])


def _given(authorization: Any, name: str) -> str | None:
    if authorization is None:
        return None
    value = authorization.get(name) if isinstance(authorization, dict) else getattr(authorization, name, None)
    return value if isinstance(value, str) and value else None
