"""The reconciliation checks: a batch of ledger entries against the derived and the live balances.

`reconcile` (chalicelib/jobs/reconcile.py) reads entries posted since its checkpoint in batches;
each batch holds every entry posted in a time slice `[position, frontier)`, and since all legs of
one transaction share its posting stamp, whole transactions. For a batch this module

- checks that each transaction's legs sum to zero per currency;
- folds the entries into the `recon#…` items (per account with the shard suffix dropped, and
  `recon#ledger` for every account together), applying an entry only when it is posted at or
  after the item's `through`, so a batch applied twice adds nothing twice;
- on user wallets walks the entries in `version` order (gap-free by construction): each entry's
  `balance_after` must be the previous one plus its amount, never below zero. A version missing
  while a later one is here is *held* until the run has read past its grace period (a request
  that lost a race posts its start time with the next version, so versions and stamps near a
  cutoff can disagree), then reported as `version_gap`;
- merchants never below zero; system accounts may be;
- compares each touched wallet's live `balances` item by version: when the item is at the last
  version checked, `available` must equal the checked sum; when it has moved on (entries after
  the cutoff), those entries are checked against it in a later run, through `balance_after`.

After a mismatch on a wallet the check carries on from the ledger's own `balance_after`, so one
fault is reported once, not on every later entry; `recon#ledger` keeps the raw sums.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.services.common.money import CURRENCIES
from chalicelib.store.reconciliation import LEDGER_TOTAL, ReconBalance, ReconRun, latest_done_run
from chalicelib.store.wallet import Balance, LedgerEntry

# A version missing this long before the batch's frontier is lost, not just posted late. Entries
# carry their request's start time (a top-up's includes the bank call), so a request that lost a
# race can hold a later version with an earlier stamp by seconds, a slow gateway call by more.
GAP_GRACE = timedelta(minutes=15)
MAX_STORED_MISMATCHES = 100


def stamp_of(entry: LedgerEntry) -> str:
    return entry.entry_key.split("#", 1)[0]


def signed(entry: LedgerEntry) -> int:
    return int(entry.amount) if entry.direction == "credit" else -int(entry.amount)


def account_of(entry: LedgerEntry) -> str:
    """The account an entry belongs to, shards merged: "user#usr_…", "merchant#mer_…", "system#fx"."""
    if entry.account_type == "user_wallet":
        return entry.account_id
    return entry.account_id.rsplit("#", 1)[0]


def recon_key(account: str) -> str:
    return f"recon#{account}"


@dataclass
class BatchOutcome:
    items: list[tuple[ReconBalance, str | None]]  # (new state, the `through` it was read with)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    newly_checked: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # currency -> accounts


def mismatch(kind: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, **{name: value for name, value in fields.items() if value is not None}}


def check_transactions(entries: list[LedgerEntry]) -> list[dict[str, Any]]:
    """Each transaction's legs sum to zero per currency."""
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for entry in entries:
        sums[(entry.transaction_id, entry.currency)] += signed(entry)
    return [
        mismatch("transaction_unbalanced", transaction_id=txn, currency=currency, expected=0, found=total)
        for (txn, currency), total in sorted(sums.items())
        if total != 0
    ]


