"""What every payment, transfer and withdrawal checks, and the counters it writes with its posting.

The contract's order (section 5), after the key lookup and validation:
403 kyc_required → (403 phone_not_verified, 404, 409, 422 route rules) → 422 insufficient_funds
→ 422 limit_exceeded → step-up. Each route calls these in that order.

- **KYC level and limits** (chalicelib.services.limits): payments and transfers count towards the
  level's cap in CNY equivalent at the posting rate, rounded up; withdrawals to the user's own
  same-name card and conversions do not. The limit counter is updated inside the posting's
  transaction with a condition, so two requests cannot race past the cap.
- **Step-up budget**: a day's (Asia/Shanghai) payments, transfers and withdrawals share 1,000 CNY
  that needs nothing beyond the session; the day's counter is also updated in the transaction.
- **Step-up failures**: more than 10 wrong step-up codes or passwords in a day block money out
  until the next password login.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.services import limits
from chalicelib.services.ledger import BalanceState, user_account
from chalicelib.services.money import BASE_CURRENCY, EXPONENTS
from chalicelib.store.batch import batch_get
from chalicelib.store.catalog import FX_RATES, LATEST, CatalogItem
from chalicelib.store.counters import Counter
from chalicelib.store.kyc import CURRENT, KycRecord
from chalicelib.store.users import User
from chalicelib.store.wallet import Balance

STEP_UP_BUDGET = 1_000_00  # CNY minor units a day without step-up
STEP_UP_FAILURES_ALLOWED = 10


@dataclass
class Payer:
    """Everything a money-out decision needs about the payer, read in one BatchGetItem."""

    user: User
    level: int
    real_name: str | None
    balance: BalanceState | None
    limit_used: int
    budget_used: int
    step_up_failures: int
    rates: dict[str, str]
    extras: dict[Any, Any]  # whatever else the route asked for in the same read
    now: datetime

    @property
    def available(self) -> int:
        return self.balance.available if self.balance else 0


def day_of(now: datetime) -> str:
    return clock.to_shanghai(now).strftime("%Y%m%d")


def budget_counter_id(user_id: str, now: datetime) -> str:
    return f"budget#{user_id}#{day_of(now)}"


def step_up_failure_counter_id(user_id: str, now: datetime) -> str:
    return f"stepup_fail#{user_id}#{day_of(now)}"


def load_payer(user_id: str, currency: str, now: datetime, extra: list[tuple[type, tuple]] | None = None) -> Payer:
    wanted: list[tuple[type, tuple]] = [
        (User, (user_id,)),
        (KycRecord, (user_id, CURRENT)),
        (Balance, (user_account(user_id), currency)),
        (CatalogItem, (FX_RATES, LATEST)),
        (Counter, (budget_counter_id(user_id, now),)),
        (Counter, (step_up_failure_counter_id(user_id, now),)),
    ]
    # Both possible limit windows: the level is not known before this read.
    for level in (1, 2):
        _, window_id, _ = limits.window_of(level, now)
        wanted.append((Counter, (limits.limit_counter_id(user_id, window_id),)))
    wanted += extra or []
    found = batch_get(wanted)
    user = found[(User, (user_id,))]
    if user is None or user.status != "active":
        raise OkpayError("unauthorized")
    case = found[(KycRecord, (user_id, CURRENT))]
    level = int(case.level or 0) if case else 0
    balance = found[(Balance, (user_account(user_id), currency))]
    rates = found[(CatalogItem, (FX_RATES, LATEST))]
    if rates is None:
        raise OkpayError("try_again", retry_after=60)
    limit_used = 0
    window = limits.window_of(level, now)[1]
    if window:
        counter = found.get((Counter, (limits.limit_counter_id(user_id, window),)))
        limit_used = int(counter.count) if counter else 0
    budget = found[(Counter, (budget_counter_id(user_id, now),))]
    failures = found[(Counter, (step_up_failure_counter_id(user_id, now),))]
    return Payer(
        user=user,
        level=level,
        real_name=case.approved_real_name if case else None,
        balance=BalanceState(int(balance.available), int(balance.version)) if balance else None,
        limit_used=limit_used,
        budget_used=int(budget.count) if budget else 0,
        step_up_failures=int(failures.count) if failures else 0,
        rates={str(k): str(v) for k, v in rates.rates.as_dict().items()},
        extras={key: value for key, value in found.items() if key in set(extra or [])},
        now=now,
    )


def require_kyc(payer: Payer) -> None:
    if payer.level < 1:
        raise OkpayError("kyc_required")
    if payer.step_up_failures > STEP_UP_FAILURES_ALLOWED:
        # Blocked until the next password login clears the day's counter.
        raise OkpayError("forbidden")


def cny_equivalent(amount: int, currency: str, rates: dict[str, str]) -> int:
    """Minor units of CNY, rounded up (contract, section 4)."""
    exact = Decimal(amount) * Decimal(rates[BASE_CURRENCY]) / Decimal(rates[currency])
    exact *= Decimal(10) ** (EXPONENTS[BASE_CURRENCY] - EXPONENTS[currency])
    return int(exact.to_integral_value(rounding=ROUND_CEILING))


def require_funds(payer: Payer, amount: int) -> None:
    if payer.available < amount:
        raise OkpayError("insufficient_funds")


def require_within_limit(payer: Payer, cny: int) -> limits.Allowance:
    allowance = limits.allowance_from(payer.user.user_id, payer.level, payer.limit_used, payer.now)
    if cny > allowance.remaining:
        raise OkpayError("limit_exceeded", details=allowance.exceeded_details())
    return allowance


def needs_step_up(payer: Payer, cny: int) -> bool:
    """Past the day's 1,000 CNY budget shared by payments, transfers and withdrawals."""
    return payer.budget_used + cny > STEP_UP_BUDGET


def count_in(transaction: Any, payer: Payer, cny: int, *, counts_towards_limit: bool, cap_budget: bool = False) -> None:
    """Add this movement to the payer's counters, inside the posting's transaction.

    `cap_budget`: no step-up was given, so the day's budget must still hold when the transaction
    commits (two concurrent requests that each fit the budget read before cannot both pass it).
    """
    now = payer.now
    if counts_towards_limit:
        rule = limits.LEVEL_RULES[payer.level]
        _, active, _ = limits.window_of(payer.level, now)
        # Both windows always count, so a user who moves from level 1 (lifetime) to level 2 (year)
        # mid-year has this year's earlier spending in the new window too.
        for level in (1, 2):
            _, window_id, _ = limits.window_of(level, now)
            capped = window_id == active
            transaction.update(
                Counter(limits.limit_counter_id(payer.user.user_id, window_id)),
                actions=[Counter.count.add(cny)],
                # The cap holds even against a concurrent payment that passed the same check.
                condition=(Counter.count.does_not_exist() | (Counter.count <= rule.cap - cny)) if capped else None,
            )
    transaction.update(
        Counter(budget_counter_id(payer.user.user_id, now)),
        actions=[Counter.count.add(cny), Counter.expires_ttl.set(now + timedelta(days=2))],
        condition=(Counter.count.does_not_exist() | (Counter.count <= STEP_UP_BUDGET - cny)) if cap_budget else None,
    )


def record_step_up_failure(user_id: str, now: datetime) -> None:
    Counter(step_up_failure_counter_id(user_id, now)).update(
        actions=[Counter.count.add(1), Counter.expires_ttl.set(now + timedelta(days=2))]
    )


def clear_step_up_failures(user_id: str, now: datetime) -> None:
    """A password login lifts the block."""
    Counter(step_up_failure_counter_id(user_id, now)).delete()
