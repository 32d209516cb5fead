"""Give moto's DynamoDB the isolation the real service has, for concurrent requests.

moto checks a condition and then writes without a lock, and a failed transaction restores a deep
copy of every table it touched, wiping what other threads wrote meanwhile. DynamoDB itself makes
each item write and each transaction atomic. The local stage serves requests on threads, and the
concurrency tests race requests on purpose, so every DynamoDB operation here runs under one lock.

moto also backs up a transaction by deep-copying every table it touches, once per item: a request's
cost grows with the table, and a long local session or bench run balloons in memory. Under the lock
nothing else writes meanwhile, so a transaction here saves only the items it touches and puts them
back when it fails, which is the same all-or-nothing at the cost of the transaction's own size.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any

_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "get_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
)
_lock = threading.RLock()
_installed = False


def make_dynamodb_atomic() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in _OPERATIONS:
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def locked(self, *args, _original=original, **kwargs):
            with _lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    DynamoDBBackend.transact_write_items = _item_backed_transaction(DynamoDBBackend.transact_write_items)
    _installed = True


def _item_backed_transaction(locked_transaction: Any) -> Any:
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _lock:
            saved = [_saved_item(self, entry) for entry in transact_items]
            with _tables_not_copied():
                try:
                    return locked_transaction(self, transact_items)
                except Exception:
                    for table_name, key, attributes in reversed([item for item in saved if item is not None]):
                        if attributes is not None:
                            self.put_item(table_name, attributes)
                        elif self.get_item(table_name, key) is not None:
                            self.delete_item(table_name, key)
                    raise

    return transact_write_items


def _saved_item(backend: Any, entry: dict[str, Any]) -> tuple[str, dict, dict | None] | None:
    """(table, key, the item's attributes now or None) for one transaction item; None if malformed
    (moto then refuses the whole transaction before writing)."""
    try:
        ((op_type, op),) = entry.items()
        table = backend.tables[op["TableName"]]
        if op_type == "Put":
            names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
            key = {name: op["Item"][name] for name in names}
        else:
            key = op["Key"]
        current = backend.get_item(op["TableName"], key)
    except Exception:
        return None
    return op["TableName"], key, (current.to_json()["Attributes"] if current is not None else None)


@contextmanager
def _tables_not_copied():
    """moto's own backup (a deep copy of each table) becomes the table itself: a no-op rollback."""
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    class _Copy:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = _Copy
    try:
        yield
    finally:
        models.copy = copy
