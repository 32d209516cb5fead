"""The cold start: `import app` against a bare `import chalice, boto3`, each in fresh processes with
only a region in the environment, and what `import app` adds, from `python -X importtime`."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections import Counter

from tools.bench.harness import PROJECT_DIR, REGION

COLD_START_TARGET = 1.5


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


def import_times(runs: int) -> tuple[float, float]:
    _import_seconds("app")  # compile .pyc files once, outside the figures
    _import_seconds("chalice, boto3")
    app_times, bare_times = [], []
    for _ in range(runs):  # interleaved, so drift on the machine hits both alike
        app_times.append(_import_seconds("app"))
        bare_times.append(_import_seconds("chalice, boto3"))
    return statistics.median(app_times), statistics.median(bare_times)


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
