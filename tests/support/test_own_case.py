"""An agent never works their own dispute or ticket (contract section 1, Agents): 403 own_case.

The agent's customer side is built through the routes: they sign in, are verified by a colleague,
pay, dispute the payment and open a ticket. Check order: 404 (no such case) → 403 own_case →
409 (closed), so an agent's own case answers own_case whatever state it is in.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from chalicelib.adapters import clock
from chalicelib.store.wallet import LedgerEntry
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.kyc import submit_kyc
from tests.helpers.support import agent_as_customer
from tests.helpers.users import make_user, signed_in
from tests.helpers.wallet import add_card, balances, pay, top_up
from tests.support.test_disputes import agent_post, opened, resolve
from tests.support.test_tickets import agent_reply, new_ticket, set_status


@pytest.fixture
def own_dispute(client, agent):
    """(the agent who filed it, their headers, the dispute, a colleague's headers)."""
    _, colleague_headers = agent
    me, headers = agent_as_customer(client)
    submit_kyc(client, headers)
    decision = {"decision": "approve", "level": 1}
    assert post_json(client, f"/admin/kyc/{me.user_id}/decision", decision, colleague_headers).status_code == 200
    card = add_card(client, headers)
    assert top_up(client, headers, card, 50_000).status_code == 201
    dispute = opened(client, headers, pay(client, headers, 5_000))
    return me, headers, dispute, colleague_headers


def extend_payload() -> dict:
    return {"reason": "Waiting for the merchant", "resolve_by": clock.isoformat(clock.now() + timedelta(days=20))}


def snapshot(client, headers, dispute_id: str) -> tuple:
    """What the agent's own wallet, history, the whole ledger and the dispute look like."""
    dispute = body_of(client.get(f"/disputes/{dispute_id}", headers=headers))
    history = body_of(client.get("/me/transactions", headers=headers))["data"]
    return balances(client, headers), history, sum(1 for _ in LedgerEntry.scan()), dispute


def test_an_agent_cannot_work_their_own_dispute(client, own_dispute):
    _me, headers, dispute, colleague_headers = own_dispute
    dispute_id = dispute["dispute_id"]
    colleague_id = body_of(client.get("/me", headers=colleague_headers))["user_id"]
    before = snapshot(client, headers, dispute_id)
    assert before[3]["status"] == "open" and before[3]["messages"] == []

    attempts = {
        "assign to themselves": agent_post(client, headers, f"/admin/disputes/{dispute_id}/assign"),
        "assign to a colleague": agent_post(
            client, headers, f"/admin/disputes/{dispute_id}/assign", {"agent_id": colleague_id}
        ),
        "reply": agent_post(client, headers, f"/admin/disputes/{dispute_id}/messages", {"body": "Approved!"}),
        "extend": agent_post(client, headers, f"/admin/disputes/{dispute_id}/extend", extend_payload()),
        "refund to themselves": resolve(client, headers, dispute_id, "refunded"),
        "reject": resolve(client, headers, dispute_id, "rejected"),
    }
    for attempt, response in attempts.items():
        assert response.status_code == 403, attempt
        assert_error(response, 403, "own_case")

    # nothing moved: no money, no ledger entry, no change to the dispute
    assert snapshot(client, headers, dispute_id) == before


def test_a_refund_to_themselves_stays_refused_when_replayed(client, own_dispute):
    _me, headers, dispute, _ = own_dispute
    key = uuid.uuid4().hex
    before = balances(client, headers)
    assert_error(resolve(client, headers, dispute["dispute_id"], "refunded", key=key), 403, "own_case")
    replay = resolve(client, headers, dispute["dispute_id"], "refunded", key=key)
    assert replay.status_code == 403 and replay.headers.get("Idempotent-Replayed") == "true"
    assert body_of(replay)["error"]["code"] == "own_case"
    assert balances(client, headers) == before


def test_a_dispute_is_never_assigned_to_the_agent_it_is_about(client, own_dispute):
    me, _headers, dispute, colleague_headers = own_dispute
    path = f"/admin/disputes/{dispute['dispute_id']}/assign"
    assert_error(agent_post(client, colleague_headers, path, {"agent_id": me.user_id}), 403, "own_case")
    assert (
        body_of(client.get(f"/admin/disputes/{dispute['dispute_id']}", headers=colleague_headers)).get("assignee")
        is None
    )
    assert agent_post(client, colleague_headers, path).status_code == 200


def test_a_colleague_works_the_agents_dispute(client, own_dispute):
    _me, headers, dispute, colleague_headers = own_dispute
    dispute_id = dispute["dispute_id"]
    before = balances(client, headers)["CNY"]
    assert agent_post(client, colleague_headers, f"/admin/disputes/{dispute_id}/assign").status_code == 200
    reply = agent_post(client, colleague_headers, f"/admin/disputes/{dispute_id}/messages", {"body": "Looking."})
    assert reply.status_code == 201
    extended = agent_post(client, colleague_headers, f"/admin/disputes/{dispute_id}/extend", extend_payload())
    assert extended.status_code == 200, extended.body
    response = resolve(client, colleague_headers, dispute_id, "refunded", refund_amount=2_000)
    assert response.status_code == 200, response.body
    assert body_of(response)["status"] == "refunded"
    assert balances(client, headers)["CNY"] == before + 2_000


def test_own_case_comes_after_404_and_before_409(client, own_dispute):
    _me, headers, dispute, colleague_headers = own_dispute
    unknown = f"dsp_{uuid.uuid4().hex}"
    assert_error(agent_post(client, headers, f"/admin/disputes/{unknown}/messages", {"body": "x"}), 404, "not_found")
    assert resolve(client, colleague_headers, dispute["dispute_id"], "rejected").status_code == 200
    # closed now: a colleague gets 409, the agent whose dispute it is still own_case
    path = f"/admin/disputes/{dispute['dispute_id']}/extend"
    assert_error(agent_post(client, colleague_headers, path, extend_payload()), 409, "dispute_closed")
    assert_error(agent_post(client, headers, path, extend_payload()), 403, "own_case")


# --- tickets -----------------------------------------------------------------------------------


def test_an_agent_cannot_handle_their_own_ticket(client, agent):
    _, colleague_headers = agent
    _, headers = agent_as_customer(client)
    ticket = new_ticket(client, headers, subject="My top-up is missing")
    ticket_id = ticket["ticket_id"]

    assert_error(agent_reply(client, headers, ticket_id, "Solved it myself"), 403, "own_case")
    for status in ("open", "pending", "solved", "closed"):
        assert_error(set_status(client, headers, ticket_id, status), 403, "own_case")

    unchanged = body_of(client.get(f"/support/tickets/{ticket_id}", headers=headers))
    assert unchanged["status"] == "new" and unchanged["updated_at"] == ticket["updated_at"]
    assert len(unchanged["messages"]) == 1  # only what the agent wrote when opening it, as a customer

    # a colleague handles it
    assert agent_reply(client, colleague_headers, ticket_id).status_code == 201
    assert set_status(client, colleague_headers, ticket_id, "solved").status_code == 200
    # closed by the colleague: the agent still gets own_case, not ticket_closed
    assert set_status(client, colleague_headers, ticket_id, "closed").status_code == 200
    assert_error(set_status(client, headers, ticket_id, "open"), 403, "own_case")
    assert_error(agent_reply(client, colleague_headers, ticket_id), 409, "ticket_closed")


def test_an_agent_still_handles_other_peoples_tickets(client, agent):
    _, headers = agent_as_customer(client)
    user_headers = signed_in(make_user())
    ticket = new_ticket(client, user_headers)
    assert agent_reply(client, headers, ticket["ticket_id"]).status_code == 201
    assert set_status(client, headers, ticket["ticket_id"], "solved").status_code == 200
