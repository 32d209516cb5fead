"""Where the request being served came from: the client's source IP, for the user's security log.

The HTTP edge sets it when a request begins and clears it when it ends (chalicelib.api.request_context);
the security log reads it (chalicelib.store.security_events), so every event written while serving a
request carries the IP without each service passing it along. Outside a request (jobs) there is none.
"""

from __future__ import annotations

from contextvars import ContextVar

_client_ip: ContextVar[str | None] = ContextVar("okpay_client_ip", default=None)


def begin(client_ip: str | None) -> None:
    _client_ip.set(client_ip if isinstance(client_ip, str) and client_ip else None)


def client_ip() -> str | None:
    """The source IP of the request being served (API Gateway's `identity.sourceIp`), else None."""
    return _client_ip.get()


def end() -> None:
    _client_ip.set(None)
