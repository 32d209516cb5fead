"""The contract's lists: `?limit=` (1–100, default 20) and an opaque `?cursor=`.

A cursor is a position plus the query it belongs to, signed, so one from another list, another
user or another filter is `400 invalid_cursor` instead of a wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.adapters.keys import derived_key
from chalicelib.errors import OkpayError


def encode_cursor(scope: str, position: Any) -> str:
    payload = json.dumps({"s": _scope_tag(scope), "p": position}, separators=(",", ":"), sort_keys=True).encode()
    signature = hmac.new(derived_key("cursor"), payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")


def decode_cursor(scope: str, cursor: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        signature, payload = raw[:16], raw[16:]
        if not hmac.compare_digest(signature, hmac.new(derived_key("cursor"), payload, hashlib.sha256).digest()[:16]):
            raise ValueError("bad signature")
        data = json.loads(payload)
        if data["s"] != _scope_tag(scope):
            raise ValueError("another query's cursor")
        return data["p"]
    except (ValueError, KeyError, TypeError):
        raise OkpayError("invalid_cursor", field="cursor") from None


def page_of(scope: str, query: Any, fetch: Any) -> dict:
    """One page of a list read by position: `fetch(limit, start)` → (items, next position or None).

    The cursor is decoded for `scope` (another query's is `400 invalid_cursor`) and the next one
    signed for it, so every list route pages the same way.
    """
    start = decode_cursor(scope, query.cursor) if query.cursor else None
    items, following = fetch(query.limit, start)
    return {"data": items, "next_cursor": encode_cursor(scope, following) if following else None}


def paginate(items: list[dict], query: Any, *, key: str, scope: str) -> dict:
    """One page of an already ordered, in-memory list whose items are unique by `key`."""
    start = 0
    if query.cursor:
        after = decode_cursor(scope, query.cursor)
        positions = [index for index, item in enumerate(items) if item[key] == after]
        start = positions[0] + 1 if positions else len(items)
    page = items[start : start + query.limit]
    more = start + query.limit < len(items)
    return {"data": page, "next_cursor": encode_cursor(scope, page[-1][key]) if more and page else None}


def _scope_tag(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]
