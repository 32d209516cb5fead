"""A unit of work: ONE TransactWriteItems holding the caller's writes and the request's answer.

    with unit_of_work(now) as work:
        work.save(record, condition=...)
        work.update(counter, actions=[...])
        work.answer(201, view)  # stored under the request's Idempotency-Key, if it has one

All of it commits, or none of it. The key is the one the HTTP edge holds for this request
(`idempotency.held()`); a service never passes it around. Only a committed transaction marks the
answer stored, so a refused one leaves the edge to store the refusal (or let the key go) as the
contract says: nothing to undo by hand.

When the transaction is refused because a duplicate request already answered under the same key
(an internal movement puts its answer only where the key is free), `KeyTaken` carries that answer
to the edge, which replays it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters import clock
from chalicelib.services.common import idempotency
from chalicelib.store.base import shared_connection

# PynamoDB sends a transaction's items grouped in this order (pynamodb/connection/base.py).
_ITEM_ORDER = ("condition_check", "delete", "save", "update")


class Work:
    """The writes of one transaction being built."""

    def __init__(self, transaction: TransactWrite, hold: idempotency.Hold | None, now: datetime) -> None:
        self._transaction = transaction
        self._hold = hold
        self._now = now
        self._labels: dict[str, list[Any]] = {kind: [] for kind in _ITEM_ORDER}
        self._answer_at: tuple[str, int] | None = None
        self.answered = False
        self.reopened = False

    # `label`: how the writer names the item, to tell which of its conditions refused the transaction.
    def save(self, item: Any, condition: Any = None, label: Any = None) -> None:
        self._add("save", label)
        self._transaction.save(item, condition=condition)

    def update(self, item: Any, actions: list[Any], condition: Any = None, label: Any = None) -> None:
        self._add("update", label)
        self._transaction.update(item, actions=actions, condition=condition)

    def delete(self, item: Any, condition: Any = None, label: Any = None) -> None:
        self._add("delete", label)
        self._transaction.delete(item, condition=condition)

    def condition_check(
        self, model: type, hash_key: Any, range_key: Any = None, condition: Any = None, label: Any = None
    ) -> None:
        self._add("condition_check", label)
        self._transaction.condition_check(model, hash_key, range_key=range_key, condition=condition)

    def answer(self, status: int, body: Any) -> None:
        """The request's answer, stored with these writes (nothing to store without a key)."""
        if self._hold is None:
            return
        kind = "save" if self._hold.attempt is None else "update"
        self._answer_at = (kind, len(self._labels[kind]))
        self._add(kind, "idempotency")
        idempotency.answer_in(self._transaction, self._hold, status, body, self._now)
        self.answered = True

    def reopen_key(self) -> None:
        """Undo an answer stored by an earlier transaction (a reversal): the edge stores the new one."""
        if self._hold is not None and self._hold.attempt is not None:
            self._add("update", "idempotency")
            idempotency.reopen_in(self._transaction, self._hold)
            self.reopened = True

    def refused(self, error: TransactWriteError) -> list[Any] | None:
        """The labels of the items whose condition refused the transaction; None when DynamoDB did
        not say (no cancellation reasons, or not one per item)."""
        reasons = getattr(error, "cancellation_reasons", None)
        order = [label for kind in _ITEM_ORDER for label in self._labels[kind]]  # as PynamoDB sends them
        if not reasons or len(reasons) != len(order):
            return None
        return [
            label for label, reason in zip(order, reasons, strict=True) if reason is not None and reason.code != "None"
        ]

    def lost_key(self, error: TransactWriteError) -> bool:
        """Whether this transaction was refused because the key was answered already."""
        if self._answer_at is None or self._hold is None or self._hold.attempt is not None:
            return False
        refused = self.refused(error)
        return refused is None or "idempotency" in refused  # not told: the key is looked up

    def _add(self, kind: str, label: Any) -> None:
        self._labels[kind].append(label)


@contextmanager
def unit_of_work(now: datetime | None = None) -> Iterator[Work]:
    """Build the transaction in the block; it commits when the block ends without an exception.
    `now` dates the stored answer (default: the clock's now)."""
    now = now or clock.now()
    hold = idempotency.held()
    transaction = TransactWrite(connection=shared_connection())
    work = Work(transaction, hold, now)
    try:
        with transaction:
            yield work
    except TransactWriteError as error:
        if hold is not None and work.lost_key(error):
            replay = idempotency.stored_answer(hold, now)  # 422 for another body
            if replay is not None:
                raise idempotency.KeyTaken(replay) from None
        raise  # refused for another reason (or the answer expired meanwhile): the caller's to handle
    if hold is not None and work.answered:
        hold.stored = True
    if hold is not None and work.reopened:
        hold.stored = False
