"""app.py wires the contract's scheduled jobs and one Blueprint per area."""

from __future__ import annotations

from chalice.test import Client

import app as app_module
from chalicelib.jobs.registry import JOBS
from tests.helpers.paths import PROJECT_DIR


def test_each_contract_job_is_a_scheduled_function():
    handlers = {name for name, kind in _event_sources() if kind == "schedule"}
    assert (
        handlers
        == {
            "dispute_sla",
            "ticket_sla",
            "reconcile",
            "password_age",
            "topup_settle",
            "chat_queue",
            "order_expiry",
            "webhook_dispatch",
            "notify_dispatch",
        }
        == set(JOBS)
    )


def test_the_sla_jobs_run_every_15_minutes():
    schedules = {
        source.name: source.schedule_expression
        for source in app_module.app.event_sources
        if hasattr(source, "schedule_expression")  # not the inbound-mail queue's
    }
    for job in ("dispute_sla", "ticket_sla"):
        assert (schedules[job].value, schedules[job].unit) == (15, "MINUTES")


def test_a_scheduled_run_returns_what_the_job_did(stage):
    with Client(app_module.app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
        response = client.lambda_.invoke("dispute_sla", event)
    assert "ran_at" in response.payload


def _event_sources():
    return [
        (source.name, "schedule") for source in app_module.app.event_sources if hasattr(source, "schedule_expression")
    ]
