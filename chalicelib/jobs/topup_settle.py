"""`topup_settle` job (every 5 min): top-ups whose outcome nobody learnt are settled by asking the bank.

A top-up attempt is recorded `pending` before its card is charged (chalicelib/services/wallet/topups.py).
When the answer is lost (a timeout, a crash) and the client never retries with the same key, the
attempt stays pending. This job finds those whose `settle_due` (last charge sent + 2 min) has
passed through the sparse GSI `transactions.by_settle_due`, one Query per shard (never a Scan),
re-reads each attempt from the base table and asks the bank about its reference:
approved → posted (credited once), declined → `declined`, no charge → `failed`.

Every write is conditional on the attempt still being pending (the posting also on its header not
existing), so overlapping runs, and a request retrying the same key at the same moment, credit an
attempt exactly once. A run handles at most MAX_ATTEMPTS; the next run picks up the rest.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.services.wallet import topups as wallet
from chalicelib.store.wallet import TopUpAttempt

JOB = "topup_settle"
MAX_ATTEMPTS = 500
PAGE = 100


def run(now: datetime) -> dict[str, Any]:
    tally: Counter[str] = Counter()
    due = clock.stamp(now)
    for shard in wallet.settle_shards():
        for key in TopUpAttempt.by_settle_due.query(shard, TopUpAttempt.settle_due <= due, page_size=PAGE):
            tally["checked"] += 1
            tally[wallet.settle(key.object_id, now)] += 1
            if tally["checked"] >= MAX_ATTEMPTS:
                break
        if tally["checked"] >= MAX_ATTEMPTS:
            break
    return {
        "ran_at": clock.isoformat(now),
        "checked": tally["checked"],
        "credited": tally["credited"],
        "declined": tally["declined"],
        "failed": tally["failed"],
        "unknown": tally["unknown"],
        "skipped": tally["skipped"],
    }
