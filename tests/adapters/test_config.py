"""Stage settings come from .chalice/config.json at the time of use; import needs only a region."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.adapters.config import get_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONFIG = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_each_stage_names_its_own_tables(stage):
    assert CONFIG["stages"][stage]["environment_variables"]["OKPAY_TABLE_PREFIX"] == f"okpay-{stage}-"


def test_policies_are_hand_written_not_generated():
    assert CONFIG["autogen_policy"] is False
    for stage in ("dev", "prod"):
        assert CONFIG["stages"][stage]["iam_policy_file"] == f"policy-{stage}.json"


def test_settings_follow_the_environment_of_the_moment(monkeypatch):
    monkeypatch.setenv("OKPAY_STAGE", "dev")
    monkeypatch.setenv("OKPAY_TABLE_PREFIX", "okpay-dev-")
    assert get_settings().stage == "dev" and get_settings().table_name("users") == "okpay-dev-users"
    monkeypatch.setenv("OKPAY_STAGE", "local")
    monkeypatch.setenv("OKPAY_TABLE_PREFIX", "okpay-local-")
    assert get_settings().is_local and get_settings().table_name("users") == "okpay-local-users"


def test_an_unknown_or_missing_stage_keeps_local_tools_closed(monkeypatch):
    monkeypatch.setenv("OKPAY_STAGE", "staging")
    assert get_settings().stage == "prod" and not get_settings().is_local
    monkeypatch.delenv("OKPAY_STAGE")
    assert not get_settings().is_local


def test_per_ip_limits_are_off_locally_and_on_when_deployed(monkeypatch):
    monkeypatch.delenv("OKPAY_PER_IP_LIMITS", raising=False)
    monkeypatch.setenv("OKPAY_STAGE", "local")
    assert get_settings().per_ip_limits is False
    monkeypatch.setenv("OKPAY_STAGE", "prod")
    assert get_settings().per_ip_limits is True


def test_sms_country_codes_are_configuration(monkeypatch):
    monkeypatch.setenv("OKPAY_SMS_COUNTRY_CODES", "+86, 852,1")
    assert get_settings().sms_country_codes == ("86", "852", "1")


def test_importing_the_app_needs_only_a_region_and_makes_no_aws_client():
    env = {"PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "ap-southeast-1"}
    script = (
        "import botocore.client, sys\n"
        "made = []\n"
        "original = botocore.client.ClientCreator.create_client\n"
        "botocore.client.ClientCreator.create_client = lambda *a, **k: made.append(a) or original(*a, **k)\n"
        "import app\n"
        "assert len(app.app.routes) > 0\n"
        "print(len(made))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
