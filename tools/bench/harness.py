"""The bench's machinery: what an operation is, how its AWS calls are counted, how it is measured."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
REGION = "ap-southeast-1"


@dataclass
class Bench:
    """What operations get to work with. Built by `run_operations()` (report.py) inside `mock_aws()`."""

    http: Any  # chalice.test.TestHTTPClient on the app, stage `local`
    bare_http: Any  # the same kind of client on a bare Chalice app (routes /constant)
    settings: Any  # chalicelib.adapters.config.Settings of the local stage
    state: dict[str, Any] = field(default_factory=dict)  # for operations' setup (tokens, ids …)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A raw botocore client for the bare functions, made once and reused like the app's."""
        if service not in self._clients:
            import botocore.session

            self._clients[service] = botocore.session.get_session().create_client(service, region_name=REGION)
        return self._clients[service]

    def table(self, logical: str) -> str:
        return self.settings.table_name(logical)


Request = Callable[[Bench], Any]


@dataclass(frozen=True)
class Operation:
    """One request to measure.

    `request` performs it through `bench.http` and returns the response; by default it sends `method`
    and `path` (from `name`) with `body` and `headers`. `bare` makes the minimal AWS calls the
    operation needs; None means the operation needs none, so it is compared with a bare Chalice route
    returning a constant. `calls` is what one request must call, e.g. {"dynamodb.Query": 1}; the
    bench checks it (and that `bare` makes the same calls).
    """

    name: str  # "METHOD /path"
    request: Request | None = None
    bare: Request | None = None
    bare_label: str = ""
    calls: dict[str, int] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    setup: Callable[[Bench], None] | None = None  # run once, before the warm-up
    # False when `bare` is the floor the operation is compared with, not the same calls made leaner.
    bare_matches_calls: bool = True
    # False for work whose call count depends on the data (a job): printed, not checked.
    check_calls: bool = True

    @property
    def method(self) -> str:
        return self.name.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.name.split(" ", 1)[1]

    def perform(self, bench: Bench) -> Any:
        if self.request is not None:
            return self.request(bench)
        headers = dict(self.headers)
        body = b""
        if self.body is not None:
            headers.setdefault("Content-Type", "application/json")
            body = json.dumps(self.body).encode()
        return bench.http.request(self.method, self.path, headers=headers, body=body)

    def perform_bare(self, bench: Bench) -> Any:
        if self.bare is not None:
            return self.bare(bench)
        if self.method == "GET":
            return bench.bare_http.get("/constant")
        return bench.bare_http.request(
            self.method, "/constant", headers={"Content-Type": "application/json"}, body=b"{}"
        )

    @property
    def bare_description(self) -> str:
        return self.bare_label or ("constant Chalice route" if self.bare is None else "bare AWS calls")


class AwsCalls:
    """Counts botocore API calls (not HTTP attempts) of every session made after `install()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def install(self) -> None:
        import botocore

        botocore.register_initializer(self._on_session)

    def _on_session(self, session: Any) -> None:
        session.register("before-call", self._on_call)

    def _on_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.counts[f"{model.service_model.service_name}.{model.name}"] += 1

    def take(self) -> Counter[str]:
        with self._lock:
            taken, self.counts = self.counts, Counter()
        return taken


def count_aws_calls() -> tuple[Counter[str], Callable[[], None]]:
    """Count every botocore call from now on (the sessions already made included); returns the undo."""
    import botocore.client

    counts: Counter[str] = Counter()
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def counting(client: Any, operation: str, params: Any) -> Any:
        with lock:
            counts[f"{client.meta.service_model.service_name}.{operation}"] += 1
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = counting

    def undo() -> None:
        botocore.client.BaseClient._make_api_call = original

    return counts, undo


@dataclass
class Result:
    name: str
    calls: dict[str, float]
    bare_calls: dict[str, float]
    steady: bool  # every request made the same calls
    p50: float
    p95: float
    bare_p50: float
    bare_description: str
    problems: list[str]


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def status_of(response: Any) -> int | None:
    return getattr(response, "status_code", None)


def measure(
    op: Operation, bench: Bench, counter: AwsCalls, iterations: int, warmup: int, profiler: Any = None
) -> Result:
    """`profiler`: a cProfile.Profile enabled around the app's timed requests only."""
    problems: list[str] = []
    if op.setup is not None:
        op.setup(bench)
    for _ in range(max(1, warmup)):
        response = op.perform(bench)
        op.perform_bare(bench)
    if status_of(response) != op.status:
        problems.append(f"{op.name}: status {status_of(response)}, expected {op.status}: {response.body[:200]!r}")

    counter.take()
    per_request: list[Counter[str]] = []
    bare_per_request: list[Counter[str]] = []
    samples: list[float] = []
    bare_samples: list[float] = []
    for _ in range(iterations):  # interleaved, so drift on the machine hits both alike
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        response = op.perform(bench)
        samples.append(time.perf_counter() - started)
        if profiler is not None:
            profiler.disable()
        per_request.append(counter.take())
        if status_of(response) != op.status and len(problems) < 3:
            problems.append(f"{op.name}: status {status_of(response)}, expected {op.status}")

        started = time.perf_counter()
        op.perform_bare(bench)
        bare_samples.append(time.perf_counter() - started)
        bare_per_request.append(counter.take())

    calls = _average(per_request)
    bare_calls = _average(bare_per_request)
    steady = all(request == per_request[0] for request in per_request)
    if op.check_calls and (calls != {name: float(count) for name, count in op.calls.items()} or not steady):
        problems.append(f"{op.name}: AWS calls per request {format_calls(calls)}, expected {op.calls or 'none'}")
    if op.bare is not None and op.bare_matches_calls and bare_calls != calls:
        problems.append(f"{op.name}: bare makes {format_calls(bare_calls)}, the app {format_calls(calls)}")
    return Result(
        name=op.name,
        calls=calls,
        bare_calls=bare_calls,
        steady=steady,
        p50=statistics.median(samples),
        p95=_percentile(samples, 0.95),
        bare_p50=statistics.median(bare_samples),
        bare_description=op.bare_description,
        problems=problems,
    )


def _average(per_request: list[Counter[str]]) -> dict[str, float]:
    total: Counter[str] = Counter()
    for request in per_request:
        total.update(request)
    return {name: count / len(per_request) for name, count in sorted(total.items())}


def format_calls(calls: dict[str, float]) -> str:
    if not calls:
        return "0"
    return ", ".join(f"{count:g} {name.split('.', 1)[1]}" for name, count in calls.items())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"
