"""The operator commands that create agents and change roles (never HTTP routes)."""

from __future__ import annotations

import pytest

from chalicelib.cli import main
from chalicelib.errors import OkpayError
from chalicelib.services.identity.passwords import verify_password
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


def _customer(email: str = "li@example.com") -> User:
    from chalicelib.adapters import clock
    from chalicelib.store.users import create_user_with_claims

    user = User("usr_li", created_at=clock.stamp(clock.now()), email=email, email_verified=True)
    create_user_with_claims(user, [email_claim(email)])
    return user


def test_set_role_promotes_and_demotes_and_signs_the_person_out(stage, capsys):
    from chalicelib.adapters import clock
    from chalicelib.services.identity import sessions

    user = _customer()
    token = sessions.start_session(user, device_id="d", device_name=None, now=clock.now()).access_token
    assert main(["set-role", "--email", "LI@example.com", "--role", "agent"]) == 0
    assert "now agent" in capsys.readouterr().out
    assert User.get("usr_li").role == "agent"
    with pytest.raises(OkpayError) as caught:
        sessions.authenticate(f"Bearer {token}", clock.now())
    assert caught.value.code == "unauthorized"

    token = sessions.start_session(User.get("usr_li"), device_id="d", device_name=None, now=clock.now()).access_token
    assert sessions.authenticate(f"Bearer {token}", clock.now()).role == "agent"
    assert main(["set-role", "--user-id", "usr_li", "--role", "agent"]) == 0
    assert "already agent" in capsys.readouterr().out
    assert sessions.authenticate(f"Bearer {token}", clock.now()).role == "agent"  # nothing changed
    assert main(["set-role", "--user-id", "usr_li", "--role", "user"]) == 0
    assert User.get("usr_li").role == "user"
    with pytest.raises(OkpayError):
        sessions.authenticate(f"Bearer {token}", clock.now())


def test_set_role_of_nobody_is_refused(stage, capsys):
    assert main(["set-role", "--email", "nobody@example.com", "--role", "agent"]) == 2
    assert "not_found" in capsys.readouterr().err
    assert main(["set-role", "--user-id", "usr_nobody", "--role", "user"]) == 2


def test_create_agent_does_not_pass_a_customer_off_as_an_agent(stage, monkeypatch, capsys):
    _customer("lead@okpay.local")
    monkeypatch.setenv("OKPAY_AGENT_PASSWORD", "river-stone-lantern-81")
    assert main(["create-agent", "--email", "lead@okpay.local"]) == 2
    assert "set-role" in capsys.readouterr().err
    assert User.get("usr_li").role == "user"
