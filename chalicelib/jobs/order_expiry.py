"""`order_expiry` job (every minute, contract v1.2 section 14): open checkout orders past
`expires_at` become `expired`, each with its `order.expired` webhook event.

The work is `chalicelib.services.wallet.orders.expire_due`: one Query per shard of the sparse GSI
`orders.by_open_until` (never a Scan), then per order a transaction conditional on `status = open`
and `expires_at <= now`, so overlapping runs expire an order once, and a payment or a close racing
the expiry leaves exactly one of them done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.services.wallet import orders

JOB = "order_expiry"


def run(now: datetime) -> dict[str, Any]:
    return {"ran_at": clock.isoformat(now), **orders.expire_due(now)}
