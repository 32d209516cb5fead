"""Test set-up: moto for every AWS call, the local stage's settings, a fresh AWS per test.

Order matters: the environment and moto come before anything creates a botocore client, and the
app is imported only after that.
"""

from __future__ import annotations

import itertools
import os

os.environ["AWS_DEFAULT_REGION"] = "ap-southeast-1"
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION"):
    os.environ.pop(name, None)

import boto3  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from localstage import faults, gateway  # noqa: E402
from localstage.moto_isolation import make_dynamodb_atomic  # noqa: E402
from localstage.server import use_moto_environment  # noqa: E402

use_moto_environment()  # the local stage's variables, .local emails allowed
gateway.install()  # unknown routes answer like our API Gateway does
faults.install()  # PUT /_local/faults: before any botocore client is made
make_dynamodb_atomic()  # moto's DynamoDB isolated under threads, as the real service is

from chalice.test import Client  # noqa: E402

import app as app_module  # noqa: E402
from chalicelib.adapters import clock, outbox  # noqa: E402
from chalicelib.adapters.config import get_settings  # noqa: E402
from localstage.resources import create_stage_resources  # noqa: E402
from tests.helpers.auth import register_user  # noqa: E402
from tests.helpers.contract import checked  # noqa: E402
from tests.helpers.paths import PROJECT_DIR  # noqa: E402


@pytest.fixture(autouse=True)
def _local_state():
    """Each test starts on real time with an empty outbox and no injected fault."""
    clock.clear_test_clock()
    outbox.clear()
    yield
    clock.clear_test_clock()
    outbox.clear()
    faults.FAULTS.clear()


@pytest.fixture
def aws():
    """A fresh, empty moto account for one test."""
    with mock_aws():
        yield


@pytest.fixture
def stage(aws):
    """The local stage's tables, bucket, topic and SES sender, created from infra/resources.yaml."""
    create_stage_resources(boto3.session.Session(), get_settings())
    return get_settings()


@pytest.fixture
def seeded(stage):
    from localstage.seed import seed

    return seed()


@pytest.fixture
def client(stage):
    """The app in the local stage, called the way API Gateway calls it."""
    with Client(app_module.app, stage_name="local", project_dir=str(PROJECT_DIR)) as test_client:
        yield checked(test_client.http, local=True)


@pytest.fixture(params=["dev", "prod"])
def deployed_client(request, stage):
    """The app as a deployed stage builds it (no /_local routes), with that stage's variables."""
    deployed_app = app_module.create_app(request.param)
    with Client(deployed_app, stage_name=request.param, project_dir=str(PROJECT_DIR)) as test_client:
        yield checked(test_client.http, local=False)


@pytest.fixture
def log_lines():
    """The JSON log lines the app writes during the test, formatted exactly as in Lambda."""
    import io
    import logging

    from chalicelib.adapters.logging import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    std_logger = logging.getLogger("okpay")
    std_logger.addHandler(handler)
    yield lambda: [line for line in stream.getvalue().splitlines() if line]
    std_logger.removeHandler(handler)


@pytest.fixture
def user(client):
    """A registered account with a verified email, signed up over HTTP: the register_user() dict."""
    return register_user(client)


@pytest.fixture
def distinct_codes(monkeypatch):
    """One-time codes that never repeat within a test, so "the old code no longer works" is always
    checked (two random codes are equal once in a million runs)."""
    from chalicelib.services.identity import one_time_codes

    sequence = itertools.count(123_457)
    monkeypatch.setattr(one_time_codes, "new_code", lambda: f"{next(sequence) % 10**6:06d}")


@pytest.fixture
def frozen_clock(monkeypatch):
    """The app's clock stands still at now; only move_clock(seconds) moves it.

    A test clock that ran on would let a one-second lock window run out on a busy machine.
    (TOTP follows real time, as the contract says, and is not affected.)
    """
    state = {"now": clock.now()}
    monkeypatch.setattr(clock, "now", lambda: state["now"])
    monkeypatch.setattr(clock, "set_test_clock", lambda moment: state.update(now=moment.astimezone(clock.UTC)))
    return state["now"]


@pytest.fixture(scope="module")
def live_stage(tmp_path_factory):
    """The real local stage (`make run`'s server) in a subprocess, for tests over real HTTP: the
    generated clients, the browser."""
    from tests.live_server import local_server

    with local_server(tmp_path_factory.mktemp("live") / "server.log") as live:
        yield live
