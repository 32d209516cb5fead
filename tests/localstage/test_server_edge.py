"""The real local server (`make run`) at its edge: any HTTP method, oversized and deeply nested bodies,
started under `AWS_DEFAULT_REGION=us-east-1` (issue 10, items 9, 11, 12, 14).

http.server used to answer a method without a `do_<METHOD>` (QUERY, FOO …) with its own HTML 501;
every method now reaches the app, which answers `405 method_not_allowed` with `Allow`.
"""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.api.middleware import MAX_BODY_BYTES
from tests.live_server import local_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("server-edge") / "server.log"
    with local_server(log, {"AWS_DEFAULT_REGION": "us-east-1"}) as live:
        yield live


def exchange(connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None, **headers):
    connection.request(method, path, body=body, headers={"Content-Type": "application/json", **headers})
    response = connection.getresponse()
    raw = response.read()
    return response.status, response, json.loads(raw) if raw else None


def assert_envelope(status: int, response, body, expected_status: int, code: str) -> dict:
    assert status == expected_status, (status, body)
    assert response.getheader("Content-Type", "").startswith("application/json"), response.getheaders()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["request_id"] == response.getheader("X-Request-Id")
    return body["error"]


@pytest.fixture
def connection(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    yield connection
    connection.close()


def test_the_server_started_in_us_east_1_and_serves(server, connection):
    status, _, body = exchange(connection, "GET", "/health")
    assert (status, body) == (200, {"status": "ok"})
    status, _, body = exchange(connection, "GET", "/_local/clock")
    assert status == 200 and body["test_clock"] is False


@pytest.mark.parametrize("method", ["QUERY", "FOO", "TRACE", "OPTIONS", "PUT", "DELETE", "get"])
def test_any_method_a_path_lacks_is_405_with_allow(connection, method):
    status, response, body = exchange(connection, method, "/health")
    assert_envelope(status, response, body, 405, "method_not_allowed")
    assert response.getheader("Allow") == "GET"
    status, response, body = exchange(connection, method, "/me", b'{"q": 1}')
    assert_envelope(status, response, body, 405, "method_not_allowed")
    assert sorted(m.strip() for m in response.getheader("Allow").split(",")) == ["GET", "PATCH"]
    # the connection is still good for the next request (keep-alive)
    assert exchange(connection, "GET", "/health")[0] == 200


@pytest.mark.parametrize("method", ["QUERY", "FOO"])
def test_an_unknown_method_on_an_unknown_path_is_404(connection, method):
    status, response, body = exchange(connection, method, "/no/such/route", **{"Accept-Language": "zh-CN"})
    error = assert_envelope(status, response, body, 404, "not_found")
    assert error["message"] == "未找到相关内容。"


def test_a_body_over_the_limit_is_413_over_the_wire(connection):
    status, response, body = exchange(connection, "POST", "/auth/login", b" " * (MAX_BODY_BYTES + 1))
    assert_envelope(status, response, body, 413, "payload_too_large")


def test_a_deeply_nested_body_is_400_over_the_wire(connection):
    status, response, body = exchange(connection, "POST", "/auth/login", b"[" * 100_000)
    assert_envelope(status, response, body, 400, "validation_error")
    deep_object = b'{"a":' * 5000 + b"1" + b"}" * 5000
    status, response, body = exchange(connection, "PUT", "/_local/clock", deep_object)
    assert_envelope(status, response, body, 400, "validation_error")


def test_a_burst_of_clients_connecting_at_once_is_served_not_reset(server):
    # socketserver's default listen backlog of 5 reset most of a burst of connections.
    barrier = threading.Barrier(200)

    def one(_: int) -> int:
        # A client gives up connecting after 10 s (SYN retries past a full backlog take longer);
        # the answer itself may take as long as it needs.
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            barrier.wait()
            connection.connect()
            connection.sock.settimeout(120)
            status, _, _ = exchange(connection, "GET", "/health")
            return status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=200) as pool:
        statuses = list(pool.map(one, range(200)))
    assert statuses == [200] * 200
