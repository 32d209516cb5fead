"""A wallet's history: its ledger entries newest first, and one transaction as its owner sees it.

A page is ONE Query on the wallet's own ledger partition `user#<id>` (every currency of one
wallet), newest first (`ScanIndexForward = false`), with `from`/`to` as a key condition on
`entry_key` (`"<UTC stamp>#<entry_id>"`: `from` inclusive, `to` exclusive, since a key at instant
t sorts after the bare stamp t) and `type`/`currency` as a filter, so a page may be short while
more remain. The cursor (signed at the edge, chalicelib/api/pagination.py) is the Query's
LastEvaluatedKey, with a scope naming the user and the filters. Keys are unique and totally
ordered, so paging on from a key never repeats or skips an entry that existed when the first page
was read; an entry posted meanwhile sorts above the first page (or, when its request started
before that page was read, into its own place further down) and is shown at most once. Reads are
strongly consistent: a movement just made is on the next first page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.services.wallet.ledger import user_account
from chalicelib.services.wallet.transaction_view import transaction_item
from chalicelib.store.wallet import LedgerEntry, TransactionRecord

_TRANSACTION_ID = re.compile(r"^txn_[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class HistoryFilter:
    type: str | None = None
    currency: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    @property
    def low(self) -> str | None:
        return clock.stamp(self.since) if self.since is not None else None

    @property
    def high(self) -> str | None:
        return clock.stamp(self.until) if self.until is not None else None

    def scope(self, user_id: str) -> str:
        """What a cursor is signed for: this user and these filters (dates as stored stamps)."""
        return f"history#{user_id}#{self.type or ''}#{self.currency or ''}#{self.low or ''}#{self.high or ''}"


@dataclass
class HistoryPage:
    data: list[dict[str, Any]]
    last_key: dict[str, Any] | None  # the Query's LastEvaluatedKey: where the next page starts


def list_transactions(user_id: str, filters: HistoryFilter, *, limit: int, start: Any = None) -> HistoryPage:
    """One page of the wallet's entries, newest first, from `start` (a decoded cursor)."""
    low, high = filters.low, filters.high
    if low is not None and high is not None and high <= low:
        raise OkpayError("validation_error", field="to", reason="too_small")
    account = user_account(user_id)
    start_key = _start_key(start, account) if start is not None else None

    key_condition = None
    if low is not None and high is not None:
        key_condition = LedgerEntry.entry_key.between(low, high)  # no key equals a bare stamp
    elif low is not None:
        key_condition = LedgerEntry.entry_key >= low
    elif high is not None:
        key_condition = LedgerEntry.entry_key < high
    filter_condition = None
    if filters.type is not None:
        filter_condition = LedgerEntry.type == filters.type
    if filters.currency is not None:
        by_currency = LedgerEntry.currency == filters.currency
        filter_condition = by_currency if filter_condition is None else filter_condition & by_currency

    results = LedgerEntry.query(
        account,
        key_condition,
        filter_condition,
        consistent_read=True,
        scan_index_forward=False,
        last_evaluated_key=start_key,
        page_size=limit,
    )
    page = next(results.page_iter, None) or {}  # exactly one Query request
    items = [transaction_item(LedgerEntry.from_raw_data(raw)) for raw in page.get("Items", [])]
    return HistoryPage(items, page.get("LastEvaluatedKey") or None)


def _start_key(position: Any, account: str) -> dict[str, Any]:
    """A signed cursor is ours; still, only a key in the caller's own partition is used."""
    try:
        if position["account_id"] == {"S": account} and isinstance(position["entry_key"]["S"], str):
            return {"account_id": {"S": account}, "entry_key": {"S": position["entry_key"]["S"]}}
    except (KeyError, TypeError):
        pass
    raise OkpayError("invalid_cursor", field="cursor")


def transaction_detail(user_id: str, transaction_id: str) -> dict[str, Any]:
    """The caller's entries of one transaction, and the other legs without ids or balances.

    The top level is the caller's primary entry: its debit when it has one (a conversion's POST
    answers with the debit side too), else its first entry.
    """
    if not _TRANSACTION_ID.match(transaction_id):
        raise OkpayError("not_found")
    try:
        header = TransactionRecord.get(transaction_id, consistent_read=True)
    except TransactionRecord.DoesNotExist:
        raise OkpayError("not_found") from None
    if header.kind != "transaction" or user_id not in (header.parties or []):
        raise OkpayError("not_found")
    account = user_account(user_id)
    legs = header.legs or []
    own_keys = [(leg["account_id"], leg["entry_key"]) for leg in legs if leg["account_id"] == account]
    if not own_keys:
        raise OkpayError("not_found")  # a party always has a leg; nothing to show otherwise
    found = {
        (entry.account_id, entry.entry_key): entry for entry in LedgerEntry.batch_get(own_keys, consistent_read=True)
    }
    entries = [transaction_item(found[key]) for key in own_keys if key in found]
    if not entries:
        raise OkpayError("not_found")
    primary = next((entry for entry in entries if entry["direction"] == "debit"), entries[0])
    others = [
        {"account_type": leg["account_type"], "amount": int(leg["amount"]), "currency": leg["currency"]}
        for leg in legs
        if leg["account_id"] != account
    ]
    return {**primary, "entries": entries, "legs": others}


def debits_since(user_id: str, since: datetime, *, limit: int = 100) -> list[dict[str, Any]]:
    """The wallet's debits posted at or after `since`, newest first, at most `limit` (a freeze's
    security ticket lists them): one strongly consistent Query on the wallet's own partition."""
    results = LedgerEntry.query(
        user_account(user_id),
        LedgerEntry.entry_key >= clock.stamp(since),
        LedgerEntry.direction == "debit",
        consistent_read=True,
        scan_index_forward=False,
        limit=limit,
    )
    return [transaction_item(entry) for entry in results]
