"""The webhook relay topic, deployed (contract, section 14): app.py's `webhook_relay` function gets each
message that chalicelib/adapters/webhook_relay.py published right after a change committed, and makes
the first attempt of the events it names, off the request that made the change.

SNS invokes the function asynchronously, at least once, and Lambda retries a failed invocation:
an event is attempted here only while it has no attempt yet (`webhooks.relay_first_attempts`), and
the claim in webhooks.py keeps this and the `webhook_dispatch` job from sending it twice at once.
A message naming no events is logged and dropped (no retry could read it); an event it never
reaches is still due, and the job attempts it.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import clock, webhook_relay
from chalicelib.adapters.logging import logger
from chalicelib.services.wallet import webhooks


def handle_message(message: str) -> dict[str, Any]:
    """One SNS message -> what became of each event it names."""
    try:
        keys = webhook_relay.message_keys(message)
    except ValueError:
        logger.error("webhook relay message dropped", extra={"event": "webhook_relay_dropped"})
        return {"dropped": 1}
    return webhooks.relay_first_attempts(keys, clock.now())
