"""One page of an agents' queue made of several statuses, each a Query on a `(queue, due)` GSI.

Each status is read in its index's own order from where its last page stopped, `limit + 1` items
(one more tells "this status has more" from "it ends here"), and the streams are merged by the
due time. A stream keeps the index's order even on ties (a day's disputes share 23:59:59), so
what a page takes from it is a prefix, and its last item is exactly where the next Query starts.
The position maps each status to that key (absent: from the start; None: used up).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, TypeVar

Item = TypeVar("Item")


def merge_page(
    streams: dict[str, list[Item]],
    *,
    limit: int,
    due: Callable[[Item], str],
    index_key: Callable[[Item], dict[str, Any]],
    position: dict[str, Any],
) -> tuple[list[Item], dict[str, Any] | None]:
    """The first `limit` items over all streams by `due`, and the position after them (None: the end)."""
    rows = ([(due(item), n, i, item) for i, item in enumerate(items)] for n, items in enumerate(streams.values()))
    page = [row[3] for _, row in zip(range(limit), heapq.merge(*rows), strict=False)]
    taken = {id(item) for item in page}
    following = dict(position)
    more = False
    for status, items in streams.items():
        used = sum(1 for item in items if id(item) in taken)
        if used == len(items):  # fewer than limit + 1 came back, all on this page: nothing left
            following[status] = None
            continue
        more = True
        if used:
            following[status] = index_key(items[used - 1])
    return page, (following if more else None)


def pending_statuses(statuses: list[str] | tuple[str, ...], position: dict[str, Any] | None) -> list[str]:
    """The statuses whose Query still has items (not used up on an earlier page)."""
    position = position or {}
    return [status for status in statuses if not (status in position and position[status] is None)]
