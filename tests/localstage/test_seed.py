"""The local stage's demo data: the contract's agent, merchants, FX rates; seeding twice is harmless."""

from __future__ import annotations

from chalicelib.services.identity.passwords import verify_password
from chalicelib.store.users import User, email_claim, find_claim_owner
from localstage.seed import AGENT_EMAIL, AGENT_PASSWORD, seed


def test_the_agent_exists_with_the_contract_password(seeded):
    agent = User.get(find_claim_owner(email_claim(AGENT_EMAIL)))
    assert agent.role == "agent" and agent.email == AGENT_EMAIL and agent.email_verified
    assert agent.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(agent.password_hash, AGENT_PASSWORD)
    assert not verify_password(agent.password_hash, "wrong-password")


def test_seeding_twice_keeps_one_agent(seeded):
    again = seed()
    assert again["agent_created"] is False and again["agent_id"] == seeded["agent_id"]
    assert User.count() == 2  # the two agents of the contract, once each
