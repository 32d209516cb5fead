"""A TypeScript client (openapi-typescript types + openapi-fetch) generated from the served document:
tests/clients/ts/journey.ts, written from the contract without a single cast, type-checks under
`tsc --strict` and completes the core money flow against a live local stage."""

from __future__ import annotations

import json
import re
import subprocess

import httpx

from localstage.seed import AGENT_EMAIL, AGENT_PASSWORD, AGENT_TOTP_SECRET
from tests.helpers.node_tools import TOOLS_DIR, run_tool
from tests.helpers.paths import PROJECT_DIR

JOURNEY = PROJECT_DIR / "tests" / "clients" / "ts" / "journey.ts"
TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "noUncheckedIndexedAccess": True,
        "exactOptionalPropertyTypes": True,
        "target": "ES2022",
        "module": "NodeNext",
        "moduleResolution": "NodeNext",
        "lib": ["ES2022", "DOM"],
        "types": ["node"],
        "outDir": "out",
        "skipLibCheck": True,
    },
    "files": ["journey.ts"],
}


def test_the_journey_has_no_casts_or_escape_hatches():
    source = JOURNEY.read_text(encoding="utf-8")
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("//"))
    assert re.findall(r"\bas (?!const\b)\w+", code) == []
    assert re.findall(r"\bany\b|@ts-|!\.|!\)|!;", code) == []


def test_the_typescript_journey_type_checks_strictly_and_runs(live_stage, tmp_path):
    (tmp_path / "openapi.json").write_text(httpx.get(f"{live_stage.base}/openapi.json").text, encoding="utf-8")
    generated = run_tool("openapi-typescript", tmp_path / "openapi.json", "-o", tmp_path / "okpay-api.d.ts")
    assert generated.returncode == 0, generated.stderr
    (tmp_path / "journey.ts").write_text(JOURNEY.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "tsconfig.json").write_text(json.dumps(TSCONFIG), encoding="utf-8")
    (tmp_path / "package.json").write_text('{"type": "module"}', encoding="utf-8")
    (tmp_path / "node_modules").symlink_to(TOOLS_DIR / "node_modules", target_is_directory=True)

    compiled = run_tool("tsc", "-p", tmp_path / "tsconfig.json", cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert compiled.stdout == ""

    run = subprocess.run(
        ["node", str(tmp_path / "out" / "journey.js"), live_stage.base, AGENT_EMAIL, AGENT_PASSWORD, AGENT_TOTP_SECRET],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome == {"transfer": "completed", "remaining": 100_000, "window": "lifetime"}
