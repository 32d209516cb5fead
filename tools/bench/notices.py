"""The notice outbox's retry job: one `notify_dispatch` run over a backlog of pending notices (emails
whose first send failed during an SES outage), sent now that SES is back."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from tools.bench.harness import AwsCalls, format_calls


def measure_notify_dispatch(counter: AwsCalls, pending: int) -> dict[str, Any]:
    """`pending` notices recorded and due (as after an outage), then one `notify_dispatch` run: its wall
    time, time per message and AWS calls per message. Must run inside the bench's moto
    (tools/bench/report.py's `run_operations`)."""
    from chalicelib.adapters import clock
    from chalicelib.jobs import notify_dispatch
    from chalicelib.services.common import notice_outbox
    from chalicelib.store.notices import Notice

    recorded_at = clock.now() - timedelta(minutes=10)  # long past the request's own lease
    with Notice.batch_write() as batch:
        for n in range(pending):
            batch.save(
                notice_outbox.email(
                    f"bench.notice{n}@okpay.local",
                    "ticket_reply_email",
                    "en",
                    recorded_at,
                    case_id=f"tkt_bench{n}",
                    subject="Transfer not received",
                    body="We are looking into it.",
                )
            )
    counter.take()
    started = time.perf_counter()
    result = notify_dispatch.run(clock.now())
    elapsed = time.perf_counter() - started
    calls = counter.take()
    per_message = {name: count / max(pending, 1) for name, count in calls.items()}
    return {"pending": pending, "seconds": elapsed, "result": result, "per_message": per_message}


def print_notify_dispatch(figures: dict[str, Any]) -> None:
    pending, seconds = figures["pending"], figures["seconds"]
    result = {key: value for key, value in figures["result"].items() if key != "ran_at"}
    print(f"Notice dispatch: {pending} pending notices (emails after an SES outage), one `notify_dispatch` run")
    print(f"  {result}")
    print(f"  {seconds:.2f} s, {pending / seconds:.0f} messages/s, {1000 * seconds / max(pending, 1):.2f} ms/message")
    print(f"  AWS calls per message: {format_calls(figures['per_message'])}")
