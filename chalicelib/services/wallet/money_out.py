"""The one money-out pipeline: every way money leaves a wallet runs through `run`.

A route describes its movement as a `Debit` (chalicelib.services.wallet.payments, transfers,
withdrawals, conversions); `run` applies the contract's order (section 5), after the key lookup
and validation, the same way for all of them:

    one read (`load_payer`: payer, KYC case, balances, limit and step-up counters, FX rates, and
    what the route asked for, in ONE BatchGetItem)
    → 403 account_frozen → 403 kyc_required (and the step-up failures' block) → the route's own checks (403/404/409/422)
    → 422 insufficient_funds → 422 limit_exceeded → step-up (or the transfer's confirmation)
    → ONE TransactWriteItems: the ledger posting, the route's writes, the KYC limit counters, the
      day's step-up budget, the request's answer under its Idempotency-Key, and a condition that
      the payer's account is still not frozen (a freeze committed after the read refuses it all),
      and the large-debit notice's rows in the notice outbox
    → the large-debit notice's first send (retried by `notify_dispatch` if it fails).

When the transaction is refused (a concurrent request changed something), everything is read again
in one call and the same checks run in the same order, so the answer is the refusal that now
holds; only then is the posting retried. A rule added here applies to every route at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any, ClassVar

from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import DEBIT_KINDS, phrase
from chalicelib.services.common import notice_outbox
from chalicelib.services.common.money import BASE_CURRENCY, EXPONENTS, format_amount
from chalicelib.services.common.unit_of_work import Work
from chalicelib.services.identity import notices, protection, reauth
from chalicelib.services.wallet import ledger, limits, step_up
from chalicelib.services.wallet.ledger import BalanceState, Posted, Posting, user_account
from chalicelib.store.batch import batch_get
from chalicelib.store.catalog import FX_RATES, LATEST, CatalogItem
from chalicelib.store.counters import Counter
from chalicelib.store.kyc import CURRENT, KycRecord
from chalicelib.store.notices import Notice
from chalicelib.store.users import User
from chalicelib.store.wallet import Balance

# Configuration: a debit above this many CNY minor units (CNY equivalent) sends a notice.
NOTICE_ABOVE_CNY = 5_000_00

PAYER_NOT_FROZEN = "payer_not_frozen"  # the label of the payer's ConditionCheck in the transaction

Check = Callable[[], None]
ReadKey = tuple[type, tuple]


@dataclass
class Payer:
    """Everything a money-out decision needs about the payer, read in one BatchGetItem."""

    user: User
    level: int
    real_name: str | None
    balances: dict[tuple[str, str], BalanceState]  # (user id, currency): the payer's and any asked for
    limit_used: int
    budget_used: int
    step_up_failures: int
    rates: dict[str, str]
    extras: dict[Any, Any]  # whatever else the route asked for in the same read
    now: datetime

    def available(self, currency: str) -> int:
        state = self.balances.get((self.user.user_id, currency))
        return state.available if state else 0


@dataclass(frozen=True)
class Answer:
    """What the route answers: its status and body."""

    status: int
    body: Any


class AwaitConfirmation(Exception):
    """The movement needs the payer's confirmation first (a transfer's code): `Debit.hold` answers."""


@dataclass
class Debit:
    """One way money leaves a wallet. Subclasses say what is particular to their route."""

    kind: ClassVar[str]  # "payment" | "transfer" | "withdrawal" | "conversion"
    counts_towards_limit: ClassVar[bool] = True  # the KYC level's cap
    uses_budget: ClassVar[bool] = True  # the day's step-up budget (and its failures' block)

    payer_id: str
    currency: str
    amount: int
    session_id: str | None = field(default=None, kw_only=True)

    def reads(self) -> list[ReadKey]:
        """More items for the one read (a merchant, a payee, a card …)."""
        return []

    def checks(self, payer: Payer) -> list[Check]:
        """The route's own refusals, in the contract's order, between KYC and the funds check."""
        return []

    def authorize(self, payer: Payer, cny: int) -> bool:
        """The step-up: True when the payer proved it (the budget then need not hold at commit)."""
        return False

    def over_budget(self, payer: Payer) -> Exception:
        """The refusal when a concurrent movement spent the day's budget before this one committed."""
        return step_up.step_up_required(payer.user)

    def hold(self, payer: Payer, cny: int) -> Answer:
        """The answer while the movement waits for confirmation (only a transfer waits)."""
        raise NotImplementedError

    def posting(self, payer: Payer) -> Posting:
        raise NotImplementedError

    def write(self, work: Work, payer: Payer, posted: Posted) -> None:
        """The route's own writes in the posting's transaction (a claim, the transfer's record …)."""

    def answer(self, payer: Payer, posted: Posted) -> Answer:
        raise NotImplementedError

    def after_posting(self, payer: Payer, posted: Posted, cny: int) -> None:
        """What follows the committed posting, before the notice: a withdrawal's payout."""

    def counterparty_for_notice(self, payer: Payer) -> str:
        """Who or what the money went to, as the large-debit notice names it."""
        raise NotImplementedError


