"""`GET /docs`: the interactive API reference (Swagger UI) on this API's own OpenAPI document.

Swagger UI is vendored (chalicelib/static/swagger-ui, the files of the npm package swagger-ui-dist
pinned in tools/openapi/package.json; tests/api/test_docs.py checks they are byte-identical) and
served by the app itself: no CDN, and a Content-Security-Policy that allows this origin's scripts
only. Paths are relative, so the page works under API Gateway's stage path (/api/docs) too.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from chalice import Response

from chalicelib.api.routing import Call, operation
from chalicelib.errors import not_found

_STATIC = Path(__file__).resolve().parents[1] / "static"
# asset name -> (file, media type)
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (_STATIC / "swagger-ui" / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": (_STATIC / "swagger-ui" / "swagger-ui.css", "text/css; charset=utf-8"),
    "docs.js": (_STATIC / "docs" / "docs.js", "text/javascript; charset=utf-8"),
    "docs.css": (_STATIC / "docs" / "docs.css", "text/css; charset=utf-8"),
}
# Swagger UI sets inline styles and shows SVG icons from data: URLs; "Try it out" calls this origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@operation(
    "GET",
    "/docs",
    summary="Interactive API reference",
    description=(
        "This document rendered by Swagger UI, served by the API itself (no third-party host). "
        "Paste an access token under **Authorize** to try signed-in operations from the page."
    ),
    tag="public",
    media_type="text/html",
    examples={200: '<!doctype html><html lang="en">…</html>'},
)
def docs_page(call: Call) -> Response:
    html = _read(_STATIC / "docs" / "index.html")
    return Response(
        body=html, headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache", **_HEADERS}
    )


@operation(
    "GET",
    "/docs/{asset}",
    summary="A file of the API reference page",
    description=(
        "The scripts and styles `GET /docs` loads: `swagger-ui-bundle.js`, `swagger-ui.css`, "
        "`docs.js`, `docs.css`. Any other name is `404 not_found`."
    ),
    tag="public",
    errors=("not_found",),
    media_type="text/plain",
    examples={200: "/* swagger-ui.css */"},
)
def docs_asset(call: Call) -> Response:
    asset = ASSETS.get(call.params["asset"])
    if asset is None:
        raise not_found()
    path, media_type = asset
    return Response(
        body=_read(path),
        headers={"Content-Type": media_type, "Cache-Control": "public, max-age=3600", **_HEADERS},
    )
