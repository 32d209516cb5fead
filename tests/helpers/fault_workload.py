"""Driving a fault workload (tests/faults/test_fault_workload.py): every request repeated with its
Idempotency-Key and body while it answers 503 try_again, its final answer kept for the checks, and
the counts a run prints (requests, 503s, retries, completed, business 4xx, replays)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.helpers.http import body_of, post_json

MAX_TRIES = 150  # per request: 503s and `409 request_in_progress` answers before the workload gives up
IN_PROGRESS_PAUSE = 0.02  # seconds: a duplicate in flight on another thread finishes meanwhile
# A client told to wait this long (a top-up whose charge may still be on its way: `Retry-After` up to
# 60 s), or still answered `request_in_progress` after this many tries (a marker left behind, abandoned
# after 60 s), comes back later: the request is parked until the test clock has moved past the wait.
PARK_AFTER_SECONDS = 5
PARK_AFTER_IN_PROGRESS = 25


@dataclass(eq=False)  # compared by identity: two sends of one key are two outcomes
class Outcome:
    """One logical request (one key): what it asked and how it ended."""

    kind: str  # transfer | payment | order | topup | dispute | ticket
    who: str  # the caller's user id
    path: str
    payload: dict[str, Any]
    headers: dict[str, str]
    key: str
    status: int = 0  # 0: left unanswered (503) on purpose, to be finished later
    body: Any = None
    tries: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str | None:
        return (self.body or {}).get("error", {}).get("code") if self.status >= 400 else None

    def describe(self) -> str:
        return f"{self.kind} {self.path} key={self.key}: {self.status} {json.dumps(self.body)[:300]}"


class Workload:
    """Sends requests through the faults and keeps the score; safe to share between threads."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.counts: Counter[str] = Counter()
        self.outcomes: list[Outcome] = []
        self.parked: list[Outcome] = []  # left unanswered for now: to be sent again later, same key and body
        self._lock = threading.Lock()

    def send(self, outcome: Outcome, *, park_after_503s: int | None = None) -> Outcome:
        """POST until the answer is not 503 (nor `409 request_in_progress`, a duplicate still in flight);
        parked (status 0, in `parked`) when told to wait long, or after `park_after_503s` 503s."""
        with self._lock:
            if outcome not in self.outcomes:
                self.outcomes.append(outcome)
        response = self._until_answered(outcome, park_after_503s)
        if response is None:
            with self._lock:
                self.parked.append(outcome)
                self.counts["parked"] += 1
            return outcome
        outcome.status, outcome.body = response.status_code, body_of(response)
        self._tally("completed" if outcome.completed else "business_4xx")
        return outcome

    def replay(self, outcome: Outcome) -> Any:
        """The same key and body again: the same status and body, marked `Idempotent-Replayed`."""
        self._tally("replays")
        response = self._until_answered(outcome, None)
        assert (response.status_code, body_of(response)) == (outcome.status, outcome.body), (
            f"replay differs: {outcome.describe()} -> {response.status_code} {response.body[:300]!r}"
        )
        assert response.headers.get("Idempotent-Replayed") == "true", outcome.describe()
        return response

    def take_parked(self) -> list[Outcome]:
        with self._lock:
            parked, self.parked = self.parked, []
        return parked

    def _until_answered(self, outcome: Outcome, park_after_503s: int | None) -> Any:
        headers = {**outcome.headers, "Idempotency-Key": outcome.key}
        in_progress = unavailable = 0
        for _ in range(MAX_TRIES):
            response = post_json(self.client, outcome.path, outcome.payload, headers)
            outcome.tries += 1
            self._tally("requests")
            status = response.status_code
            assert status < 500 or status == 503, f"{status} (never a 500): {outcome.describe()} {response.body!r}"
            code = (body_of(response) or {}).get("error", {}).get("code") if status >= 400 else None
            if status == 503:
                assert code == "try_again", response.body
                assert int(response.headers["Retry-After"]) >= 1, response.headers
                self._tally("503s")
                unavailable += 1
                if unavailable == park_after_503s or int(response.headers["Retry-After"]) > PARK_AFTER_SECONDS:
                    return None
            elif status == 409 and code == "request_in_progress":
                self._tally("in_progress")
                in_progress += 1
                if in_progress > PARK_AFTER_IN_PROGRESS:
                    return None
                time.sleep(IN_PROGRESS_PAUSE)
            else:
                return response
            self._tally("retries")
        raise AssertionError(f"no answer but 503/409 after {MAX_TRIES} tries: {outcome.describe()}")

    def _tally(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def of(self, kind: str) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.kind == kind]


def retry_job(client: Any, job: str) -> dict[str, Any]:
    """Run a `/_local/jobs` job at the test clock, again while it answers 503; its result."""
    for _ in range(MAX_TRIES):
        response = post_json(client, f"/_local/jobs/{job}", {})
        assert response.status_code in (200, 503), (job, response.status_code, response.body)
        if response.status_code == 200:
            return body_of(response)["result"]
    raise AssertionError(f"{job} still 503 after {MAX_TRIES} tries")


def outbox_of(client: Any, to: str) -> list[dict[str, Any]]:
    """`GET /_local/outbox?to=`: what was sent to `to`, newest first."""
    from urllib.parse import quote

    response = client.get(f"/_local/outbox?to={quote(to, safe='')}")
    assert response.status_code == 200, response.body
    return body_of(response)["data"]