def apply_batch(
    entries: list[LedgerEntry],
    frontier: str,
    run_id: str,
    stored: dict[tuple[str, str], ReconBalance],
    now_stamp: str,
) -> BatchOutcome:
    """Fold the batch `[position, frontier)` into the recon items read as `stored`."""
    outcome = BatchOutcome(items=[])
    outcome.mismatches.extend(check_transactions(entries))
    by_account: dict[tuple[str, str], list[LedgerEntry]] = defaultdict(list)
    by_currency: dict[str, list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        by_account[(account_of(entry), entry.currency)].append(entry)
        by_currency[entry.currency].append(entry)
    for (account, currency), account_entries in sorted(by_account.items()):
        item = stored.get((recon_key(account), currency))
        read_through = item.through if item is not None else None
        if item is None:
            item = ReconBalance(recon_key(account), currency, total=0, entries=0)
        if item.checked_run != run_id:
            outcome.newly_checked[currency] += 1
        if account.startswith("user#"):
            outcome.mismatches.extend(_apply_wallet(item, account, account_entries, frontier))
        else:
            fresh = _not_yet_applied(item, account_entries)
            item.total = int(item.total or 0) + sum(signed(entry) for entry in fresh)
            item.entries = int(item.entries or 0) + len(fresh)
            if account.startswith("merchant#") and item.total < 0:
                outcome.mismatches.append(
                    mismatch("negative_balance", account=account, currency=currency, found=int(item.total))
                )
        item.through = max(read_through or "", frontier)
        item.checked_run = run_id
        item.updated_at = now_stamp
        outcome.items.append((item, read_through))
    for currency, currency_entries in sorted(by_currency.items()):
        item = stored.get((LEDGER_TOTAL, currency))
        read_through = item.through if item is not None else None
        if item is None:
            item = ReconBalance(LEDGER_TOTAL, currency, total=0, entries=0)
        fresh = _not_yet_applied(item, currency_entries)
        item.total = int(item.total or 0) + sum(signed(entry) for entry in fresh)
        item.entries = int(item.entries or 0) + len(fresh)
        item.through = max(read_through or "", frontier)
        item.updated_at = now_stamp
        outcome.items.append((item, read_through))
    return outcome


def _not_yet_applied(item: ReconBalance, entries: list[LedgerEntry]) -> list[LedgerEntry]:
    return [entry for entry in entries if item.through is None or stamp_of(entry) >= item.through]


def _apply_wallet(item: ReconBalance, account: str, entries: list[LedgerEntry], frontier: str) -> list[dict]:
    """Walk a wallet's entries in version order from the item's last version; hold those past a gap."""
    currency = item.currency
    found: list[dict[str, Any]] = []
    version = int(item.version or 0)
    total = int(item.total or 0)
    candidates: dict[int, dict[str, Any]] = {int(held["v"]): held for held in item.held or []}
    for entry in _not_yet_applied(item, entries):
        if entry.version is None or entry.balance_after is None:
            found.append(mismatch("balance_after_mismatch", account=account, currency=currency, detail=_ref(entry)))
            continue
        candidates.setdefault(
            int(entry.version),
            {
                "v": int(entry.version),
                "d": signed(entry),
                "b": int(entry.balance_after),
                "s": stamp_of(entry),
                "e": entry.entry_id,
            },
        )
    pending = sorted((v, c) for v, c in candidates.items() if v > version)
    grace_line = clock.stamp(clock.from_stamp(frontier) - GAP_GRACE)
    applied = 0
    while pending:
        next_version, candidate = pending[0]
        if next_version != version + 1:
            if candidate["s"] >= grace_line:
                break  # the missing version may still be posted just after this batch: hold
            found.append(
                mismatch(
                    "version_gap",
                    account=account,
                    currency=currency,
                    expected=version + 1,
                    found=next_version,
                    detail={"missing_versions": [version + 1, next_version - 1], "entry_id": candidate["e"]},
                )
            )
            total = candidate["b"] - candidate["d"]  # carry on from the ledger's own chain
        pending.pop(0)
        version = next_version
        expected = total + candidate["d"]
        if candidate["b"] != expected:
            found.append(
                mismatch(
                    "balance_after_mismatch",
                    account=account,
                    currency=currency,
                    expected=expected,
                    found=candidate["b"],
                    detail={"version": next_version, "entry_id": candidate["e"]},
                )
            )
        total = candidate["b"]
        applied += 1
        if total < 0:
            found.append(
                mismatch(
                    "negative_balance",
                    account=account,
                    currency=currency,
                    found=total,
                    detail={"version": next_version, "entry_id": candidate["e"]},
                )
            )
    item.version = version
    item.total = total
    item.entries = int(item.entries or 0) + applied
    item.held = [candidate for _, candidate in pending] or None
    return found


def revisit_wallet(item: ReconBalance, frontier: str, now_stamp: str) -> list[dict[str, Any]]:
    """A wallet holding entries past a version gap, with no new entries: report the gap once the
    run has read far enough past it, and apply what follows."""
    found = _apply_wallet(item, item.account_id.removeprefix("recon#"), [], frontier)
    item.through = max(item.through or "", frontier)
    item.updated_at = now_stamp
    return found


def _ref(entry: LedgerEntry) -> dict[str, Any]:
    return {"entry_id": entry.entry_id, "transaction_id": entry.transaction_id}


def check_wallets(items: list[ReconBalance], live: dict[tuple[str, str], Balance]) -> list[dict[str, Any]]:
    """Each checked wallet's live balance against the sum of its entries, compared at one version."""
    found = []
    for item in items:
        account = item.account_id.removeprefix("recon#")
        if not account.startswith("user#"):
            continue
        balance = live.get((account, item.currency))
        version, total = int(item.version or 0), int(item.total or 0)
        newest = max([version] + [int(held["v"]) for held in item.held or []])
        if balance is None:
            if newest > 0:
                found.append(mismatch("balance_missing", account=account, currency=item.currency, expected=total))
            continue
        available, balance_version = int(balance.available), int(balance.version)
        if available < 0:
            found.append(mismatch("negative_balance", account=account, currency=item.currency, found=available))
        if balance_version == version == newest and available != total:
            found.append(
                mismatch(
                    "balance_mismatch",
                    account=account,
                    currency=item.currency,
                    expected=total,
                    found=available,
                    detail={"version": version},
                )
            )
        elif balance_version < newest:  # an entry exists for a version the balance never reached
            found.append(
                mismatch(
                    "balance_behind_ledger",
                    account=account,
                    currency=item.currency,
                    expected=newest,
                    found=balance_version,
                    detail={"available": available},
                )
            )
        # Otherwise the balance is past the last version checked (entries after the cutoff, or past
        # a gap still within its grace): those entries are checked against it in a later run.
    return found


def check_currencies(totals: dict[str, int]) -> list[dict[str, Any]]:
    return [
        mismatch("currency_unbalanced", currency=currency, expected=0, found=total)
        for currency, total in sorted(totals.items())
        if total != 0
    ]


def alert_text(mismatches: list[dict[str, Any]], total: int) -> str:
    lines = [f"{total} ledger mismatch(es) found by reconcile. First ones:"]
    for item in mismatches[:20]:
        where = item.get("account") or item.get("transaction_id") or ""
        lines.append(
            f"- {item['kind']} {where} {item.get('currency', '')} "
            f"expected={item.get('expected')} found={item.get('found')}".rstrip()
        )
    lines.append("Details: GET /admin/reconciliation/latest")
    return "\n".join(lines)


# --- the report -------------------------------------------------------------------------------


def latest_report() -> dict[str, Any]:
    """`{run_at, cutoff, ok, currencies, mismatches, …}` of the newest finished run; 404 before one."""
    run = latest_done_run()
    if run is None:
        raise OkpayError("not_found")
    return report_of(run)


def report_of(run: ReconRun) -> dict[str, Any]:
    result = run.result or {}
    currencies = result.get("currencies") or {}
    ordered = {currency: currencies.get(currency, {"sum": 0, "accounts_checked": 0}) for currency in CURRENCIES}
    ordered.update(currencies)
    return {
        "run_id": run.run_id,
        "run_at": clock.isoformat(clock.from_stamp(run.run_at)),
        "cutoff": clock.isoformat(clock.from_stamp(run.cutoff)),
        "started_from": clock.isoformat(clock.from_stamp(run.started_from)) if run.started_from else None,
        "finished_at": clock.isoformat(clock.from_stamp(run.finished_at or run.run_at)),
        "ok": int(result.get("mismatch_count", 0)) == 0,
        "entries_checked": int(result.get("entries_checked", 0)),
        "currencies": ordered,
        "mismatches": list(result.get("mismatches") or []),
        "mismatch_count": int(result.get("mismatch_count", 0)),
    }
