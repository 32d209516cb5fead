"""`reconcile` job (daily): the ledger before a cutoff sums to every balance and to zero per currency.

A *run* checks the entries posted in `[started_from, cutoff)`: `cutoff` = its start − 5 min (GSI
propagation, clock skew), `started_from` = the previous finished run's cutoff (the checkpoint, in
`counters` `job#reconcile` through chalicelib.store.job_state), so each run reads only what is new:
a Query on GSI `ledger.by_posting_bucket` per UTC day and shard, never a Scan.

Entries are read in batches, each a time slice `[position, frontier)` complete over all shards
(a k-way frontier: a shard whose page was cut short caps the slice at its last stamp), and
checked and folded into the `recon#…` items by chalicelib.services.wallet.reconciliation. After each
batch the run record (table `audit`, `job#reconcile`) saves its `position`, so an invocation
stops after `MAX_ENTRIES` entries or `TIME_BUDGET` seconds (inside the 30 s Lambda timeout) and
the next one resumes the same run. A lease on the run record keeps two invocations from working
on it at once; the `recon#…` items are written with a condition on what was read and add an entry
only once, so a run cut off anywhere repeats nothing.

Mismatches are kept on the run record (before the derived balances move on, so a cut-off run
cannot lose them) and sent to the alert topic once; GET /admin/reconciliation/latest serves the
newest finished run.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.adapters import clock, notify
from chalicelib.adapters.logging import logger
from chalicelib.services.common.money import CURRENCIES
from chalicelib.services.wallet import reconciliation
from chalicelib.services.wallet.ledger import LEDGER_SHARDS
from chalicelib.services.wallet.reconciliation import MAX_STORED_MISMATCHES, stamp_of
from chalicelib.store.conditions import condition_failed
from chalicelib.store.job_state import JobState
from chalicelib.store.reconciliation import LEDGER_TOTAL, RUN_SUBJECT, ReconBalance, ReconRun
from chalicelib.store.wallet import Balance, LedgerEntry

JOB = "reconcile"
MARGIN = timedelta(minutes=5)
# The first run (no checkpoint yet) starts this many UTC days before its cutoff. The job is deployed
# with the ledger and runs daily, so its first run (which every later one continues from) finds
# every entry; a wallet with older entries would show them as a version gap, not pass silently.
FIRST_RUN_DAYS = 7
PAGE = 250  # entries per shard per batch
MAX_ENTRIES = 20_000  # per invocation; the next one resumes
TIME_BUDGET = 20.0  # seconds per invocation (Lambda timeout 30 s)
LEASE = timedelta(seconds=60)
WRITERS = 8


class LostLease(Exception):
    """Another invocation took the run over: stop without writing more."""


def run(now: datetime) -> dict[str, Any]:
    started = time.monotonic()
    owner = uuid.uuid4().hex
    record = _claim_run(now, owner)
    if record is None:
        return {"ran_at": clock.isoformat(now), "state": "busy", "detail": "another invocation holds the run"}
    result = _result_of(record)
    saved_position = record.position
    batches = 0
    try:
        read = 0
        while record.position < record.cutoff:
            if read >= MAX_ENTRIES or time.monotonic() - started > TIME_BUDGET:
                break
            read += _process_batch(record, owner, result, now)
            batches += 1
        if record.position >= record.cutoff:
            _finish(record, owner, result, now)
        elif record.position != saved_position:
            _save_run(record, owner, [ReconRun.position.set(record.position)])  # past empty slices
    except LostLease:
        logger.warning("reconcile run taken over", extra={"run_id": record.run_id})
        return {"ran_at": clock.isoformat(now), "run_id": record.run_id, "state": "taken_over"}
    finally:
        _alert_new(record, owner, result)
        _release(record, owner)
    return {
        "ran_at": clock.isoformat(now),
        "run_id": record.run_id,
        "state": record.state,
        "cutoff": clock.isoformat(clock.from_stamp(record.cutoff)),
        "position": clock.isoformat(clock.from_stamp(record.position)),
        "batches": batches,
        "entries_checked": result["entries_checked"],
        "mismatch_count": result["mismatch_count"],
        "ok": record.state == "done" and result["mismatch_count"] == 0,
    }


# --- claiming a run -------------------------------------------------------------------------------


def _read_state() -> tuple[str | None, dict[str, Any]]:
    try:
        raw = JobState.get(f"job#{JOB}", consistent_read=True).position
    except JobState.DoesNotExist:
        raw = None
    return raw, (json.loads(raw) if raw else {"through": None, "run": None})


def _save_state(expected_raw: str | None, state: dict[str, Any], now: datetime) -> bool:
    raw = json.dumps(state, sort_keys=True)
    condition = (
        JobState.position == expected_raw
        if expected_raw is not None
        else JobState.counter_id.does_not_exist() | JobState.position.does_not_exist()
    )
    try:
        JobState(f"job#{JOB}", position=raw, updated_at=clock.stamp(now)).save(condition=condition)
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _claim_run(now: datetime, owner: str) -> ReconRun | None:
    """Resume the unfinished run (taking its lease), or start the next one from the checkpoint."""
    raw, state = _read_state()
    if state.get("run"):
        try:
            record = ReconRun.get(RUN_SUBJECT, state["run"], consistent_read=True)
        except ReconRun.DoesNotExist:
            record = None
        if record is not None and record.state == "running":
            return record if _take_lease(record, owner) else None
        if record is not None and record.state == "done":  # finished, but the checkpoint was not moved
            fixed = {"through": record.cutoff, "run": None, "held": (record.result or {}).get("held", [])}
        else:
            fixed = {"through": state.get("through"), "run": None, "held": state.get("held", [])}
        if not _save_state(raw, fixed, now):
            return None
        raw, state = json.dumps(fixed, sort_keys=True), fixed
    through = state.get("through")
    cutoff = clock.stamp((now - MARGIN).replace(microsecond=0))
    if through is not None and cutoff < through:
        cutoff = through  # the clock went back: nothing new to read, the sums still get reported
    if through is None:
        first_day = (clock.from_stamp(cutoff) - timedelta(days=FIRST_RUN_DAYS)).date()
        position = f"{first_day.isoformat()}T00:00:00.000000Z"
    else:
        position = through
    run_id = f"run_{uuid.uuid4().hex}"
    record = ReconRun(
        RUN_SUBJECT,
        f"{clock.stamp(clock.real_now())}#{run_id}",  # creation order, whatever `now` a local run is given
        run_id=run_id,
        state="running",
        run_at=clock.stamp(now),
        cutoff=cutoff,
        started_from=through,
        position=position,
        lease_owner=owner,
        lease_until=_lease_end(),
        invocations=1,
        result={**_empty_result(), "held": list(state.get("held", []))},
    )
    record.save(condition=ReconRun.event_key.does_not_exist())
    if not _save_state(raw, {**state, "run": record.event_key}, now):
        record.update(actions=[ReconRun.state.set("abandoned"), ReconRun.lease_until.remove()])
        return None
    return record


def _take_lease(record: ReconRun, owner: str) -> bool:
    now_real = clock.stamp(clock.real_now())
    try:
        record.update(
            actions=[
                ReconRun.lease_owner.set(owner),
                ReconRun.lease_until.set(_lease_end()),
                ReconRun.invocations.add(1),
            ],
            condition=(ReconRun.state == "running")
            & (ReconRun.lease_until.does_not_exist() | (ReconRun.lease_until < now_real)),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _lease_end() -> str:
    return clock.stamp(clock.real_now() + LEASE)


def _release(record: ReconRun, owner: str) -> None:
    try:
        record.update(actions=[ReconRun.lease_until.remove()], condition=ReconRun.lease_owner == owner)
    except UpdateError as error:
        if not condition_failed(error):
            logger.exception("reconcile lease not released", extra={"run_id": record.run_id})


def _save_run(record: ReconRun, owner: str, actions: list[Any]) -> None:
    try:
        record.update(
            actions=[*actions, ReconRun.lease_until.set(_lease_end())], condition=ReconRun.lease_owner == owner
        )
    except UpdateError as error:
        if condition_failed(error):
            raise LostLease from None
        raise


# --- one batch ------------------------------------------------------------------------------------


def _process_batch(record: ReconRun, owner: str, result: dict[str, Any], now: datetime) -> int:
    entries, frontier = read_slice(record.position, record.cutoff)
    if not entries:
        record.position = frontier  # saved with the next batch's findings, or when the invocation ends
        return 0
    keys = {(reconciliation.recon_key(reconciliation.account_of(e)), e.currency) for e in entries}
    keys |= {(LEDGER_TOTAL, e.currency) for e in entries}
    stored = {
        (item.account_id, item.currency): item for item in ReconBalance.batch_get(list(keys), consistent_read=True)
    }
    outcome = reconciliation.apply_batch(entries, frontier, record.run_id, stored, clock.stamp(now))
    wallets = [item for item, _ in outcome.items if item.account_id.startswith("recon#user#")]
    live = {
        (item.account_id, item.currency): item
        for item in Balance.batch_get(
            [(item.account_id.removeprefix("recon#"), item.currency) for item in wallets], consistent_read=True
        )
    }
    found = outcome.mismatches + reconciliation.check_wallets(wallets, live)
    _record_mismatches(result, found)
    _note_held(result, wallets)
    result["entries_checked"] += len(entries)
    for currency, count in outcome.newly_checked.items():
        result["accounts"][currency] = result["accounts"].get(currency, 0) + count
    # The findings first: once the recon items move on, a repeated batch would not find them again.
    # (`position` here is where this batch starts: the empty slices before it are done.)
    _save_run(record, owner, [ReconRun.result.set(result), ReconRun.position.set(record.position)])
    _write_items(outcome.items)
    _save_run(record, owner, [ReconRun.position.set(frontier)])
    record.position = frontier
    return len(entries)


def read_slice(position: str, cutoff: str) -> tuple[list[LedgerEntry], str]:
    """Every entry posted in `[position, frontier)` over all shards of `position`'s UTC day.

    Each shard gives at most a page; a shard cut short caps the slice at its last entry's stamp
    (the entries at that instant come whole in the next slice, with their transaction's other
    legs). A page posted entirely at `position` is read further, so every slice moves on.
    """
    day = position[:10]
    next_day = (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()
    end = min(cutoff, f"{next_day}T00:00:00.000000Z")
    read: list[LedgerEntry] = []
    frontier = end
    for shard in range(LEDGER_SHARDS):
        start = None
        while True:
            results = LedgerEntry.by_posting_bucket.query(
                f"{day}#{shard:02d}", LedgerEntry.entry_key.between(position, end), limit=PAGE, last_evaluated_key=start
            )
            items = list(results)
            read.extend(items)
            start = results.last_evaluated_key
            if start is None or not items:
                break  # the shard is read to `end`
            if stamp_of(items[-1]) > position:
                frontier = min(frontier, stamp_of(items[-1]))
                break
    return [entry for entry in read if stamp_of(entry) < frontier], frontier


def _write_items(items: list[tuple[ReconBalance, str | None]]) -> None:
    def write(pair: tuple[ReconBalance, str | None]) -> None:
        item, read_through = pair
        condition = (
            ReconBalance.through == read_through
            if read_through is not None
            else ReconBalance.account_id.does_not_exist()
        )
        try:
            item.save(condition=condition)
        except PutError as error:
            if condition_failed(error):
                raise LostLease from None
            raise

    if len(items) <= 1:
        for pair in items:
            write(pair)
        return
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(write, items))


# --- the end of a run -----------------------------------------------------------------------------


def _revisit_held(record: ReconRun, owner: str, result: dict[str, Any], now: datetime) -> None:
    """Wallets still holding entries past a version gap: has the gap outlived its grace?"""
    keys = [tuple(key.split("|", 1)) for key in result["held"]]
    if not keys:
        return
    items = list(
        ReconBalance.batch_get([(f"recon#{account}", currency) for account, currency in keys], consistent_read=True)
    )
    pairs = [(item, item.through) for item in items]
    found = []
    for item in items:
        found += reconciliation.revisit_wallet(item, record.cutoff, clock.stamp(now))
    live = {
        (item.account_id, item.currency): item
        for item in Balance.batch_get(
            [(item.account_id.removeprefix("recon#"), item.currency) for item in items], consistent_read=True
        )
    }
    found += reconciliation.check_wallets(items, live)
    _record_mismatches(result, found)
    result["held"] = []
    _note_held(result, items)
    _save_run(record, owner, [ReconRun.result.set(result)])
    _write_items(pairs)


def _note_held(result: dict[str, Any], wallets: list[ReconBalance]) -> None:
    held = set(result["held"])
    for item in wallets:
        key = f"{item.account_id.removeprefix('recon#')}|{item.currency}"
        if item.held:
            held.add(key)
        else:
            held.discard(key)
    result["held"] = sorted(held)


def _finish(record: ReconRun, owner: str, result: dict[str, Any], now: datetime) -> None:
    _revisit_held(record, owner, result, now)
    currencies = sorted(set(CURRENCIES) | set(result["accounts"]))
    totals = {currency: 0 for currency in currencies}
    for item in ReconBalance.batch_get([(LEDGER_TOTAL, c) for c in currencies], consistent_read=True):
        totals[item.currency] = int(item.total or 0)
    _record_mismatches(result, reconciliation.check_currencies(totals))
    result["currencies"] = {
        currency: {"sum": totals[currency], "accounts_checked": result["accounts"].get(currency, 0)}
        for currency in currencies
    }
    finished = clock.stamp(now)
    _save_run(
        record,
        owner,
        [
            ReconRun.state.set("done"),
            ReconRun.position.set(record.position),
            ReconRun.finished_at.set(finished),
            ReconRun.result.set(result),
        ],
    )
    record.state, record.finished_at = "done", finished
    raw, state = _read_state()
    if state.get("run") == record.event_key:
        _save_state(raw, {"through": record.cutoff, "run": None, "held": result["held"]}, now)
    logger.info(
        "reconcile run done",
        extra={"run_id": record.run_id, "entries": result["entries_checked"], "mismatches": result["mismatch_count"]},
    )


def _empty_result() -> dict[str, Any]:
    return {"entries_checked": 0, "accounts": {}, "mismatches": [], "mismatch_count": 0, "alerted": 0, "held": []}


def _result_of(record: ReconRun) -> dict[str, Any]:
    return {**_empty_result(), **(record.result or {})}


def _record_mismatches(result: dict[str, Any], found: list[dict[str, Any]]) -> None:
    known = {json.dumps(item, sort_keys=True) for item in result["mismatches"]}
    for item in found:
        key = json.dumps(item, sort_keys=True)
        if key in known:
            continue
        known.add(key)
        result["mismatch_count"] += 1
        if len(result["mismatches"]) < MAX_STORED_MISMATCHES:
            result["mismatches"].append(item)


def _alert_new(record: ReconRun, owner: str, result: dict[str, Any]) -> None:
    """Tell operators once about the mismatches this run has not reported yet."""
    unreported = result["mismatch_count"] - result.get("alerted", 0)
    if unreported <= 0:
        return
    fresh = result["mismatches"][result.get("alerted", 0) :]
    try:
        notify.alert_operators(
            f"reconcile: {unreported} ledger mismatch(es)", reconciliation.alert_text(fresh, unreported)
        )
        result["alerted"] = result["mismatch_count"]
        _save_run(record, owner, [ReconRun.result.set(result)])
    except LostLease:
        pass
    except Exception:
        logger.exception("reconcile alert not sent", extra={"run_id": record.run_id})
