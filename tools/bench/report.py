"""`python -m tools.bench`: set up the local stage on moto, measure every operation, print the table,
timing uniformity and the cold start, then any PROBLEMS (exit 1)."""

from __future__ import annotations

import argparse
import cProfile
import os
import time
from typing import Any

import tools.bench
from tools.bench import chat, hot_payee, identity, merchants, notices, public, support, wallet
from tools.bench import profile as profiling
from tools.bench.cold_start import COLD_START_TARGET, import_costs, import_times
from tools.bench.harness import PROJECT_DIR, REGION, AwsCalls, Bench, Operation, Result, format_calls, measure, ms
from tools.bench.timing import print_uniformity, timing_uniformity

# In the order the table prints them; support's set-up reuses the agent's session from identity.
OPERATIONS: list[Operation] = [
    *public.OPERATIONS,
    *identity.OPERATIONS,
    *wallet.OPERATIONS,
    *support.OPERATIONS,
    *chat.OPERATIONS,
    *merchants.OPERATIONS,  # after wallet: paying an order uses the wallet's payer
]


def _prepare_environment() -> None:
    """As tests/conftest.py does: moto only, dummy credentials, the local stage's variables."""
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION"):
        os.environ.pop(name, None)


def _quiet_app_logs() -> None:
    """Keep the access log's cost (formatting and a write) but send it nowhere."""
    from chalicelib.adapters.logging import logger

    handler = getattr(logger, "registered_handler", None)
    if hasattr(handler, "setStream"):
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the process)


