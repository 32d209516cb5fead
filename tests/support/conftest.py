"""Fixtures for the support tests: the seeded agent, signed in; helpers live in tests/helpers."""

from __future__ import annotations

import pytest

from chalicelib.store.users import User, email_claim, find_claim_owner
from localstage.seed import AGENT_EMAIL
from tests.helpers.users import signed_in


@pytest.fixture
def agent(seeded):
    """The seeded support agent and its headers."""
    user = User.get(find_claim_owner(email_claim(AGENT_EMAIL)))
    return user, signed_in(user, device_id="console")
