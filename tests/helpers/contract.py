"""Every reply the tests receive is checked against the OpenAPI document.

The `client` and `deployed_client` fixtures wrap Chalice's test client with `checked()`: a reply to
a documented operation must have a documented status, and its body must validate against that
status's schema (formats asserted: a timestamp must be a real RFC 3339 date-time). So the whole
suite (every happy and unhappy path) proves that a client generated from the document accepts what
the server sends.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from typing import Any

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from chalicelib.api import openapi


@cache
def _document(local: bool) -> dict[str, Any]:
    return openapi.document(local=local)


@cache
def _registry(local: bool) -> Registry:
    return Registry().with_resource("urn:okpay", DRAFT202012.create_resource(_document(local)))


@cache
def _routes(local: bool) -> list[tuple[re.Pattern[str], str, str]]:
    routes = []
    for path, item in _document(local)["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$")
        for method in item:
            routes.append((pattern, path, method))
    # A literal segment beats a parameter: /me/sessions before /me/{x}.
    routes.sort(key=lambda route: route[1].count("{"))
    return routes


@cache
def _validator(local: bool, path: str, method: str, status: str) -> Any:
    response = _document(local)["paths"][path][method]["responses"][status]
    media = (response.get("content") or {}).get("application/json")
    if media is None:
        return None if not response.get("content") else _ANY_TEXT
    schema = {"$ref": f"urn:okpay#/paths/{_escape(path)}/{method}/responses/{status}/content/application~1json/schema"}
    return jsonschema.Draft202012Validator(
        schema, registry=_registry(local), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _escape(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


# Survey mode for editing the document: write violations to this file instead of failing.
_LOG = os.environ.get("OKPAY_CONTRACT_LOG")


_ANY_TEXT = object()


class ContractViolation(AssertionError):
    pass


def check(local: bool, method: str, url: str, status: int, body: bytes | str | None) -> None:
    """Raise ContractViolation when the reply to `method url` is not what the document says."""
    method = method.lower()
    template = _template_of(local, method, url.split("?", 1)[0])
    if template is None:
        return  # not an operation (an unknown route or method): the gateway's 404/405, checked elsewhere
    responses = _document(local)["paths"][template][method]["responses"]
    if str(status) not in responses:
        raise ContractViolation(
            f"{method.upper()} {template} answered {status}, which the document does not list "
            f"({', '.join(responses)}): {_text(body)[:300]}"
        )
    validator = _validator(local, template, method, str(status))
    if validator is _ANY_TEXT:  # a page or a file of it (GET /docs): not JSON
        return
    if validator is None:
        if body:
            raise ContractViolation(f"{method.upper()} {template} {status} has a body the document does not declare")
        return
    data = json.loads(body) if body else None
    errors = sorted(validator.iter_errors(data), key=lambda error: list(error.absolute_path))
    if errors:
        details = "; ".join(
            f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}" for error in errors[:5]
        )
        raise ContractViolation(f"{method.upper()} {template} {status} does not match the document: {details}")


def _template_of(local: bool, method: str, path: str) -> str | None:
    for pattern, template, declared in _routes(local):
        if declared == method and pattern.match(path):
            return template
    return None


def _text(body: bytes | str | None) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return body or ""


def checked(http: Any, local: bool) -> Any:
    """Chalice's TestHTTPClient whose every reply is checked against the document."""
    original = http.request

    def request(method: str, path: str, headers: dict[str, str] | None = None, body: bytes | str = b""):
        response = original(method, path, headers=headers, body=body)
        try:
            check(local, method, path, response.status_code, response.body)
        except ContractViolation as violation:
            if not _LOG:
                raise
            with open(_LOG, "a", encoding="utf-8") as log:
                log.write(f"{violation}\n")
        return response

    http.request = request
    return http
