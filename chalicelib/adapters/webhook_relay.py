"""Hands the first attempt of new webhook events off the caller's response path (contract, section 14).

The first attempt starts right after the change commits and may wait up to 10 s on the merchant's
receiver; a payer must never wait on it. Where it runs:

- deployed stages (`OKPAY_WEBHOOK_RELAY_TOPIC` set): one SNS message `{"events": [[merchant_id,
  event_id], ...]}` to the relay topic; app.py's `webhook_relay` function (chalicelib/api/
  webhook_relay.py) makes the attempts. A failed publish (throttled, SNS down) is logged and the
  request goes on: the event is born due at once, so the `webhook_dispatch` job (every minute)
  makes its first attempt instead;
- the local stage's server (`make run`): a daemon thread per hand-off, once `use_threads()` is
  called at start. It runs with the request's `now` (the test clock as the change saw it) and holds
  no lock while the receiver answers: each DynamoDB call takes localstage/moto_isolation.py's lock
  for itself only. A server stopped mid-attempt leaves the event to the job;
- otherwise (chalice.test.Client, a job run with no topic configured): in the caller, as before.

`run` is the caller's own first attempt of the same events (thread and inline modes). Two workers
never send one event at once: each attempt first claims the event (webhooks.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from chalicelib.adapters import aws
from chalicelib.adapters.config import get_settings
from chalicelib.adapters.logging import logger

EventKey = tuple[str, str]  # (merchant_id, event_id)

_threads = False


def use_threads() -> None:
    """The local stage's server: first attempts on daemon threads from now on."""
    global _threads
    _threads = True


def hand_off(keys: list[EventKey], run: Callable[[], None]) -> None:
    """Start the first attempt of the events `keys` names off the caller's path; never raises."""
    if not keys:
        return
    topic = get_settings().webhook_relay_topic
    if topic:
        _publish(topic, keys)
    elif _threads:
        try:
            threading.Thread(target=_run_logged, args=(run,), name="webhook-first-attempt", daemon=True).start()
        except RuntimeError:  # no thread to be had: the job attempts them within a minute
            logger.warning("webhook first attempts not started", extra={"events": len(keys)})
    else:
        _run_logged(run)


def message_keys(message: str) -> list[EventKey]:
    """The event keys of a relay message; ValueError for anything else."""
    body = json.loads(message)
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not events:
        raise ValueError("no events")
    keys = []
    for item in events:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(part, str) and part for part in item)):
            raise ValueError("malformed event key")
        keys.append((item[0], item[1]))
    return keys


def _publish(topic: str, keys: list[EventKey]) -> None:
    message = json.dumps({"events": [list(key) for key in keys]}, separators=(",", ":"))
    try:
        aws.client("sns", brief=True).publish(TopicArn=topic, Message=message)
    except Exception as error:  # the job attempts them within a minute: never fail the change
        logger.warning(
            "webhook relay publish failed; the dispatch job attempts the events",
            extra={"error": type(error).__name__, "events": len(keys), "event": "webhook_relay_unpublished"},
        )


def _run_logged(run: Callable[[], None]) -> None:
    try:
        run()
    except Exception:
        logger.exception("webhook first attempts failed")
