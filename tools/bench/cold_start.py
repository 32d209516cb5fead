"""The cold start: `import app` against a bare `import chalice, boto3`, each in fresh processes with
only a region in the environment, and what `import app` adds, from `python -X importtime`.

`import app` registers every route but loads no area (chalicelib/api/areas.py): the first request
to an area imports it. So the bench also times `import app` plus the heaviest area a first
request can load (the wallet's transfers, with the money-out pipeline), to show what a cold
Lambda's first transfer pays in all."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections import Counter

from tools.bench.harness import PROJECT_DIR, REGION

COLD_START_TARGET = 1.3
# The heaviest first request: a transfer loads the wallet area and the money-out pipeline.
FIRST_AREA = "chalicelib.api.wallet.transfers"


_TIMED_IMPORT = "import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"


def _import_seconds(modules: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _TIMED_IMPORT.format(modules=modules)],
        cwd=PROJECT_DIR,
        env={"AWS_DEFAULT_REGION": REGION},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def import_times(runs: int) -> tuple[float, float, float]:
    """Medians of (import app, import chalice + boto3, import app + the heaviest area)."""
    _import_seconds(f"app, {FIRST_AREA}")  # compile .pyc files once, outside the figures
    _import_seconds("chalice, boto3")
    app_times, bare_times, first_times = [], [], []
    for _ in range(runs):  # interleaved, so drift on the machine hits both alike
        app_times.append(_import_seconds("app"))
        bare_times.append(_import_seconds("chalice, boto3"))
        first_times.append(_import_seconds(f"app, {FIRST_AREA}"))
    return statistics.median(app_times), statistics.median(bare_times), statistics.median(first_times)


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def import_costs() -> Counter[str]:
    """What `import app` adds to `import chalice, boto3`: self time (ms) per top-level package, and
    per module for chalicelib, from `python -X importtime`."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import chalice, boto3; import app"],
        cwd=PROJECT_DIR,
        env={"AWS_DEFAULT_REGION": REGION},
        capture_output=True,
        text=True,
        check=True,
    )
    costs: Counter[str] = Counter()
    after_bare = False
    for line in out.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match is None:
            continue
        self_us, _, indent, module = match.groups()
        if not after_bare:
            after_bare = module == "boto3" and len(indent) == 1
            continue
        key = module if module.split(".")[0] in ("chalicelib", "app") else module.split(".")[0]
        costs[key] += int(self_us) / 1000
    return costs
