"""What the `reconcile` job keeps: derived balances (table `balances`) and its runs (table `audit`).

- `ReconBalance`, `account_id = "recon#<account>"` (shard suffix dropped: `"recon#user#usr_…"`,
  `"recon#merchant#mer_…"`, `"recon#system#fx"`) and `"recon#ledger"` (every account together),
  one item per currency: the Σ of the account's entries posted before `through`. Only the job
  writes them, each with a condition on the `through` it read, and an entry is added only when its
  stamp is at or after the item's `through`, so a batch applied twice (a run cut off between its
  writes and its checkpoint) counts nothing twice. On user wallets `version` is the last entry
  applied (versions are gap-free) and `held` keeps entries read past a version gap: a request that
  lost a race posts with its start time but the next version, so near a cutoff versions and
  posting times can disagree.
  After a reported fault on a wallet its `total` follows the ledger's own `balance_after` chain;
  `recon#ledger` always holds the raw sums.
- `ReconRun`, `subject = "job#reconcile"`, `event_key = "<created stamp>#run_…"` (real time, so
  the newest run sorts last whatever `now` a local-stage run is given): one run, possibly over
  several invocations (`position`, `lease_*`), and its result once `state = "done"`.
"""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.store.base import BaseModel, StageTable

RUN_SUBJECT = "job#reconcile"
LEDGER_TOTAL = "recon#ledger"


class ReconBalance(BaseModel):
    class Meta(metaclass=StageTable):
        table = "balances"

    account_id = UnicodeAttribute(hash_key=True)  # "recon#user#usr_…", "recon#system#fx", "recon#ledger"
    currency = UnicodeAttribute(range_key=True)
    total = NumberAttribute(default=0)  # Σ credits − Σ debits of the entries applied
    entries = NumberAttribute(default=0)
    through = UnicodeAttribute(null=True)  # stamp: entries posted before it are applied
    version = NumberAttribute(null=True)  # user wallets: the last version applied
    held = JSONAttribute(null=True)  # user wallets: [{v, d, b, s, e}] read past a version gap
    checked_run = UnicodeAttribute(null=True)  # the last run that checked this account
    updated_at = UnicodeAttribute(null=True)


class ReconRun(BaseModel):
    class Meta(metaclass=StageTable):
        table = "audit"

    subject = UnicodeAttribute(hash_key=True)  # "job#reconcile"
    event_key = UnicodeAttribute(range_key=True)  # "<created stamp>#run_…"
    actor = UnicodeAttribute(default="job")
    action = UnicodeAttribute(default="reconcile")
    run_id = UnicodeAttribute()
    state = UnicodeAttribute()  # "running" | "done" | "abandoned"
    run_at = UnicodeAttribute()
    cutoff = UnicodeAttribute()
    started_from = UnicodeAttribute(null=True)  # the previous run's cutoff; None: the first run
    position = UnicodeAttribute()  # stamp: entries before it are done
    lease_owner = UnicodeAttribute(null=True)
    lease_until = UnicodeAttribute(null=True)  # real time, so a test clock cannot strand a run
    invocations = NumberAttribute(default=0)
    result = JSONAttribute(null=True)  # entries_checked, mismatches (≤ 100), mismatch_count, accounts
    finished_at = UnicodeAttribute(null=True)


def latest_done_run() -> ReconRun | None:
    """The newest finished run (GET /admin/reconciliation/latest)."""
    for run in ReconRun.query(
        RUN_SUBJECT, scan_index_forward=False, filter_condition=ReconRun.state == "done", limit=1, page_size=10
    ):
        return run
    return None
