"""Faults over HTTP: `PUT /_local/faults` on the moto-backed local stage (localstage/faults.py)."""

from __future__ import annotations

import pytest
from botocore.retries import standard

from chalicelib.adapters import bank_gateway


@pytest.fixture(autouse=True)
def _short_waits(monkeypatch):
    """botocore's backoff (up to 1, 2, 4 s between attempts) and the bank's hang (10 s), a hundredth
    as long: the same attempts and outcomes, in test time."""
    original = standard.ExponentialBackoff.delay_amount

    def shorter(self, context):
        return original(self, context) / 100

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", shorter)
    monkeypatch.setattr(bank_gateway, "TIMEOUT_SECONDS", 0.05)
