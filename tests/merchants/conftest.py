"""Merchant tests never touch the network: name resolution is replaced by a table (FakeDns)."""

from __future__ import annotations

import pytest

from tests.helpers.freezes import an_agent
from tests.helpers.merchants import FakeDns


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    return FakeDns(monkeypatch)


@pytest.fixture
def agent(seeded):
    """An agent signed in with TOTP, as /admin needs: its Authorization header."""
    return an_agent()[1]