def run(debit: Debit, now: datetime) -> Answer:
    """Check, post and answer `debit` as described above."""

    def load() -> Payer:
        return load_payer(debit.payer_id, debit.currency, now, extra=debit.reads())

    payer = load()
    cny = cny_equivalent(debit.amount, debit.currency, payer.rates)
    _run_checks(debit, payer, cny)
    try:
        proved = debit.authorize(payer, cny)
    except AwaitConfirmation:
        return debit.hold(payer, cny)
    capped = debit.uses_budget and not proved
    large_debit = _large_debit_notices(payer, debit, cny, now)

    def recheck() -> dict[tuple[str, str], BalanceState]:
        fresh = load()
        _run_checks(debit, fresh, cny)
        if capped and step_up.needs_step_up(fresh.budget_used, cny):
            raise debit.over_budget(fresh)
        return fresh.balances

    def write(work: Work, posted: Posted) -> None:
        debit.write(work, payer, posted)
        # A freeze landing between the read and this write refuses it; `recheck` then answers 403.
        work.condition_check(User, debit.payer_id, condition=protection.not_frozen(), label=PAYER_NOT_FROZEN)
        if debit.counts_towards_limit:
            limits.count_in(work, debit.payer_id, payer.level, cny, now)
        if debit.uses_budget:
            step_up.count_budget(work, debit.payer_id, cny, now, capped=capped)
        notice_outbox.record_in(work, large_debit)  # the notice commits with the money, or not at all
        answer = debit.answer(payer, posted)
        work.answer(answer.status, answer.body)  # stored if and only if the money moves

    posting = debit.posting(payer)
    try:
        posted = ledger.post(posting, now, balances=payer.balances, extra=write, on_conflict=recheck)
    except AwaitConfirmation:
        return debit.hold(payer, cny)
    try:
        debit.after_posting(payer, posted, cny)
    except OkpayError:  # undone (the payout refused, the money returned): the notice would not be true
        notice_outbox.withdraw(large_debit)
        raise
    logger.info(f"{debit.kind} completed", extra={"user_id": debit.payer_id, "event": debit.kind})
    notice_outbox.send_after_commit(large_debit, now, notices.LATE_PARAMS)
    return debit.answer(payer, posted)


def _run_checks(debit: Debit, payer: Payer, cny: int) -> None:
    protection.refuse_if_frozen(payer.user)  # right after validation, before kyc_required (section 11)
    if payer.level < 1:
        raise OkpayError("kyc_required")
    if debit.uses_budget and reauth.step_ups_blocked(payer.step_up_failures):
        raise OkpayError("forbidden")  # until the next password login clears the day's counter
    for check in debit.checks(payer):
        check()
    if payer.available(debit.currency) < debit.amount:
        raise OkpayError("insufficient_funds")
    if debit.counts_towards_limit:
        allowance = limits.allowance_from(payer.user.user_id, payer.level, payer.limit_used, payer.now)
        if cny > allowance.remaining:
            raise OkpayError("limit_exceeded", details=allowance.exceeded_details())


