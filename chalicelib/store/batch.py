"""One strongly consistent BatchGetItem across tables, returned as PynamoDB models.

A money-out request needs the payer, their KYC case, balances, limit counters and the FX rates
before it can decide anything; reading them in one call keeps it to one read round trip.
"""

from __future__ import annotations

from typing import Any

from chalicelib.store.base import BaseModel, shared_connection

Key = tuple[Any, ...]


def batch_get(wanted: list[tuple[type[BaseModel], Key]]) -> dict[tuple[type[BaseModel], Key], Any]:
    """{(Model, key): item or None} for every (Model, (hash, range?)) asked for."""
    requests: dict[str, dict[str, Any]] = {}
    by_table: dict[str, type[BaseModel]] = {}
    for model, key in dict.fromkeys(wanted):
        table = model.Meta.table_name
        by_table[table] = model
        raw_key = {model._hash_keyname: _attr(model, model._hash_keyname).serialize(key[0])}
        if model._range_keyname:
            raw_key[model._range_keyname] = _attr(model, model._range_keyname).serialize(key[1])
        typed = {name: {_attr(model, name).attr_type: value} for name, value in raw_key.items()}
        requests.setdefault(table, {"Keys": [], "ConsistentRead": True})["Keys"].append(typed)
    found: dict[tuple[type[BaseModel], Key], Any] = dict.fromkeys(dict.fromkeys(wanted))
    if not requests:
        return found
    client = shared_connection().client
    pending = requests
    while pending:
        answer = client.batch_get_item(RequestItems=pending)
        for table, items in answer.get("Responses", {}).items():
            model = by_table[table]
            for raw in items:
                item = model.from_raw_data(raw)
                key = (getattr(item, model._hash_keyname),)
                if model._range_keyname:
                    key += (getattr(item, model._range_keyname),)
                found[(model, key)] = item
        pending = answer.get("UnprocessedKeys") or {}
    return found


def _attr(model: type[BaseModel], name: str) -> Any:
    return model.get_attributes()[name]
