"""The base of every PynamoDB model: stage-prefixed table names and one shared connection.

PynamoDB gives each model class its own botocore client, and `TransactWrite()` makes a new one
each time unless handed a connection; a client costs ~100 ms to build. Here every model and every
transaction share one `Connection` per process (botocore clients are thread-safe), built lazily
so importing the app makes no client.

Table names are read when a request runs, not at import, because a stage's environment is only
known then (see `chalicelib.adapters.config`).
"""

from __future__ import annotations

import copy
import threading

from pynamodb.connection import Connection
from pynamodb.connection.base import MetaTable
from pynamodb.connection.table import TableConnection
from pynamodb.exceptions import TableError
from pynamodb.models import Model

from chalicelib.adapters.config import get_settings

DYNAMODB_RETRIES = {"mode": "standard", "total_max_attempts": 4}

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
                # botocore's standard retry mode: a throttled call is retried with jittered backoff,
                # at most 4 attempts in all, then the request answers 503 try_again (api/routing.py).
                connection = Connection(region=region, retry_configuration=DYNAMODB_RETRIES)
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
            with _lock:
                _add_schema(shared, meta_table)
            table_connection.connection = shared
        return table_connection


def _add_schema(shared: Connection, meta_table: MetaTable) -> None:
    """Several models may share a table (counters, job state, transactions and top-up attempts):
    the shared connection's schema is the union of theirs, so each model's own indexes work."""
    try:
        known = shared.get_meta_table(meta_table.table_name)
    except TableError:
        shared.add_meta_table(MetaTable(copy.deepcopy(meta_table.data)))
        return
    for part, name in (
        ("GlobalSecondaryIndexes", "IndexName"),
        ("LocalSecondaryIndexes", "IndexName"),
        ("AttributeDefinitions", "AttributeName"),
    ):
        have = known.data.setdefault(part, [])
        names = {entry[name] for entry in have}
        have.extend(copy.deepcopy(entry) for entry in meta_table.data.get(part, []) if entry[name] not in names)
