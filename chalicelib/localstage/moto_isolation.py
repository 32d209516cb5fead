"""Give moto's DynamoDB the isolation the real service has, for concurrent requests.

moto checks a condition and then writes without a lock, and a failed transaction restores a deep
copy of every table it touched, wiping what other threads wrote meanwhile. DynamoDB itself makes
each item write and each transaction atomic. The local stage serves requests on threads, and the
concurrency tests race requests on purpose, so every DynamoDB operation here runs under one lock.
"""

from __future__ import annotations

import threading

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
    _installed = True
