"""The outside world of webhooks: one HTTP POST to an address chosen beforehand.

The caller resolves the host and picks an address it has checked (chalicelib.services.wallet.
webhook_urls); this module connects to that address only, never resolving the name again, so a
name re-pointed between the check and the connection (DNS rebinding) cannot move the request. TLS
still verifies the certificate against the host name (SNI and hostname check). Redirects are not
followed. urllib3 (already shipped with botocore): no new dependency in the Lambda zip.
"""

from __future__ import annotations

import ssl

import urllib3


def post(
    *,
    scheme: str,
    host: str,
    port: int,
    address: str,
    target: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> int:
    """The response status of POSTing `body` to `address`:`port` for `host`; raises on any failure
    (connection refused, TLS, timeout)."""
    options = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address,
            port,
            server_hostname=host,
            assert_hostname=host,
            ssl_context=ssl.create_default_context(),
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **options)
    default_port = 443 if scheme == "https" else 80
    host_header = host if port == default_port else f"{host}:{port}"
    try:
        response = pool.urlopen(
            "POST",
            target,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        status = response.status
        response.release_conn()
        return status
    finally:
        pool.close()
