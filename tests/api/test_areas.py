"""Areas load on their first request: the route table lists exactly what each module declares, a
cold start imports no area, and a request imports only its own."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

from chalicelib.api import areas
from chalicelib.api.routing import OPERATIONS
from tests.helpers.paths import PROJECT_DIR


def test_the_table_lists_exactly_the_routes_each_module_declares():
    areas.load_all(local=True)
    table = {**areas.AREAS, areas.LOCAL_AREA: areas.LOCAL_ROUTES}
    for module, routes in table.items():
        declared = {(op.method, op.path) for op in OPERATIONS if op.module == module}
        assert set(routes) == declared, module
        assert len(routes) == len(set(routes)), f"{module} lists a route twice"
    assert {op.module for op in OPERATIONS} == set(table), "a module declares routes the table does not list"


def test_every_module_with_routes_is_an_area():
    with_routes = set()
    for path in sorted((PROJECT_DIR / "chalicelib" / "api").rglob("*.py")):
        if any(line.startswith("@operation(") for line in path.read_text(encoding="utf-8").splitlines()):
            with_routes.add(".".join(Path(path.relative_to(PROJECT_DIR)).with_suffix("").parts))
    assert with_routes == {*areas.AREAS, areas.LOCAL_AREA}


_PROBE = """
import json, sys
import app
before = sorted(m for m in sys.modules if m.startswith("chalicelib.api.") or m.startswith("chalicelib.services."))
from chalice.test import Client
with Client(app.app) as client:
    status = client.http.get("/health").status_code
after = sorted(m for m in sys.modules if m.startswith("chalicelib.api.") or m.startswith("chalicelib.services."))
print(json.dumps({"before": before, "after": after, "status": status}))
"""


def test_a_cold_start_imports_no_area_and_a_request_only_its_own():
    env = {"AWS_DEFAULT_REGION": "ap-southeast-1", "PATH": os.environ.get("PATH", ""), "OKPAY_STAGE": "dev"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True
    ).stdout
    seen = json.loads(out.strip().splitlines()[-1])
    loaded_areas = [module for module in areas.AREAS if module in seen["before"]]
    assert loaded_areas == [], "import app loaded an area"
    assert seen["status"] == 200
    assert "chalicelib.api.public" in seen["after"]
    assert not any(module in seen["after"] for module in areas.AREAS if module != "chalicelib.api.public")
    assert "chalicelib.services.wallet.money_out" not in seen["after"]  # the public area needs no money moved


def test_an_area_module_imported_twice_declares_nothing_twice():
    before = len(OPERATIONS)
    areas.load_all(local=True)
    importlib.import_module("chalicelib.api.wallet.payments")
    areas.load_all(local=True)
    assert len(OPERATIONS) == max(before, len({(op.method, op.path) for op in OPERATIONS}))
