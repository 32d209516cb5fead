"""What the outbox jobs share: due items read from a sparse, sharded GSI one Query per shard (never a
Scan, no hot partition), within a run budget, attempted a few at once, and a backoff schedule bounded
by a deadline.

Both outbox jobs use it: `notify_dispatch` (chalicelib/services/common/notice_outbox.py) and
`webhook_dispatch` (chalicelib/services/wallet/webhooks.py `dispatch_due`). What differs stays with
each: its claim and lease, how an outcome is recorded, and its retry schedule (webhooks keep the
contract's fixed one and do not use `next_attempt_at`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import TypeVar

Key = TypeVar("Key")
Outcome = TypeVar("Outcome")


class RunBudget:
    """A job run starts no attempt once `seconds` have passed (the function's timeout comes later)."""

    def __init__(self, seconds: float) -> None:
        self._ends = time.monotonic() + seconds

    def spent(self) -> bool:
        return time.monotonic() > self._ends


def due_keys(query: Callable[[str, str], Iterable[Key]], shards: int, until: str, budget: RunBudget) -> Iterator[Key]:
    """The keys `query(shard, until)` finds in each shard `00`…, until the budget is spent (the rest
    stay due for the next run)."""
    for shard in range(shards):
        for key in query(f"{shard:02d}", until):
            if budget.spent():
                return
            yield key


def in_pool(items: Iterable[Key], work: Callable[[Key], Outcome], workers: int) -> Iterator[Outcome]:
    """`work` on each item, up to `workers` at once (each attempt waits on SES, SNS or a webhook
    receiver, not on the CPU). Items are taken only as workers free up, so a lazy `items` such as
    `due_keys` stops taking when its budget is spent."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        running: set[Future[Outcome]] = set()
        for item in items:
            running.add(pool.submit(work, item))
            if len(running) >= workers:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
        for future in running:
            yield future.result()


def next_attempt_at(
    failed_at: datetime, attempt: int, delays: Sequence[timedelta], deadline: datetime
) -> datetime | None:
    """When the attempt after failed attempt `attempt` (1-based) is due: `delays[attempt - 1]` later
    (the last delay repeats), never past `deadline`; None once an attempt at the deadline failed."""
    if failed_at >= deadline:
        return None
    return min(failed_at + delays[min(attempt, len(delays)) - 1], deadline)
