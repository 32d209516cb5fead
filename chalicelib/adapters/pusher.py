"""Frames to live-chat WebSocket connections, and closing them (contract, section 12).

Deployed, through API Gateway's management API for the stage's WebSocket API
(`apigatewaymanagementapi`, endpoint `OKPAY_WS_ENDPOINT` from the template): `post_to_connection`
sends a frame, `delete_connection` closes. A connection API Gateway no longer has (`GoneException`:
the client went away without a clean close) has its record deleted, so it is not tried again.

The local stage's server installs its own backend (`use_backend`, localstage/ws_bridge.py), which
writes to the sockets it holds; nothing local is in this package. With no backend and no endpoint
(the in-process tests), frames go nowhere.

Best effort: neither call ever raises. A client that missed a frame catches up over REST.
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any, Protocol

from chalicelib.adapters.config import get_settings
from chalicelib.adapters.logging import logger
from chalicelib.store import connections


class Gone(Exception):
    """The connection no longer exists at the gateway."""


class Backend(Protocol):
    def post(self, connection_id: str, data: str) -> None:
        """Send one text frame; raise Gone when the connection does not exist."""

    def close(self, connection_id: str) -> None:
        """Close the connection (no error when it is already gone)."""


class ApiGatewayBackend:
    """API Gateway's management API; one client per process, built on first use."""

    def __init__(self, endpoint: str, region: str) -> None:
        self.endpoint = endpoint
        self.region = region
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3  # deferred: heavy (boto3 ~15 ms; only a push or a close needs the client)

                    self._client = boto3.session.Session().client(
                        "apigatewaymanagementapi", endpoint_url=self.endpoint, region_name=self.region
                    )
        return self._client

    def post(self, connection_id: str, data: str) -> None:
        client = self.client()
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=data.encode("utf-8"))
        except client.exceptions.GoneException:
            raise Gone(connection_id) from None

    def close(self, connection_id: str) -> None:
        client = self.client()
        with contextlib.suppress(client.exceptions.GoneException):
            client.delete_connection(ConnectionId=connection_id)


class _Nowhere:
    """No WebSocket API to post to (the in-process tests): frames are dropped."""

    def post(self, connection_id: str, data: str) -> None:
        return None

    def close(self, connection_id: str) -> None:
        return None


_lock = threading.Lock()
_installed: Backend | None = None
_by_endpoint: dict[tuple[str, str], ApiGatewayBackend] = {}


def use_backend(backend: Backend | None) -> None:
    """Route every push through `backend` (the local stage's bridge); None: back to the default."""
    global _installed
    _installed = backend


def backend() -> Backend:
    if _installed is not None:
        return _installed
    settings = get_settings()
    if not settings.ws_endpoint:
        return _Nowhere()
    key = (settings.ws_endpoint, settings.region)
    found = _by_endpoint.get(key)
    if found is None:
        with _lock:
            found = _by_endpoint.setdefault(key, ApiGatewayBackend(*key))
    return found


def post(connection_id: str, frame: dict[str, Any]) -> bool:
    """Send `frame` (JSON text) to the connection; False if it was not delivered. A connection that
    is gone has its record deleted."""
    data = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
    try:
        backend().post(connection_id, data)
    except Gone:
        _forget(connection_id)
        return False
    except Exception:
        logger.warning("websocket push failed", extra={"connection_id": connection_id}, exc_info=True)
        return False
    return True


def close(connection_id: str) -> None:
    """Close the connection and delete its record."""
    try:
        backend().close(connection_id)
    except Exception:
        logger.warning("websocket close failed", extra={"connection_id": connection_id}, exc_info=True)
    _forget(connection_id)


def _forget(connection_id: str) -> None:
    try:
        connections.delete_connection(connection_id)
    except Exception:  # the record expires on its own after 2 h
        logger.warning("connection record not deleted", extra={"connection_id": connection_id}, exc_info=True)
