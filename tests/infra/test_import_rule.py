"""The import rule and the direction of dependencies, for chalicelib/ and app.py.

Imports go at the top of the module. An import is deferred into a function only for a heavy
third-party library that a cold start (`import app`) must not pay for and that only some requests
use; such an import carries the comment `# deferred: heavy (<why>)`.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]

TEMPORARILY_ALLOWED: set[str] = set()

# What a function may import, and why each stays out of `import app` (costs measured after `import app`
# with `python -X importtime`). A name covers its submodules.
HEAVY = {
    "argon2": "argon2-cffi, ~7 ms (loads a C library); only sign-in and password changes hash",
    "boto3": "~15 ms; PynamoDB needs only botocore, and few requests call SES, SNS, S3 or KMS",
    "cryptography": "~20 ms; local-stage field encryption and sealed sign-in challenges only",
    "email_validator": "~25 ms (idna, dnspython); only requests that take an email address",
    "holidays": "~20 ms; only a year that chinesecalendar has not published",
    "jwt": "PyJWT, ~35 ms; public routes never check a token",
    "phonenumbers": "~20 ms of metadata; only requests that take or text a phone number",
    "pydantic": "~25 ms; loaded with the first route that validates a body or a query",
    "stdnum": "python-stdnum, ~8 ms; only card and resident-ID checks",
    "zxcvbn": "~25 ms of dictionaries; only password checks",
    # Our modules that import pydantic (and build every model) at their top.
    "chalicelib.api.openapi": "pydantic and every schema model; only GET /openapi.json",
    "chalicelib.api.schemas": "pydantic; a route's models are loaded with its first request",
}
THIRD_PARTY_HEAVY = sorted(name for name in HEAVY if not name.startswith("chalicelib"))

MARK = "# deferred: heavy ("


def python_files() -> list[Path]:
    return [PROJECT_DIR / "app.py", *sorted((PROJECT_DIR / "chalicelib").rglob("*.py"))]


def imported_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    """Dotted names: `from chalicelib.api import openapi` is `chalicelib.api.openapi`."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    module = "." * node.level + (node.module or "")  # relative: always one of ours, never heavy
    return [f"{module}.{alias.name}" for alias in node.names]


def is_heavy(name: str) -> bool:
    return any(name == heavy or name.startswith(heavy + ".") for heavy in HEAVY)


def function_level_imports(path: Path) -> list[tuple[int, list[str], str]]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found: dict[int, tuple[int, list[str], str]] = {}
    for function in ast.walk(ast.parse(source, filename=str(path))):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import | ast.ImportFrom):
                found[node.lineno] = (node.lineno, imported_names(node), lines[node.lineno - 1])
    return sorted(found.values())


def test_imports_inside_functions_are_only_of_heavy_libraries_and_say_so():
    problems = []
    for path in python_files():
        relative = path.relative_to(PROJECT_DIR).as_posix()
        if relative in TEMPORARILY_ALLOWED:
            continue
        for line, names, text in function_level_imports(path):
            light = [name for name in names if not is_heavy(name)]
            if light:
                problems.append(f"{relative}:{line}: {', '.join(light)} is not heavy: import it at the top")
            elif MARK not in text or not text.split(MARK, 1)[1].split(")", 1)[0].strip():
                problems.append(f"{relative}:{line}: a deferred import says why: `{MARK}<why>)`")
    assert not problems, "\n".join(problems)


def test_the_rule_sees_a_deferred_import():
    """The walk finds imports in methods and nested functions, and tells heavy from light."""
    sample = PROJECT_DIR / "chalicelib" / "services" / "identity" / "passwords.py"
    assert any(names == ["argon2.PasswordHasher", "argon2.Type"] for _, names, _ in function_level_imports(sample))
    assert is_heavy("pydantic.ValidationError") and not is_heavy("pydantic_core.PydanticCustomError")
    assert is_heavy("chalicelib.api.schemas.wallet") and is_heavy("chalicelib.api.openapi")
    assert not is_heavy("chalicelib.services.kyc.cases") and not is_heavy(".phones.normalize_phone")


def test_import_app_loads_none_of_the_heavy_libraries():
    """What a function defers must not be loaded by `import app` anyway (else deferring buys nothing)."""
    env = {"AWS_DEFAULT_REGION": "ap-southeast-1", "PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"}
    script = f"import sys, app; print(' '.join(n for n in {THIRD_PARTY_HEAVY!r} if n in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == []


def test_adapters_import_no_services_api_or_jobs():
    """The layers: an adapter (the outside world) may use config, i18n and the store, never a layer above it."""
    above = ("chalicelib.services", "chalicelib.api", "chalicelib.jobs")
    problems = []
    for path in sorted((PROJECT_DIR / "chalicelib" / "adapters").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in imported_names(node):
                    if name.startswith(above):
                        problems.append(f"{path.relative_to(PROJECT_DIR).as_posix()}:{node.lineno}: {name}")
    assert not problems, "\n".join(problems)


# The services' domains, each importing only those before it (README.md, "Where things are").
DOMAINS = ["common", "identity", "kyc", "wallet", "support", "account"]


def test_service_domains_import_only_the_domains_before_them():
    backwards = []
    for path in sorted((PROJECT_DIR / "chalicelib" / "services").rglob("*.py")):
        domain = path.relative_to(PROJECT_DIR / "chalicelib" / "services").parts[0]
        if domain not in DOMAINS:
            continue
        allowed = DOMAINS[: DOMAINS.index(domain) + 1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in imported_names(node):
                    if name.startswith("chalicelib.services."):
                        target = name.split(".")[2]
                        if target not in allowed:
                            backwards.append(f"{path.relative_to(PROJECT_DIR)} imports {name}")
    assert not backwards, "\n".join(backwards)


def test_services_store_adapters_and_i18n_never_import_chalice_or_the_api():
    leaks = []
    for package in ("services", "store", "adapters", "i18n", "jobs"):
        for path in sorted((PROJECT_DIR / "chalicelib" / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    for name in imported_names(node):
                        if name.split(".")[0] == "chalice" or name.startswith("chalicelib.api"):
                            leaks.append(f"{path.relative_to(PROJECT_DIR)} imports {name}")
    assert not leaks, "\n".join(leaks)
