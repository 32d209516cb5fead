"""The npm tools pinned in tools/openapi/package.json (installed by `make openapi-tools`, which
`make test` runs first)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.paths import PROJECT_DIR

TOOLS_DIR = PROJECT_DIR / "tools" / "openapi"
_BIN = TOOLS_DIR / "node_modules" / ".bin"
# No telemetry or update checks: the run is offline and must not wait on the network.
_QUIET = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_UPDATE_NOTIFIER": "1"}


def run_tool(name: str, *args: str | Path, cwd: Path = TOOLS_DIR, timeout: int = 180) -> subprocess.CompletedProcess:
    tool = _BIN / name
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run `make openapi-tools` (make test does)")
    return subprocess.run(
        [str(tool), *map(str, args)],
        cwd=cwd,
        env={**os.environ, **_QUIET},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
