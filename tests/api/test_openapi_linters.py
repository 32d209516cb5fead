"""Third-party linters find nothing in the served document: Redocly (recommended rules) and Spectral
(`spectral:oas`), pinned in tools/openapi/package.json, as a mobile or shop developer would run them."""

from __future__ import annotations

import json

import pytest

from chalicelib.api import openapi
from tests.helpers.http import body_of
from tests.helpers.node_tools import TOOLS_DIR, run_tool


@pytest.fixture(params=["local", "deployed"])
def document_file(request, client, tmp_path):
    """The document as the local stage serves it, and as a deployed stage builds it (no /_local)."""
    if request.param == "local":
        response = client.get("/openapi.json")
        assert response.status_code == 200
        document = body_of(response)
    else:
        document = openapi.document(local=False)
        assert not any(path.startswith("/_local") for path in document["paths"])
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_redocly_recommended_reports_nothing(document_file):
    result = run_tool("redocly", "lint", document_file, "--config", TOOLS_DIR / "redocly.yaml", "--format=json")
    report, _ = json.JSONDecoder().raw_decode(result.stdout[result.stdout.index("{") :])
    problems = [
        f"{p['severity']} {p['ruleId']}: {p['message']} at {p['location'][0]['pointer']}" for p in report["problems"]
    ]
    assert problems == [], "\n".join(problems[:30])
    assert result.returncode == 0, result.stderr[-2000:]


def test_spectral_oas_reports_nothing(document_file):
    result = run_tool(
        "spectral",
        "lint",
        document_file,
        "--ruleset",
        TOOLS_DIR / ".spectral.yaml",
        "--format=json",
        "--fail-severity=hint",
    )
    findings, _ = json.JSONDecoder().raw_decode(result.stdout[result.stdout.index("[") :])
    problems = [f"{f['code']}: {f['message']} at {'/'.join(map(str, f['path']))}" for f in findings]
    assert problems == [], "\n".join(problems[:30])
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
