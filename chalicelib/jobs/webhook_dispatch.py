"""`webhook_dispatch` job (every minute, contract v1.2 section 14): the retries of webhook events not
yet delivered, each when its delay has passed (1 m, 5 m, 15 m, 1 h, 3 h, 6 h, 12 h, 24 h after the
failed attempt), then `failed`.

The work is `chalicelib.services.wallet.webhooks.dispatch_due`: one Query per shard of the sparse GSI
`merchant-events.by_delivery_due` (never a Scan), then per event a conditional claim, so overlapping
runs never deliver one event twice at once; up to `webhooks.WORKERS` attempts at once (the loop
`notify_dispatch` uses too, chalicelib/services/common/dispatch.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters import clock
from chalicelib.services.wallet import webhooks

JOB = "webhook_dispatch"


def run(now: datetime) -> dict[str, Any]:
    return {"ran_at": clock.isoformat(now), **webhooks.dispatch_due(now)}
