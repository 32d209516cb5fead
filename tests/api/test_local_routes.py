"""/_local/outbox, /_local/jobs/{job}, /_local/clock (contract, section 10)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

import app as app_module
from chalicelib.adapters import clock, notify
from chalicelib.jobs.registry import JOBS
from tests.helpers.http import assert_error, body_of, post_json, put_json
from tests.helpers.paths import PROJECT_DIR

LOCAL_ROUTES = [
    ("GET", "/_local/outbox"),
    ("POST", "/_local/jobs/reconcile"),
    ("POST", "/_local/jobs/no_such_job"),
    ("GET", "/_local/clock"),
    ("PUT", "/_local/clock"),
    ("DELETE", "/_local/clock"),
    ("POST", "/_local/inbound-email"),
]


@pytest.mark.parametrize(("method", "path"), LOCAL_ROUTES)
def test_local_routes_are_404_outside_the_local_stage(deployed_client, method, path):
    body = b'{"now": "2026-01-01T00:00:00+08:00"}' if method in ("POST", "PUT") else None
    response = deployed_client.request(method, path, body=body, headers={"Content-Type": "application/json"})
    assert_error(response, 404, "not_found")


def test_a_bad_body_is_still_404_outside_the_local_stage(deployed_client):
    assert_error(put_json(deployed_client, "/_local/clock", {"bogus": True}), 404, "not_found")


LOCAL_PATHS = {"/_local/outbox", "/_local/jobs/{job}", "/_local/clock", "/_local/inbound-email", "/_local/faults"}


@pytest.mark.parametrize("stage_name", ["dev", "prod"])
def test_local_routes_are_not_registered_outside_the_local_stage(stage_name):
    routes = app_module.create_app(stage_name).routes
    assert routes and not [path for path in routes if path.startswith("/_local")]
    assert {path for path in app_module.create_app("local").routes if path.startswith("/_local")} == LOCAL_PATHS


def test_the_deployed_document_has_no_local_routes(deployed_client, client):
    deployed = body_of(deployed_client.get("/openapi.json"))
    assert deployed["paths"] and not [path for path in deployed["paths"] if path.startswith("/_local")]
    assert "local" not in {tag["name"] for tag in deployed["tags"]}
    local = body_of(client.get("/openapi.json"))
    assert set(local["paths"]) - set(deployed["paths"]) == LOCAL_PATHS


@pytest.mark.parametrize(("stage_name", "has_local"), [("dev", False), ("prod", False), ("", False), ("local", True)])
def test_importing_the_app_registers_the_local_routes_only_in_the_local_stage(stage_name, has_local):
    """What Lambda, `chalice package --stage` and `make run` do: import app.py with the stage's variables."""
    env = {"PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "ap-southeast-1", "OKPAY_STAGE": stage_name}
    script = (
        "import app, sys; print(sorted({p for p in app.app.routes if p.startswith('/_local')}), len(app.app.routes))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    local_paths, route_count = result.stdout.strip().rsplit(" ", 1)
    assert (local_paths != "[]") is has_local, result.stdout
    assert int(route_count) > 10


def test_get_clock_answers_real_time_with_an_offset_until_a_test_clock_is_set(client):
    response = client.get("/_local/clock")
    assert response.status_code == 200
    state = body_of(response)
    assert set(state) == {"now", "test_clock"} and state["test_clock"] is False
    now = datetime.fromisoformat(state["now"])
    assert now.utcoffset() is not None
    assert abs(now - clock.real_now()) < timedelta(seconds=5)
    put_json(client, "/_local/clock", {"now": "2026-02-16T23:59:00+08:00"})
    state = body_of(client.get("/_local/clock"))
    assert state["test_clock"] is True and state["now"].startswith("2026-02-16T23:59")


def test_outbox_holds_every_message_newest_first(client, stage):
    notify.send_sms("+8613800138000", "verification_code_sms", "en", code="111111", minutes=5, purpose="sign up")
    notify.send_email(
        "li.lei@example.com", "verification_code_email", "zh-CN", code="222222", minutes=15, purpose="重置密码"
    )
    notify.send_sms("+8613800138000", "verification_code_sms", "zh-CN", code="333333", minutes=5, purpose="注册")
    everything = body_of(client.get("/_local/outbox"))["data"]
    assert [message["channel"] for message in everything] == ["sms", "email", "sms"]
    assert "333333" in everything[0]["body"] and "111111" in everything[2]["body"]
    email = everything[1]
    assert email["to"] == "li.lei@example.com" and email["subject"] == "Okpay 验证码"
    assert "subject" not in everything[0]
    assert datetime.fromisoformat(email["sent_at"]).utcoffset() == timedelta(hours=8)


def test_outbox_filters_by_recipient_in_any_phone_spelling(client, stage):
    notify.send_sms("+8613800138000", "verification_code_sms", "en", code="111111", minutes=5, purpose="sign up")
    notify.send_sms("+85261234567", "verification_code_sms", "en", code="444444", minutes=5, purpose="sign up")
    notify.send_email("Li.Lei@Example.com", "verification_code_email", "en", code="222222", minutes=5, purpose="x")
    for spelling in ("%2B8613800138000", "13800138000", "+86%20138%200013%208000"):
        found = body_of(client.get(f"/_local/outbox?to={spelling}"))["data"]
        assert [m["body"].count("111111") for m in found] == [1], spelling
    assert len(body_of(client.get("/_local/outbox?to=li.lei%40example.com"))["data"]) == 1
    assert body_of(client.get("/_local/outbox?to=nobody%40example.com")) == {"data": []}


@pytest.mark.parametrize("job", sorted(JOBS))
def test_each_contract_job_runs_on_demand(client, job):
    response = post_json(client, f"/_local/jobs/{job}", {"now": "2026-03-01T09:00:00+08:00"})
    assert response.status_code == 200
    body = body_of(response)
    assert body["job"] == job
    assert body["result"]["ran_at"] == "2026-03-01T09:00:00+08:00"


def test_a_job_runs_at_the_test_clock_when_no_now_is_given_and_does_not_move_it(client):
    put_json(client, "/_local/clock", {"now": "2026-05-01T12:00:00+08:00"})
    body = body_of(client.post("/_local/jobs/reconcile"))
    assert body["result"]["ran_at"].startswith("2026-05-01T12:00")
    post_json(client, "/_local/jobs/reconcile", {"now": "2030-01-01T00:00:00+08:00"})
    assert body_of(client.get("/_local/clock"))["now"].startswith("2026-05-01T12:0")


def test_unknown_job_is_404(client):
    assert_error(client.post("/_local/jobs/make_coffee"), 404, "not_found")


def test_job_with_a_bad_time_is_400(client):
    assert_error(post_json(client, "/_local/jobs/reconcile", {"now": "tomorrow"}), 400, "validation_error", field="now")
    assert_error(post_json(client, "/_local/jobs/reconcile", {"when": "x"}), 400, "validation_error", field="when")


def test_clock_is_set_runs_on_and_is_cleared(client):
    response = put_json(client, "/_local/clock", {"now": "2025-09-30T17:31:00+08:00"})
    assert response.status_code == 200
    assert body_of(response) == {"now": "2025-09-30T17:31:00+08:00", "test_clock": True}
    assert abs(clock.now() - datetime.fromisoformat("2025-09-30T17:31:00+08:00")) < timedelta(seconds=5)
    assert body_of(client.get("/_local/clock"))["test_clock"] is True
    cleared = body_of(client.delete("/_local/clock"))
    assert cleared["test_clock"] is False
    assert abs(clock.now() - clock.real_now()) < timedelta(seconds=1)


def test_clock_reads_times_without_offset_in_shanghai_and_z_as_utc(client):
    assert (
        body_of(put_json(client, "/_local/clock", {"now": "2026-01-01T08:00:00"}))["now"] == "2026-01-01T08:00:00+08:00"
    )
    assert (
        body_of(put_json(client, "/_local/clock", {"now": "2026-01-01T00:00:00Z"}))["now"]
        == "2026-01-01T08:00:00+08:00"
    )


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", "", 1700000000, True])
def test_clock_refuses_what_is_not_a_date_and_time(client, value):
    assert_error(put_json(client, "/_local/clock", {"now": value}), 400, "validation_error", field="now")


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "1900-01-01T00:00:00Z"])
def test_instants_outside_the_supported_range_are_400(client, value):
    assert_error(put_json(client, "/_local/clock", {"now": value}), 400, "validation_error", field="now")
    assert client.get("/support/contact").status_code == 200


def test_every_job_has_its_result_documented():
    """A job added to the registry needs its result's shape in chalicelib/api/schemas/local.py (JobResult)."""
    from chalicelib.api import openapi

    job_result = openapi.document(local=True)["components"]["schemas"]["JobResult"]
    assert set(job_result["discriminator"]["mapping"]) == set(JOBS)


def test_a_job_given_a_null_now_runs_now(client):
    """`null` is the same as an absent field (contract, section 1)."""
    response = post_json(client, "/_local/jobs/password_age", {"now": None})
    assert response.status_code == 200
    assert datetime.fromisoformat(body_of(response)["result"]["ran_at"]).utcoffset() == timedelta(hours=8)
