"""`GET /console`: the support console, one page agents work in all day (contract, section 9).

Static HTML, CSS and JavaScript modules under chalicelib/static/console, served by the app itself:
no build step, no third-party origin. The page calls only this API and the chat WebSocket, so its
Content-Security-Policy names exactly those, plus the KYC bucket's origin for the documents it shows
inline. Paths in the page are relative, so it works under API Gateway's stage path (/api/console).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from chalice import Response

from chalicelib.adapters.config import get_settings
from chalicelib.adapters.logging import logger
from chalicelib.api.routing import Call, operation
from chalicelib.errors import not_found
from chalicelib.services.kyc import documents

_STATIC = Path(__file__).resolve().parents[1] / "static" / "console"
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The page's files by name: a fixed list, so no request can name a path outside it.
ASSETS: dict[str, tuple[Path, str]] = {
    name: (_STATIC / name, _MEDIA_TYPES[Path(name).suffix])
    for name in (
        "console.css",
        "app.js",
        "api.js",
        "i18n.js",
        "format.js",
        "dom.js",
        "ui.js",
        "queue.js",
        "case.js",
        "chat.js",
        "customer.js",
        "icon.svg",
    )
}
# The modules change together with the API; without hashed names, a browser revalidates each load
# rather than run an old module against a new one.
_CACHE = "no-cache"


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def content_security_policy(host: str | None) -> str:
    """Scripts and styles from this origin only; requests to this API and the chat WebSocket; images
    from this origin, data:/blob: and the KYC documents' bucket."""
    images = " ".join(["'self'", "data:", "blob:", *_document_origins()])
    sockets = " ".join(["'self'", *_chat_socket_origins(host)])
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; connect-src {sockets}; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _chat_socket_origins(host: str | None) -> list[str]:
    """The live-chat WebSocket's origin: the configured URL (OKPAY_WS_URL), else, in the local stage,
    the bridge on the API's port + 1 (`make run`, contract section 10)."""
    settings = get_settings()
    if settings.ws_url:
        return [_origin(settings.ws_url)]
    if settings.is_local and host:
        hostname, _, port = host.rpartition(":")
        if port.isdigit():
            return [f"ws://{hostname}:{int(port) + 1}"]
    return []


def _document_origins() -> list[str]:
    try:
        origin = documents.download_origin()
    except Exception:  # no signing credentials: the page still works, documents open as links
        logger.warning("kyc document origin unknown; console shows no inline documents", exc_info=True)
        return []
    return [origin] if origin else []


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _headers(call: Call, media_type: str) -> dict[str, str]:
    return {
        "Content-Type": media_type,
        "Cache-Control": _CACHE,
        "Content-Security-Policy": content_security_policy(call.headers.get("host")),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


@operation(
    "GET",
    "/console",
    summary="The support console",
    description=(
        "The agents' single-page console (static HTML and JavaScript modules from this origin): sign-in with "
        "password and TOTP, one queue of waiting chats, tickets, disputes and KYC cases with their SLA "
        "countdowns, the case view beside the customer panel, and live chat. It calls only this API and the "
        "chat WebSocket, under a strict `Content-Security-Policy`; tokens stay in memory."
    ),
    tag="public",
    media_type="text/html",
    examples={200: '<!doctype html><html lang="en">…</html>'},
)
def console_page(call: Call) -> Response:
    return Response(body=_read(_STATIC / "index.html"), headers=_headers(call, "text/html; charset=utf-8"))


@operation(
    "GET",
    "/console/{asset}",
    summary="A file of the support console",
    description=(
        "The styles, JavaScript modules and icon `GET /console` loads (`console.css`, `app.js`, `api.js`, …). "
        "Any other name is `404 not_found`."
    ),
    tag="public",
    errors=("not_found",),
    media_type="text/plain",
    examples={200: "/* console.css */"},
)
def console_asset(call: Call) -> Response:
    asset = ASSETS.get(call.params["asset"])
    if asset is None:
        raise not_found()
    path, media_type = asset
    return Response(body=_read(path), headers=_headers(call, media_type))
