"""What every debit from a user's wallet shares once its checks have passed.

- `post`: the ledger posting with the route's re-check on a failed attempt, keeping the route's
  Idempotency-Key hold right. The answer is stored by `idempotency.finish_in` inside the posting's
  transaction; when that transaction is refused (a business rule found by the re-check, or too
  many conflicts), nothing was written, so the hold is given back to the HTTP edge, which stores
  the refusal (or lets the key go) as the contract says.
- `notify_if_large`: a debit above `NOTICE_ABOVE_CNY` (CNY equivalent) tells the user by email
  and SMS, so activity they do not recognise reaches them at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.logging import logger
from chalicelib.errors import OkpayError
from chalicelib.i18n.phrases import DEBIT_KINDS, pick
from chalicelib.services import ledger, notices
from chalicelib.services.money import BASE_CURRENCY, format_amount
from chalicelib.store.users import User

# Configuration: a debit above this many CNY minor units (CNY equivalent) sends a notice.
NOTICE_ABOVE_CNY = 5_000_00


def post(
    posting: ledger.Posting,
    now: datetime,
    *,
    balances: dict[tuple[str, str], ledger.BalanceState],
    slot: Any,
    extra: ledger.Extra,
    recheck: ledger.ConflictCheck,
) -> ledger.Posted:
    """`ledger.post`, giving the key's hold back when the transaction was refused."""
    try:
        return ledger.post(posting, now, balances=balances, extra=extra, on_conflict=recheck)
    except OkpayError:
        # Refused for certain (cancelled, not ambiguous): `finish_in` wrote nothing.
        if slot is not None:
            slot.finished = False
        raise


def first_problem(*checks: Any) -> OkpayError | None:
    """Run `checks` in order; the first refusal, returned rather than raised (for a re-check)."""
    try:
        for check in checks:
            check()
    except OkpayError as error:
        return error
    return None


def notify_if_large(
    user: User, kind: str, amount: int, currency: str, cny: int, counterparty: str, now: datetime
) -> None:
    """Email and SMS the user about a debit above the threshold; never fails the request."""
    if cny <= NOTICE_ABOVE_CNY:
        return
    try:
        locale = user.locale or "en"
        what = pick(DEBIT_KINDS[kind], locale).format(counterparty=counterparty)
        notices.notify_security_event(
            user,
            "large_debit",
            now,
            amount=format_amount(amount, currency),
            what=what,
            threshold=format_amount(NOTICE_ABOVE_CNY, BASE_CURRENCY),
        )
    except Exception:
        logger.exception("large-debit notice not sent", extra={"user_id": user.user_id})
