"""Request and response models of the history routes (chalicelib/api/wallet/history.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.adapters import clock
from chalicelib.api.schemas.common import Currency, Instant, Page, PageQuery, ResponseBody
from chalicelib.api.schemas.wallet import Transaction

TransactionType = Literal["topup", "withdrawal", "transfer", "payment", "refund", "conversion", "adjustment"]


def _check_instant(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        clock.parse_instant(value)
    except ValueError:
        raise PydanticCustomError("datetime", "not an ISO 8601 date and time") from None
    return value


class HistoryQuery(PageQuery):
    type: TransactionType | None = Field(default=None, description="Only entries of this transaction type.")
    currency: Currency | None = Field(default=None, description="Only entries in this currency.")
    from_: Instant | None = Field(
        default=None,
        alias="from",
        description="Inclusive lower bound on `created_at` (ISO 8601 with offset; without one, Asia/Shanghai).",
    )
    to: Instant | None = Field(default=None, description="Exclusive upper bound on `created_at`; later than `from`.")

    _instants = field_validator("from_", "to")(_check_instant)


class TransactionPage(Page):
    """Newest first. With `type` or `currency` a page may be short while `next_cursor` is not null."""

    data: list[Transaction]


class OtherLeg(ResponseBody):
    """Another account's side of the transaction: no account id, no balance."""

    account_type: Literal["user_wallet", "merchant", "system"]
    amount: int = Field(description="Positive, minor units.")
    currency: Currency


class TransactionDetail(Transaction):
    """One transaction as the caller sees it.

    The top-level fields are the caller's primary entry (its debit when it has one, as a conversion's
    POST answers with its debit side; else its first credit). `entries` lists all of the caller's own
    entries in this transaction (two for a conversion, one otherwise), each a `{transaction}` with
    `balance_after`; `legs` are the other accounts' sides, anonymised to type, amount and currency.
    """

    entries: list[Transaction]
    legs: list[OtherLeg]


class CurrencyCheck(ResponseBody):
    sum: int = Field(description="Σ of every account's entries in this currency up to the cutoff; 0 when balanced.")
    accounts_checked: int = Field(description="Accounts (shards merged) with entries in this currency in this run.")


class Mismatch(ResponseBody):
    kind: Literal[
        "transaction_unbalanced",
        "currency_unbalanced",
        "balance_after_mismatch",
        "version_gap",
        "balance_mismatch",
        "balance_missing",
        "balance_behind_ledger",
        "negative_balance",
    ]
    account: str | None = Field(default=None, description='"user#usr_…", "merchant#mer_…" or "system#<name>".')
    currency: str | None = None
    transaction_id: str | None = None
    expected: int | None = None
    found: int | None = None
    detail: dict[str, Any] | None = None


class ReconciliationReport(ResponseBody):
    run_id: str
    run_at: str = Field(description="When the run started (ISO 8601, +08:00).")
    cutoff: str = Field(description="Entries posted before this moment were checked (run start − 5 min).")
    started_from: str | None = Field(description="The previous run's cutoff; null for the first run.")
    finished_at: str
    ok: bool = Field(description="True when the run found no mismatch.")
    entries_checked: int
    currencies: dict[str, CurrencyCheck]
    mismatches: list[Mismatch] = Field(description="At most 100; `mismatch_count` has the total.")
    mismatch_count: int
