"""The operator command that creates agents (never an HTTP route)."""

from __future__ import annotations

from chalicelib.cli import main
from chalicelib.services.passwords import verify_password
from chalicelib.store.users import User, email_claim, find_claim_owner


def test_create_agent_reads_the_password_from_the_environment(stage, monkeypatch, capsys):
    monkeypatch.setenv("OKPAY_AGENT_PASSWORD", "river-stone-lantern-81")
    assert main(["create-agent", "--email", "lead@okpay.local", "--name", "客服 小王"]) == 0
    agent = User.get(find_claim_owner(email_claim("lead@okpay.local")))
    assert agent.role == "agent" and agent.display_name == "客服 小王"
    assert verify_password(agent.password_hash, "river-stone-lantern-81")
    assert "created" in capsys.readouterr().out
    assert main(["create-agent", "--email", "lead@okpay.local"]) == 0
    assert "already exists" in capsys.readouterr().out


def test_a_weak_agent_password_is_refused(stage, monkeypatch, capsys):
    monkeypatch.setenv("OKPAY_AGENT_PASSWORD", "password123")
    assert main(["create-agent", "--email", "lead@okpay.local"]) == 2
    assert "weak_password" in capsys.readouterr().err
    assert find_claim_owner(email_claim("lead@okpay.local")) is None
