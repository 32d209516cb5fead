"""The contract's `{transaction}`: one ledger entry as the wallet's owner sees it."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import clock
from chalicelib.store.wallet import LedgerEntry


def transaction_item(entry: LedgerEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "transaction_id": entry.transaction_id,
        "entry_id": entry.entry_id,
        "type": entry.type,
        "direction": entry.direction,
        "amount": int(entry.amount),
        "currency": entry.currency,
        "status": "completed",
        "description": entry.description or "",
        "created_at": clock.isoformat(clock.from_stamp(entry.posted_at)),
        "balance_after": int(entry.balance_after) if entry.balance_after is not None else None,
    }
    if entry.counterparty:
        item["counterparty"] = entry.counterparty
    if entry.fx:
        item["fx"] = entry.fx
    return item
