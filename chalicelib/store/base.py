"""The base of every PynamoDB model: stage-prefixed table names and one shared connection.

PynamoDB gives each model class its own botocore client, and `TransactWrite()` makes a new one
each time unless handed a connection; a client costs ~100 ms to build. Here every model and every
transaction share one `Connection` per process (botocore clients are thread-safe), built lazily
so importing the app makes no client.

Table names are read when a request runs, not at import, because a stage's environment is only
known then (see `chalicelib.adapters.config`).
"""

from __future__ import annotations

import contextlib
import threading

from pynamodb.connection import Connection
from pynamodb.connection.table import TableConnection
from pynamodb.models import Model

from chalicelib.adapters.config import get_settings

_lock = threading.Lock()
_shared: dict[str, Connection] = {}


def shared_connection() -> Connection:
    """The process-wide DynamoDB connection for the current region."""
    region = get_settings().region
    connection = _shared.get(region)
    if connection is None:
        with _lock:
            connection = _shared.get(region)
            if connection is None:
                # host=None lets botocore honour AWS_ENDPOINT_URL (the local stage's moto server).
                connection = Connection(region=region, max_retry_attempts=3)
                _shared[region] = connection
    return connection


class StageTable(type):
    """Metaclass for a model's `Meta`: `table_name` is `<stage prefix><table>` at the time of use."""

    @property
    def table_name(cls) -> str:
        return get_settings().table_name(cls.table)


class BaseModel(Model):
    """A PynamoDB model whose `Meta` names its logical table: `class Meta(metaclass=StageTable)`."""

    class Meta(metaclass=StageTable):
        table = "unused"

    @classmethod
    def _get_connection(cls) -> TableConnection:
        table_connection = super()._get_connection()
        shared = shared_connection()
        if table_connection.connection is not shared:
            meta_table = table_connection.connection.get_meta_table(cls.Meta.table_name)
            # Several models may share a table (counters, job state): the first one adds it.
            with _lock, contextlib.suppress(ValueError):
                shared.add_meta_table(meta_table)
            table_connection.connection = shared
        return table_connection