def load_payer(user_id: str, currency: str, now: datetime, extra: list[ReadKey] | None = None) -> Payer:
    """The payer and everything the checks read, in ONE strongly consistent BatchGetItem."""
    wanted: list[ReadKey] = [
        (User, (user_id,)),
        (KycRecord, (user_id, CURRENT)),
        (Balance, (user_account(user_id), currency)),
        (CatalogItem, (FX_RATES, LATEST)),
        (Counter, (step_up.budget_counter_id(user_id, now),)),
        (Counter, (reauth.step_up_failure_counter_id(user_id, now),)),
        *((Counter, (counter_id,)) for counter_id in limits.counter_keys(user_id, now)),
        *(extra or []),
    ]
    found = batch_get(wanted)
    user = found[(User, (user_id,))]
    if user is None or user.status == "closed":
        raise OkpayError("unauthorized")  # a frozen payer is refused by the checks: 403 account_frozen
    rates = found[(CatalogItem, (FX_RATES, LATEST))]
    if rates is None:
        raise OkpayError("try_again", retry_after=60)
    case = found[(KycRecord, (user_id, CURRENT))]
    level = int(case.level or 0) if case else 0
    window = limits.window_of(level, now)[1]
    limit_counter = found.get((Counter, (limits.limit_counter_id(user_id, window),))) if window else None
    budget = found[(Counter, (step_up.budget_counter_id(user_id, now),))]
    failures = found[(Counter, (reauth.step_up_failure_counter_id(user_id, now),))]
    balances = {
        (item.account_id.split("#", 1)[1], item.currency): BalanceState(int(item.available), int(item.version))
        for (model, _), item in found.items()
        if model is Balance and item is not None
    }
    asked = set(extra or [])
    return Payer(
        user=user,
        level=level,
        real_name=case.approved_real_name if case else None,
        balances=balances,
        limit_used=int(limit_counter.count) if limit_counter else 0,
        budget_used=int(budget.count) if budget else 0,
        step_up_failures=int(failures.count) if failures else 0,
        rates={str(k): str(v) for k, v in rates.rates.as_dict().items()},
        extras={key: value for key, value in found.items() if key in asked},
        now=now,
    )


def cny_equivalent(amount: int, currency: str, rates: dict[str, str]) -> int:
    """Minor units of CNY, rounded up (contract, section 4)."""
    exact = Decimal(amount) * Decimal(rates[BASE_CURRENCY]) / Decimal(rates[currency])
    exact *= Decimal(10) ** (EXPONENTS[BASE_CURRENCY] - EXPONENTS[currency])
    return int(exact.to_integral_value(rounding=ROUND_CEILING))


def _large_debit_notices(payer: Payer, debit: Debit, cny: int, now: datetime) -> list[Notice]:
    """The email and SMS telling the user of a debit above the threshold, so activity they do not
    recognise reaches them at once; recorded in the debit's own transaction (the notice outbox), and
    never in the way of the money (a notice that cannot be built is logged, the debit goes on)."""
    if cny <= NOTICE_ABOVE_CNY:
        return []
    user = payer.user
    try:
        what = phrase(DEBIT_KINDS, debit.kind, user.locale, counterparty=debit.counterparty_for_notice(payer))
        return notices.security_notices(
            user,
            "large_debit",
            now,
            amount=format_amount(debit.amount, debit.currency),
            what=what,
            threshold=format_amount(NOTICE_ABOVE_CNY, BASE_CURRENCY),
        )
    except Exception:
        logger.exception("large-debit notice not built", extra={"user_id": user.user_id})
        return []
