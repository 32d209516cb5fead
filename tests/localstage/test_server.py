"""`make run` end to end: the real server process on embedded moto, then a clean stop."""

from __future__ import annotations

import json
import signal
import socket

import pytest

from tests.live_server import fetch, local_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with local_server(tmp_path_factory.mktemp("server") / "server.log") as live:
        yield live.base, live.process, live.port


def test_the_readme_curl_lines_work(server):
    base, _, _ = server
    assert fetch(f"{base}/health")[2] == {"status": "ok"}
    status, _, merchants = fetch(f"{base}/merchants", headers={"Accept-Language": "zh-CN"})
    assert status == 200 and any(m["name"] == "晨光咖啡" for m in merchants["data"])
    assert fetch(f"{base}/fx/rates")[2]["rates"]["CNY"] == "1"
    assert fetch(f"{base}/support/contact")[0] == 200
    assert fetch(f"{base}/openapi.json")[2]["openapi"].startswith("3.")
    clock = json.dumps({"now": "2026-10-01T09:00:00+08:00"}).encode()
    status, _, body = fetch(f"{base}/_local/clock", "PUT", clock, {"Content-Type": "application/json"})
    assert status == 200 and body["test_clock"] is True
    assert fetch(f"{base}/_local/jobs/dispute_sla", "POST")[2]["job"] == "dispute_sla"
    assert fetch(f"{base}/_local/outbox?to=%2B8613800138000")[2] == {"data": []}
    assert fetch(f"{base}/_local/clock", "DELETE")[2]["test_clock"] is False


def test_unknown_routes_answer_the_envelope_in_the_callers_language(server):
    base, _, _ = server
    status, headers, body = fetch(f"{base}/no-such-route", headers={"Accept-Language": "zh-CN"})
    assert status == 404 and body["error"]["code"] == "not_found"
    assert body["error"]["message"] == "未找到相关内容。"
    assert body["error"]["request_id"] == headers["X-Request-Id"]


def test_ctrl_c_stops_everything(server):
    _, process, port = server
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
