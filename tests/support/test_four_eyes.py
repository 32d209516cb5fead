"""Four eyes on large dispute refunds (contract v1.2, section 9): a refund above 5,000 CNY equivalent answers
202 awaiting_approval and moves nothing; a second agent's approve posts it exactly once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from chalicelib.adapters import clock
from chalicelib.errors import OkpayError
from chalicelib.jobs.registry import run_job
from chalicelib.services.support import dispute_desk
from chalicelib.store.kyc import KycRecord
from chalicelib.store.wallet import LedgerEntry
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.parallel import run_together
from tests.helpers.support import customer
from tests.helpers.users import PASSWORD, make_user, signed_in
from tests.helpers.wallet import CAFE, TRAVEL, add_card, balances, top_up
from tests.support.test_disputes import agent_post, emails, mentioning, opened, read, resolve
from tests.wallet.test_payments import assert_balanced

THRESHOLD = 500_000  # 5,000.00 CNY


def paid(client, headers, amount: int, currency: str = "CNY", merchant: str = CAFE) -> str:
    """A payment past the step-up budget, authorised with the password; its transaction id."""
    payload = {
        "merchant_id": merchant,
        "amount": amount,
        "currency": currency,
        "order_reference": uuid.uuid4().hex,
        "authorization": {"password": PASSWORD},
    }
    response = post_json(client, "/payments", payload, {**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.body
    return body_of(response)["transaction_id"]


def another_agent():
    """An agent with TOTP, signed in with it: (user, headers)."""
    user = make_user(role="agent")
    return user, signed_in(user)


def disputed(client, amount: int = 600_000, currency: str = "CNY", merchant: str = CAFE):
    """A customer who tops up `amount`, pays all of it and disputes the payment (their balance is then 0)."""
    user, headers = customer(client, amount=amount, currency=currency)
    dispute = opened(client, headers, paid(client, headers, amount, currency, merchant))
    return user, headers, dispute


def approve(client, headers, dispute_id: str, key: str | None = None):
    return agent_post(client, headers, f"/admin/disputes/{dispute_id}/approve", {}, key)


def refunds(user_id: str) -> list[LedgerEntry]:
    return [entry for entry in LedgerEntry.query(f"user#{user_id}") if entry.type == "refund"]


def test_a_refund_above_5000_cny_waits_for_a_second_agent_and_then_moves_once(client, seeded, agent):
    first, first_headers = agent
    second, second_headers = another_agent()
    user, headers, dispute = disputed(client, 600_000)
    dispute_id = dispute["dispute_id"]
    before = balances(client, headers)["CNY"]

    asked = resolve(client, first_headers, dispute_id, note="Card was stolen", key="four-eyes-1")
    assert asked.status_code == 202, asked.body
    view = body_of(asked)
    assert view["status"] == "awaiting_approval"
    assert view["approval"]["refund_amount"] == 600_000 and view["approval"]["requested_by"] == first.user_id
    assert view["approval"]["approved_by"] is None
    assert "refund_transaction_id" not in view and "refund_amount" not in view
    # nothing moved, nobody told yet
    assert balances(client, headers)["CNY"] == before
    assert refunds(user.user_id) == []
    assert mentioning(emails(user.email), dispute_id, "refunded") == []
    # the user sees it waiting; the queue of approvals lists it
    assert body_of(read(client, headers, dispute_id))["status"] == "awaiting_approval"
    waiting = body_of(client.get("/admin/disputes?status=awaiting_approval", headers=second_headers))["data"]
    assert dispute_id in [item["dispute_id"] for item in waiting]
    # the 202 is stored under its key; a second resolve is refused
    again = resolve(client, first_headers, dispute_id, note="Card was stolen", key="four-eyes-1")
    assert again.status_code == 202 and again.headers.get("Idempotent-Replayed") == "true"
    assert body_of(again) == view
    closed = resolve(client, second_headers, dispute_id, "rejected")
    assert assert_error(closed, 409, "dispute_closed")["details"]["status"] == "awaiting_approval"

    approved = approve(client, second_headers, dispute_id)
    assert approved.status_code == 200, approved.body
    outcome = body_of(approved)
    assert (outcome["status"], outcome["refund_amount"]) == ("refunded", 600_000)
    assert outcome["approval"]["approved_by"] == second.user_id
    assert outcome["resolution_note"] == "Card was stolen"
    assert balances(client, headers)["CNY"] == before + 600_000
    (entry,) = refunds(user.user_id)
    assert entry.transaction_id == outcome["refund_transaction_id"]
    legs = sorted((e.account_type, e.direction, int(e.amount)) for e in assert_balanced(entry.transaction_id))
    assert legs == [("system", "debit", 600_000), ("user_wallet", "credit", 600_000)]
    assert len(mentioning(emails(user.email), dispute_id, "refunded")) == 1
    case = body_of(client.get(f"/admin/disputes/{dispute_id}", headers=second_headers))
    actions = [(e["action"], e["actor"]) for e in case["events"]]
    assert ("approval_requested", first.user_id) in actions and ("refunded", second.user_id) in actions
    (refunded,) = [e for e in case["events"] if e["action"] == "refunded"]
    assert refunded["detail"]["requested_by"] == first.user_id
    # approving again: not awaiting approval any more, and no second refund
    twice = assert_error(approve(client, second_headers, dispute_id), 409, "dispute_not_awaiting_approval")
    assert twice["details"]["status"] == "refunded"
    assert len(refunds(user.user_id)) == 1


def test_exactly_5000_cny_is_refunded_at_once_and_one_minor_unit_more_waits(client, seeded, agent):
    _, headers = agent
    user, _, dispute = disputed(client, 600_000)
    response = resolve(client, headers, dispute["dispute_id"], refund_amount=THRESHOLD + 1)
    assert response.status_code == 202 and body_of(response)["approval"]["refund_amount"] == THRESHOLD + 1
    _, other_headers, at_threshold = disputed(client, 600_000)
    before = balances(client, other_headers)["CNY"]
    response = resolve(client, headers, at_threshold["dispute_id"], refund_amount=THRESHOLD)
    assert response.status_code == 200, response.body
    assert body_of(response)["status"] == "refunded"
    assert balances(client, other_headers)["CNY"] == before + THRESHOLD
    assert refunds(user.user_id) == []


def test_a_usd_refund_counts_by_its_cny_equivalent(client, seeded, agent):
    _, headers = agent
    # 0.1380 USD per CNY: 690.00 USD is exactly 5,000.00 CNY
    user, _, dispute = disputed(client, 70_000, "USD", TRAVEL)
    asked = resolve(client, headers, dispute["dispute_id"])
    assert asked.status_code == 202 and body_of(asked)["status"] == "awaiting_approval"
    assert refunds(user.user_id) == []
    _, other_headers, exact = disputed(client, 70_000, "USD", TRAVEL)
    before = balances(client, other_headers)["USD"]
    response = resolve(client, headers, exact["dispute_id"], refund_amount=69_000)
    assert response.status_code == 200, response.body
    assert balances(client, other_headers)["USD"] == before + 69_000
    over = resolve(client, headers, disputed(client, 70_000, "USD", TRAVEL)[2]["dispute_id"], refund_amount=69_001)
    assert over.status_code == 202


def test_the_agent_who_asked_cannot_approve(client, seeded, agent):
    _, headers = agent
    _, user_headers, dispute = disputed(client)
    assert resolve(client, headers, dispute["dispute_id"]).status_code == 202
    before = balances(client, user_headers)["CNY"]
    assert_error(approve(client, headers, dispute["dispute_id"]), 403, "own_case")
    assert body_of(read(client, user_headers, dispute["dispute_id"]))["status"] == "awaiting_approval"
    assert balances(client, user_headers)["CNY"] == before


def test_an_agent_cannot_approve_a_refund_to_themselves(client, seeded, agent):
    _, headers = agent
    own = make_user(role="agent")
    own_headers = signed_in(own)
    KycRecord(own.user_id, "current", status="approved", level=2, approved_real_name="张三").save()
    card = add_card(client, own_headers)
    assert top_up(client, own_headers, card, 1_000_000).status_code == 201
    dispute = opened(client, own_headers, paid(client, own_headers, 600_000))
    assert resolve(client, headers, dispute["dispute_id"]).status_code == 202
    assert_error(approve(client, own_headers, dispute["dispute_id"]), 403, "own_case")
    assert refunds(own.user_id) == []


def test_approving_what_is_not_awaiting_approval_is_409_and_unknown_is_404(client, seeded, agent):
    _, headers = agent
    _, _, dispute = disputed(client)
    error = assert_error(approve(client, headers, dispute["dispute_id"]), 409, "dispute_not_awaiting_approval")
    assert error["details"]["status"] == "open"
    assert_error(approve(client, headers, "dsp_" + "0" * 32), 404, "not_found")
    # a small refund is never waiting
    _, _, small = disputed(client, 5_000)
    assert resolve(client, headers, small["dispute_id"]).status_code == 200
    assert_error(approve(client, headers, small["dispute_id"]), 409, "dispute_not_awaiting_approval")


def test_only_agents_with_totp_approve(client, seeded, agent):
    _, headers = agent
    _, user_headers, dispute = disputed(client)
    assert resolve(client, headers, dispute["dispute_id"]).status_code == 202
    assert_error(approve(client, user_headers, dispute["dispute_id"]), 403, "forbidden")
    untrusted = make_user(role="agent", agent_totp=False)
    assert_error(approve(client, signed_in(untrusted), dispute["dispute_id"]), 403, "mfa_required")


def test_approve_replays_with_its_key(client, seeded, agent):
    _, headers = agent
    _, second_headers = another_agent()
    user, _, dispute = disputed(client)
    assert resolve(client, headers, dispute["dispute_id"]).status_code == 202
    first = approve(client, second_headers, dispute["dispute_id"], key="approve-1")
    assert first.status_code == 200, first.body
    again = approve(client, second_headers, dispute["dispute_id"], key="approve-1")
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert body_of(again) == body_of(first)
    assert len(refunds(user.user_id)) == 1


def test_parallel_approvals_refund_exactly_once(client, seeded, agent):
    _, headers = agent
    approvers = [another_agent()[0] for _ in range(3)]
    user, user_headers, dispute = disputed(client)
    dispute_id = dispute["dispute_id"]
    assert resolve(client, headers, dispute_id).status_code == 202
    before = balances(client, user_headers)["CNY"]

    def approval_by(agent_id: str):
        def attempt():
            try:
                return dispute_desk.approve(agent_id, dispute_id, clock.now())
            except OkpayError as error:
                return error

        return attempt

    results = run_together(*(approval_by(a.user_id) for a in approvers * 2))
    views = [r for r in results if isinstance(r, dict)]
    errors = [r for r in results if isinstance(r, OkpayError)]
    assert len(views) == 1, results
    assert {e.code for e in errors} == {"dispute_not_awaiting_approval"}, errors
    assert balances(client, user_headers)["CNY"] == before + 600_000
    (entry,) = refunds(user.user_id)
    assert entry.transaction_id == views[0]["refund_transaction_id"]
    assert_balanced(entry.transaction_id)


def test_the_user_may_withdraw_while_it_waits_and_then_nothing_is_approved(client, seeded, agent):
    _, headers = agent
    _, second_headers = another_agent()
    user, user_headers, dispute = disputed(client)
    assert resolve(client, headers, dispute["dispute_id"]).status_code == 202
    message = post_json(client, f"/disputes/{dispute['dispute_id']}/messages", {"body": "Any news?"}, user_headers)
    assert message.status_code == 201, message.body
    withdrawn = post_json(client, f"/disputes/{dispute['dispute_id']}/withdraw", {}, user_headers)
    assert body_of(withdrawn)["status"] == "withdrawn"
    error = assert_error(approve(client, second_headers, dispute["dispute_id"]), 409, "dispute_not_awaiting_approval")
    assert error["details"]["status"] == "withdrawn"
    assert refunds(user.user_id) == []


def test_a_dispute_awaiting_approval_is_not_escalated_and_blocks_closing(client, seeded, agent):
    _, headers = agent
    user, user_headers, dispute = disputed(client)
    assert resolve(client, headers, dispute["dispute_id"]).status_code == 202
    later = clock.from_stamp(clock.stamp(clock.now())) + timedelta(days=10)
    clock.set_test_clock(later)
    run_job("dispute_sla", later)
    user_headers = signed_in(user)  # the old session's token has expired
    assert body_of(read(client, user_headers, dispute["dispute_id"]))["escalated"] is False
    response = post_json(client, "/me/close", {"password": PASSWORD}, user_headers)
    assert_error(response, 409, "account_not_empty")