def _bare_app() -> Any:
    from chalice import Chalice

    bare = Chalice(app_name="bare")

    @bare.route("/constant", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def constant() -> dict[str, str]:
        return {"status": "ok"}

    return bare


def run_operations(
    iterations: int,
    warmup: int,
    only: str | None = None,
    timing_samples: int = 0,
    profile: str | None = None,
    webhook_events: int = 0,
    pending_notices: int = 0,
) -> tuple[list[Result], list[tuple[str, float, float]], dict[str, Any] | None, dict[str, Any] | None]:
    _prepare_environment()
    counter = AwsCalls()
    counter.install()  # before anything makes a botocore session

    from moto import mock_aws

    from localstage.server import use_moto_environment

    use_moto_environment()  # the local stage's variables, .local emails allowed; no endpoint
    from localstage.moto_isolation import make_dynamodb_atomic

    make_dynamodb_atomic()  # moto as the local stage runs it: transactions back up their items only
    import boto3
    from chalice.test import Client

    import app as app_module
    from chalicelib.adapters import clock
    from chalicelib.adapters.config import get_settings
    from localstage import gateway, seed
    from localstage.resources import create_stage_resources

    gateway.install()
    _quiet_app_logs()
    clock.clear_test_clock()
    results = []
    with mock_aws():
        create_stage_resources(boto3.session.Session(), get_settings())
        seed.seed()
        app_client = Client(app_module.app, stage_name="local", project_dir=str(PROJECT_DIR))
        bare_client = Client(_bare_app(), stage_name="local", project_dir=str(PROJECT_DIR))
        bench = Bench(http=app_client.http, bare_http=bare_client.http, settings=get_settings())
        bench.state["requests"] = iterations + max(1, warmup)  # per operation, for setups needing a supply
        for op in OPERATIONS:
            if only is None or only in op.name:
                profiler = None
                if profile is not None and profile in op.name:
                    profiler, profile = cProfile.Profile(), None  # the first match only
                results.append(measure(op, bench, counter, iterations, warmup, profiler))
                if profiler is not None:
                    print(f"Profile of {op.name}:")
                    profiling.report(profiler, iterations)
                    print()
        uniformity = timing_uniformity(bench, timing_samples) if timing_samples else []
        dispatch = merchants.measure_dispatch(counter, webhook_events) if webhook_events else None
        notice_run = notices.measure_notify_dispatch(counter, pending_notices) if pending_notices else None
    return results, uniformity, dispatch, notice_run


def print_table(results: list[Result], iterations: int, warmup: int) -> None:
    print(f"Requests through chalice.test.Client, stage local, on moto: {iterations} timed after {warmup} warm-up")
    header = ("operation", "AWS calls/request", "p50 ms", "p95 ms", "bare p50 ms", "app/bare", "bare")
    rows = [
        (
            result.name,
            format_calls(result.calls) + ("" if result.steady else " (varies)"),
            ms(result.p50),
            ms(result.p95),
            ms(result.bare_p50),
            f"{result.p50 / result.bare_p50:.1f}x",
            result.bare_description,
        )
        for result in results
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    right = {2, 3, 4, 5}

    def line(row: tuple[str, ...]) -> str:
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        return "  ".join(cells).rstrip()

    print(line(header))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=tools.bench.__doc__.splitlines()[0])
    parser.add_argument("-n", "--iterations", type=int, default=200, help="timed requests per operation")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per operation first")
    parser.add_argument("--cold-runs", type=int, default=7, help="fresh processes per import measured")
    parser.add_argument("--only", help="measure only the operations whose name contains this text")
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="profile the first operation whose name contains NAME (its timings then read high)",
    )
    parser.add_argument(
        "--webhooks", type=int, default=1_000, metavar="N", help="webhook events one dispatch run delivers (0 skips)"
    )
    parser.add_argument(
        "--notices",
        type=int,
        default=1_000,
        metavar="N",
        help="pending notices one notify_dispatch run sends (0 skips)",
    )
    parser.add_argument("--timing-samples", type=int, default=15, help="samples per timing-uniformity figure")
    parser.add_argument(
        "--hot-payee",
        type=int,
        default=8,
        metavar="N",
        help="N concurrent payers to one payee vs to N payees, over HTTP on `make run`'s server (0 skips it)",
    )
    parser.add_argument(
        "--hot-payee-transfers",
        type=int,
        default=hot_payee.TRANSFERS_EACH,
        metavar="M",
        help="transfers each hot-payee payer sends per phase",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    samples = 0 if args.only else args.timing_samples
    results, uniformity, dispatch, notice_run = run_operations(
        args.iterations, args.warmup, args.only, samples, args.profile, args.webhooks, args.notices
    )
    print_table(results, args.iterations, args.warmup)
    if uniformity:
        print_uniformity(uniformity, samples)
    if dispatch:
        print()
        merchants.print_dispatch(dispatch)
    if notice_run:
        print()
        notices.print_notify_dispatch(notice_run)
    if args.hot_payee > 0:
        print()
        one, spread = hot_payee.measure(args.hot_payee, args.hot_payee_transfers)
        hot_payee.print_hot_payee(one, spread, args.hot_payee, args.hot_payee_transfers)

    app_import, bare_import, first_area = import_times(args.cold_runs)
    ratio = app_import / bare_import
    verdict = "within target" if ratio <= COLD_START_TARGET else "OVER TARGET"
    print()
    print(f"Cold start: median import time of {args.cold_runs} fresh processes, only AWS_DEFAULT_REGION set")
    print(f"  import app             {ms(app_import):>8} ms")
    print(f"  import chalice, boto3  {ms(bare_import):>8} ms")
    print(f"  ratio                  {ratio:>8.2f}x  (target <= {COLD_START_TARGET}x: {verdict})")
    first = first_area / bare_import
    print(f"  + the wallet area      {ms(first_area):>8} ms  ({first:.2f}x: import app + what a first transfer loads)")
    if ratio > COLD_START_TARGET:
        costs = import_costs()
        print("  What `import app` adds to chalice and boto3, self time (python -X importtime, one run):")
        for name, milliseconds in costs.most_common(12):
            print(f"    {name:<40} {milliseconds:7.1f} ms")
        print(f"    {'all ' + str(len(costs)) + ' packages and chalicelib modules':<40} {sum(costs.values()):7.1f} ms")

    problems = [problem for result in results for problem in result.problems]
    if problems:
        print()
        print("PROBLEMS:")
        for problem in problems:
            print(f"  {problem}")
    print()
    print(f"bench took {time.perf_counter() - started:.1f} s")
    return 1 if problems else 0
