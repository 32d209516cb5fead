"""Per-request facts the edge needs everywhere: the request id and the caller's language."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters import request_origin
from chalicelib.i18n import locale_from_accept_language


@dataclass
class RequestScope:
    request_id: str
    accept_locale: str | None  # from Accept-Language; wins over the stored locale
    stored_locale: str | None = None  # the signed-in user's locale, once known
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def locale(self) -> str:
        """Accept-Language, else the stored locale, else English (contract, section 1)."""
        return self.accept_locale or self.stored_locale or "en"


_scope: ContextVar[RequestScope | None] = ContextVar("okpay_request_scope", default=None)
# The request being served. Chalice keeps `app.current_request` on the shared app object, which two
# requests served at once by threads (chalice local, the test client) overwrite for each other;
# the middleware is handed the right one per call, and it is kept here for the view.
_request: ContextVar[Any] = ContextVar("okpay_request", default=None)


def begin(request_context: dict[str, Any] | None, headers: Any, request: Any = None) -> RequestScope:
    gateway_id = (request_context or {}).get("requestId")
    request_id = gateway_id if isinstance(gateway_id, str) and gateway_id else uuid.uuid4().hex
    scope = RequestScope(
        request_id=request_id,
        accept_locale=locale_from_accept_language(headers.get("accept-language")),
    )
    _scope.set(scope)
    _request.set(request)
    request_origin.begin(((request_context or {}).get("identity") or {}).get("sourceIp"))
    return scope


def current_request() -> Any:
    """This request's Chalice Request (never another thread's)."""
    return _request.get()


def current() -> RequestScope:
    scope = _scope.get()
    if scope is None:  # outside a request (jobs, scripts): still give errors an id
        scope = RequestScope(request_id=uuid.uuid4().hex, accept_locale=None)
        _scope.set(scope)
    return scope


def end() -> None:
    _scope.set(None)
    _request.set(None)
    request_origin.end()
