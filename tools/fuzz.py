"""`make fuzz`: schemathesis against the real local stage, checked against its own OpenAPI document.

Starts `python -m localstage.server` on a free port (embedded moto, seeded), waits for
`/health`, runs `schemathesis run <server>/openapi.json` with bounded examples and the checks below,
stops the server (SIGINT, then SIGTERM, then kill) and exits with schemathesis's exit code.
tools/fuzz_hooks.py signs signed-in routes in as the seeded agent and puts the test clock back
after every fuzzed `PUT /_local/clock`.

Extra arguments go to `schemathesis run`, e.g. `python -m tools.fuzz --seed 1 --max-examples 50`.
The server's log is kept in build/fuzz/server.log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
OUT_DIR = PROJECT_DIR / "build" / "fuzz"
HOOKS = Path(__file__).with_name("fuzz_hooks.py")

MAX_EXAMPLES = 25
RUN_TIMEOUT_SECONDS = 600  # a hung run is stopped (not --max-time: that repeats fuzzing until spent)
STARTUP_SECONDS = 60
# Not `positive_data_acceptance`: some rules cannot be said in JSON Schema (an instant must fall in
# the years the clock can show, a phone number must exist), so schema-valid requests may get a 400.
# The stateful checks (use_after_free, ensure_resource_availability) need links the document has not.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
)
# Instants worth trying wherever a body has `now`: the ends of what datetime can hold (with offsets
# that push them over), the Unix epoch, a pre-1901 date (Asia/Shanghai had local mean time, +08:05:43)
# and the turn of a year whose holiday calendar may not be published.
EDGE_INSTANTS = (
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+23:59",
    "1970-01-01T00:00:00Z",
    "1900-01-01T00:00:00+08:00",
    "2026-12-31T23:59:59+08:00",
    "2027-01-01T00:00:00+08:00",
)
# Methods schemathesis sends where the document has none, expecting 405 with Allow. The local
# server hands every method to the app, unknown ones included (localstage/gateway.py).
UNEXPECTED_METHODS = ("get", "put", "post", "delete", "options", "patch", "trace", "query")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _config() -> str:
    """schemathesis.toml for this run: the hooks (test clock, sign-in), the methods, real job names for
    the jobs route, and edge instants."""
    from chalicelib.jobs.registry import JOBS  # no AWS: a dictionary of functions

    jobs = ", ".join(f'"{name}"' for name in sorted(JOBS))
    methods = ", ".join(f'"{method}"' for method in UNEXPECTED_METHODS)
    instants = ", ".join(f'"{instant}"' for instant in EDGE_INSTANTS)
    return f"""\
hooks = "{HOOKS}"

[phases.coverage]
unexpected-methods = [{methods}]

[dictionaries.jobs]
values = [{jobs}]

[dictionaries.instants]
values = [{instants}]

[parameters]
"body.now" = {{ dictionary = "instants", probability = 0.3 }}

[[operations]]
include-path = "/_local/jobs/{{job}}"
parameters = {{ "path.job" = {{ dictionary = "jobs", probability = 0.9 }} }}
"""


def _wait_for_health(base_url: str, server: subprocess.Popen) -> bool:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(base_url + "/health", timeout=2) as response,
        ):
            if response.status == 200:
                return True
        time.sleep(0.2)
    return False


def _stop(server: subprocess.Popen) -> None:
    for stop_signal, wait in ((signal.SIGINT, 10), (signal.SIGTERM, 5)):
        if server.poll() is not None:
            return
        server.send_signal(stop_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=wait)
            return
    server.kill()
    server.wait()


def _default_sigint() -> None:
    # A shell's background job starts with SIGINT ignored, and a child would inherit that: give the
    # server the default, so Python turns SIGINT into KeyboardInterrupt and it stops cleanly.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _print_server_errors(log: Path) -> None:
    """Each unhandled error the server logged, by request id (schemathesis shows the id in the body)."""
    errors = []
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{") or '"level":"ERROR"' not in line:
            continue
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            cause = (record.get("exception") or "").strip().splitlines()[-1:] or [""]
            errors.append(f"{record.get('request_id')} {record.get('method')} {record.get('path')}: {cause[0]}")
    if errors:
        print(f"\nServer errors logged ({len(errors)}; full log: {log}):")
        for error in errors[:20]:
            print(f"  {error}")


def main(argv: list[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    config_file = OUT_DIR / "schemathesis.toml"
    log = OUT_DIR / "server.log"

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):  # the server points its clients at its own moto
        env.pop(name, None)

    with log.open("w", encoding="utf-8") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "localstage.server"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_default_sigint,
        )
        try:
            if not _wait_for_health(base_url, server):
                print(f"The local stage did not answer {base_url}/health; its log ({log}):", file=sys.stderr)
                print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
                return 1
            print(f"Local stage on {base_url} (log: {log})", flush=True)
            config_file.write_text(_config(), encoding="utf-8")
            command = [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(config_file),
                "run",
                f"{base_url}/openapi.json",
                "--checks",
                ",".join(CHECKS),
                "--max-examples",
                str(MAX_EXAMPLES),
                "--request-timeout",
                "30",
                "--workers",
                "1",  # the test clock is process-wide: one request at a time
                "--generation-database",
                "none",
                *extra,
            ]
            try:
                code = subprocess.call(
                    command,
                    cwd=PROJECT_DIR,
                    env={**env, "OKPAY_FUZZ_BASE_URL": base_url},
                    timeout=RUN_TIMEOUT_SECONDS,
                )
            except subprocess.TimeoutExpired:
                print(f"schemathesis did not finish within {RUN_TIMEOUT_SECONDS} s", file=sys.stderr)
                code = 1
        finally:
            _stop(server)
    _print_server_errors(log)
    return code


if __name__ == "__main__":
    sys.exit(main())
