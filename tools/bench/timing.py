"""Timing uniformity: an unknown account must answer as slowly as a known one (contract, section 3),
or a script can tell which logins exist. Measured here as medians of interleaved samples, never
asserted in tests."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from tools.bench.accounts import make_user, post_json
from tools.bench.harness import Bench, ms, status_of


def timing_uniformity(bench: Bench, samples: int) -> list[tuple[str, float, float]]:
    """(what, median known seconds, median unknown seconds) for a failed sign-in and a reset request."""
    import uuid

    def timed(call: Callable[[str], Any], login_id: str, status: int) -> float:
        started = time.perf_counter()
        response = call(login_id)
        elapsed = time.perf_counter() - started
        if status_of(response) != status:
            raise RuntimeError(f"timing sample answered {status_of(response)}: {response.body[:200]!r}")
        return elapsed

    def login(login_id: str) -> Any:
        body = {"login": login_id, "password": "Wrong-Bench-Password-1", "device_id": "bench-timing"}
        return post_json(bench, "/auth/login", body, key=False)

    def forgot(login_id: str) -> Any:
        return post_json(bench, "/auth/password/forgot", {"login": login_id}, key=False)

    figures = []
    for what, call, status in (("failed sign-in", login, 401), ("password reset request", forgot, 202)):
        known, unknown = [], []
        call(f"warm-up-{uuid.uuid4().hex[:8]}@example.com")
        for i in range(samples):  # a fresh account each time: no lockout, no per-login rate limit
            user = make_user(bench, 20_000 + len(figures) * samples + i, with_password=True)
            known.append(timed(call, user.email, status))
            unknown.append(timed(call, f"nobody-{uuid.uuid4().hex[:12]}@example.com", status))
        figures.append((what, statistics.median(known), statistics.median(unknown)))
    return figures


def print_uniformity(figures: list[tuple[str, float, float]], samples: int) -> None:
    print()
    print(f"Timing uniformity: medians of {samples} interleaved samples, an existing account vs none")
    for what, known, unknown in figures:
        print(f"  {what:<24} known {ms(known):>7} ms   unknown {ms(unknown):>7} ms   ratio {known / unknown:5.2f}x")
