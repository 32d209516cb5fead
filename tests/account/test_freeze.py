"""Agents freezing and unfreezing accounts (contract v1.2, sections 9 and 11): the effects of a freeze
(sessions, the security ticket, notices, pending transfers, GET /me), what still works, lifting it,
and the refusals of the two routes."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

from chalicelib.adapters import clock
from chalicelib.services.account import freezes
from chalicelib.store.audit import events_of
from chalicelib.store.security_events import recent_security_events
from chalicelib.store.tickets import Ticket
from chalicelib.store.users import Claim, User, get_user, phone_claim
from chalicelib.store.wallet import TransactionRecord
from tests.helpers.clock import move_clock
from tests.helpers.freezes import an_agent, freeze_as, signed_in_again, unfreeze_as
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.outbox import notices
from tests.helpers.parallel import run_together
from tests.helpers.support import customer
from tests.helpers.users import PASSWORD, make_user, signed_in
from tests.helpers.wallet import balances, pay, top_up


def transfer(client, headers, payee_id, amount, key=None):
    payload = {"recipient": {"user_id": payee_id}, "amount": amount, "currency": "CNY"}
    return post_json(client, "/transfers", payload, {**headers, "Idempotency-Key": key or uuid.uuid4().hex})


def security_ticket(client, headers) -> dict:
    listed = body_of(client.get("/support/tickets", headers=headers))["data"]
    found = [ticket for ticket in listed if ticket["category"] == "security"]
    assert len(found) == 1, listed
    return body_of(client.get(f"/support/tickets/{found[0]['ticket_id']}", headers=headers))


# --- the freeze and its effects --------------------------------------------------------------------


def test_an_agent_freezes_an_account_every_session_ends_and_me_shows_it(client, seeded):
    user, headers = customer(client)
    other_device = signed_in(user, device_id="tablet")
    agent, agent_headers = an_agent()

    response = freeze_as(client, agent_headers, user.user_id, "  客户来电称手机丢失  ")

    assert response.status_code == 200, response.body
    body = body_of(response)
    assert body["user_id"] == user.user_id and body["status"] == "frozen"
    assert body["freeze"]["reason"] == "客户来电称手机丢失" and body["freeze"]["by"] == "agent"
    assert abs((clock.parse_instant(body["freeze"]["at"]) - clock.now()).total_seconds()) < 60
    assert body["ticket_id"].startswith("tkt_")
    for old in (headers, other_device):  # every session, in the freeze's own write
        assert_error(client.get("/me", headers=old), 401, "unauthorized")
    profile = body_of(client.get("/me", headers=signed_in_again(user)))
    assert profile["status"] == "frozen"
    assert profile["freeze"] == body["freeze"]
    stored = get_user(user.user_id)
    assert (stored.status, stored.frozen_by, stored.frozen_by_agent) == ("frozen", "agent", agent.user_id)


def test_signing_in_still_works_while_frozen(client, seeded):
    user, _ = customer(client)
    Claim(phone_claim(user.phone), user_id=user.user_id, created_at=user.created_at).save()
    _, agent_headers = an_agent()
    assert freeze_as(client, agent_headers, user.user_id).status_code == 200

    login = post_json(client, "/auth/login", {"login": user.phone, "password": PASSWORD, "device_id": "new-phone"})

    assert login.status_code == 200, login.body
    tokens = body_of(login)
    me = body_of(client.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}))
    assert me["status"] == "frozen"


def test_the_security_ticket_lists_the_debits_of_the_last_72_hours_with_their_transaction_ids(client, seeded):
    user, headers = customer(client, amount=500_000)
    old = pay(client, headers, 1_100)
    move_clock(timedelta(hours=73))  # `old` is now 73 hours back
    headers = signed_in_again(user)  # the access token expired meanwhile
    recent = [pay(client, headers, 1_200), pay(client, headers, 1_300)]
    payee = make_user()
    sent = body_of(transfer(client, headers, payee.user_id, 1_400))["transaction_id"]
    _, agent_headers = an_agent()

    assert freeze_as(client, agent_headers, user.user_id).status_code == 200

    ticket = security_ticket(client, signed_in_again(user))
    assert ticket["status"] == "new" and ticket["category"] == "security"
    text = "\n".join(message["body"] for message in ticket["messages"])
    for transaction_id in [*recent, sent]:
        assert transaction_id in text
    assert old not in text  # older than 72 hours
    assert "12.00 CNY" in text and "14.00 CNY" in text
    topups = [
        item["transaction_id"]
        for item in body_of(client.get("/me/transactions", headers=signed_in_again(user)))["data"]
        if item["type"] == "topup"
    ]
    assert topups and not any(transaction_id in text for transaction_id in topups)  # credits are not listed


def test_a_freeze_with_no_recent_debits_says_so_on_the_ticket(client, seeded):
    user, _ = customer(client)
    _, agent_headers = an_agent()
    assert freeze_as(client, agent_headers, user.user_id).status_code == 200
    ticket = security_ticket(client, signed_in_again(user))
    assert "no debits in the 72 hours" in ticket["messages"][0]["body"]


def test_both_contacts_hear_of_the_freeze_in_the_users_language(client, seeded):
    user, _ = customer(client, locale="zh-CN")
    _, agent_headers = an_agent()
    ticket_id = body_of(freeze_as(client, agent_headers, user.user_id))["ticket_id"]

    (email,) = [m for m in notices(user.email) if "冻结" in (m.subject or "")]
    (sms,) = [m for m in notices(user.phone) if "冻结" in m.body]
    assert email.subject == "Okpay 安全提醒：您的 Okpay 账户已冻结"
    assert ticket_id in email.body and "Okpay 客服" in email.body
    assert sms.body.startswith("【Okpay】")


def test_a_transfer_waiting_for_confirmation_is_canceled_and_cannot_be_confirmed(client, seeded):
    user, headers = customer(client, amount=500_000)
    payee = make_user()
    waiting = transfer(client, headers, payee.user_id, 200_000)  # ≥ 1,000 CNY: waits for its code
    assert waiting.status_code == 202, waiting.body
    transfer_id = body_of(waiting)["transfer_id"]
    code = re.search(r"(?:Code |验证码 )(\d{6})", notices_or_codes(user.phone)).group(1)
    _, agent_headers = an_agent()

    assert freeze_as(client, agent_headers, user.user_id).status_code == 200

    fresh = signed_in_again(user)
    assert body_of(client.get(f"/transfers/{transfer_id}", headers=fresh))["status"] == "canceled"
    confirm = post_json(client, f"/transfers/{transfer_id}/confirm", {"code": code}, {**fresh, "Idempotency-Key": "c1"})
    assert_error(confirm, 403, "account_frozen")
    assert balances(client, fresh)["CNY"] == 500_000  # nothing was held or moved


def notices_or_codes(phone: str) -> str:
    from tests.helpers.outbox import messages

    return "\n".join(message.body for message in messages(phone, "sms"))


def test_a_transfer_waiting_to_reach_the_frozen_account_still_completes(client, seeded):
    frozen, _frozen_headers = customer(client)
    payer, payer_headers = customer(client, amount=500_000)
    waiting = transfer(client, payer_headers, frozen.user_id, 200_000)
    assert waiting.status_code == 202
    transfer_id = body_of(waiting)["transfer_id"]
    code = re.search(r"(?:Code |验证码 )(\d{6})", notices_or_codes(payer.phone)).group(1)
    _, agent_headers = an_agent()
    assert freeze_as(client, agent_headers, frozen.user_id).status_code == 200

    confirm = post_json(
        client, f"/transfers/{transfer_id}/confirm", {"code": code}, {**payer_headers, "Idempotency-Key": "c"}
    )

    assert confirm.status_code == 200, confirm.body
    assert balances(client, signed_in_again(frozen))["CNY"] == 100_000 + 200_000


def test_money_still_comes_in_and_history_tickets_and_disputes_still_work(client, seeded):
    frozen, _ = customer(client, amount=100_000)
    card_headers = signed_in(frozen)
    card = body_of(client.get("/me/funding-sources", headers=card_headers))["data"][0]["funding_source_id"]
    paid = pay(client, card_headers, 2_000)
    _sender, sender_headers = customer(client)
    _, agent_headers = an_agent()
    assert freeze_as(client, agent_headers, frozen.user_id).status_code == 200
    headers = signed_in_again(frozen)

    assert transfer(client, sender_headers, frozen.user_id, 3_000).status_code == 201  # receiving
    assert top_up(client, headers, card, 4_000).status_code == 201  # top-ups
    assert balances(client, headers)["CNY"] == 100_000 - 2_000 + 3_000 + 4_000
    assert client.get("/me/transactions", headers=headers).status_code == 200
    assert client.get(f"/me/transactions/{paid}", headers=headers).status_code == 200
    ticket = {"subject": "被盗刷", "body": "请帮我核查", "category": "security", "transaction_id": paid}
    assert post_json(client, "/support/tickets", ticket, headers).status_code == 201
    dispute = {"transaction_id": paid, "reason": "unauthorized", "description": "不是我本人操作的付款"}
    response = post_json(client, "/disputes", dispute, headers)
    assert response.status_code in (201, 202), response.body
    patched = client.patch(
        "/me", body=json.dumps({"locale": "zh-CN"}), headers={**headers, "Content-Type": "application/json"}
    )
    assert patched.status_code == 200 and body_of(patched)["status"] == "frozen"


def test_the_freeze_is_in_the_audit_and_the_security_log(client, seeded):
    user, _ = customer(client)
    agent, agent_headers = an_agent()
    ticket_id = body_of(freeze_as(client, agent_headers, user.user_id, "可疑登录"))["ticket_id"]

    (event,) = [e for e in events_of(freezes.audit_subject(user.user_id)) if e.action == "frozen"]
    assert event.actor == agent.user_id
    assert event.detail == {"reason": "可疑登录", "by": "agent", "ticket_id": ticket_id}
    logged, _ = recent_security_events(user.user_id, 20)
    assert [e.action for e in logged if e.action == "frozen"] == ["frozen"]


# --- lifting it ------------------------------------------------------------------------------------


def test_an_agent_unfreeze_restores_everything(client, seeded):
    user, _ = customer(client)
    agent, agent_headers = an_agent()
    assert freeze_as(client, agent_headers, user.user_id).status_code == 200
    headers = signed_in_again(user)
    assert_error(
        post_json(client, "/payments", _payment(), {**headers, "Idempotency-Key": "p1"}), 403, "account_frozen"
    )

    response = unfreeze_as(client, agent_headers, user.user_id, "客户到柜台核验身份")

    assert response.status_code == 200, response.body
    assert body_of(response) == {"user_id": user.user_id, "status": "active"}
    profile = body_of(client.get("/me", headers=headers))  # unfreezing revokes nothing
    assert profile["status"] == "active" and "freeze" not in profile
    assert post_json(client, "/payments", _payment(), {**headers, "Idempotency-Key": "p2"}).status_code == 201
    stored = get_user(user.user_id)
    assert (stored.frozen_at, stored.freeze_reason, stored.frozen_by, stored.frozen_by_agent) == (None,) * 4
    (lifted,) = [e for e in events_of(freezes.audit_subject(user.user_id)) if e.action == "unfrozen"]
    assert lifted.actor == agent.user_id and lifted.detail["reason"] == "客户到柜台核验身份"
    assert lifted.detail["freeze"]["by"] == "agent"
    assert any("unfrozen" in (m.subject or "") for m in notices(user.email))
    assert_error(unfreeze_as(client, agent_headers, user.user_id), 409, "not_frozen")


def _payment(amount: int = 1_000) -> dict:
    return {"merchant_id": "mer_morning_cafe", "amount": amount, "currency": "CNY", "order_reference": uuid.uuid4().hex}


def test_an_agent_lifts_a_freeze_the_user_made(client, seeded):
    user, _ = customer(client)
    freezes.freeze(user.user_id, "lost_device", freezes.Actor.owner(user.user_id), clock.now())
    _, agent_headers = an_agent()
    assert unfreeze_as(client, agent_headers, user.user_id).status_code == 200
    assert get_user(user.user_id).status == "active"


# --- refusals --------------------------------------------------------------------------------------


def test_an_account_already_frozen_is_409_already_frozen(client, seeded):
    user, _ = customer(client)
    _, agent_headers = an_agent()
    assert freeze_as(client, agent_headers, user.user_id).status_code == 200
    assert_error(freeze_as(client, agent_headers, user.user_id), 409, "already_frozen")
    assert len(list(Ticket.by_user.query(user.user_id))) == 1


def test_two_agents_freezing_at_once_one_wins_and_one_ticket_is_opened(client, seeded):
    user, _ = customer(client)
    (_, first), (_, second) = an_agent(), an_agent()

    answers = run_together(
        lambda: freeze_as(client, first, user.user_id), lambda: freeze_as(client, second, user.user_id)
    )

    assert sorted(answer.status_code for answer in answers) == [200, 409]
    assert [body_of(a)["error"]["code"] for a in answers if a.status_code == 409] == ["already_frozen"]
    assert len(list(Ticket.by_user.query(user.user_id))) == 1
    assert len([e for e in events_of(freezes.audit_subject(user.user_id)) if e.action == "frozen"]) == 1


def test_an_agent_never_freezes_or_unfreezes_their_own_account(client, seeded):
    agent, agent_headers = an_agent()
    assert_error(freeze_as(client, agent_headers, agent.user_id), 403, "own_case")
    assert_error(unfreeze_as(client, agent_headers, agent.user_id), 403, "own_case")
    assert get_user(agent.user_id).status == "active"


def test_an_unknown_account_is_404_before_anything_else(client, seeded):
    _, agent_headers = an_agent()
    for path in ("/admin/users/usr_nobody/freeze", "/admin/users/usr_nobody/unfreeze", "/admin/users/x/freeze"):
        assert_error(post_json(client, path, {"reason": "x"}, agent_headers), 404, "not_found")


def test_a_closed_account_is_409_account_closed(client, seeded):
    user = make_user(status="closed")
    _, agent_headers = an_agent()
    assert_error(freeze_as(client, agent_headers, user.user_id), 409, "account_closed")
    assert_error(unfreeze_as(client, agent_headers, user.user_id), 409, "not_frozen")


def test_customers_are_forbidden_and_agents_need_totp(client, seeded):
    _user, headers = customer(client)
    target = make_user()
    assert_error(freeze_as(client, headers, target.user_id), 403, "forbidden")
    assert_error(unfreeze_as(client, headers, target.user_id), 403, "forbidden")
    no_totp = make_user(role="agent", agent_totp=False)
    assert_error(freeze_as(client, signed_in(no_totp), target.user_id), 403, "mfa_required")
    password_only = make_user(role="agent")
    assert_error(freeze_as(client, signed_in(password_only, second_factor="sms"), target.user_id), 403, "mfa_required")
    assert get_user(target.user_id).status == "active"
    assert_error(client.post(f"/admin/users/{target.user_id}/freeze"), 401, "unauthorized")


def test_the_reason_is_validated(client, seeded):
    user = make_user()
    _, agent_headers = an_agent()
    path = f"/admin/users/{user.user_id}/freeze"
    for payload, field in (
        ({}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": "ok", "note": "x"}, "note"),
        ({"reason": 5}, "reason"),
    ):
        assert_error(post_json(client, path, payload, agent_headers), 400, "validation_error", field=field)
    assert freeze_as(client, agent_headers, user.user_id, "x" * 500).status_code == 200
    assert get_user(user.user_id).freeze_reason == "x" * 500


def test_only_the_freeze_is_undone_records_stay(client, seeded):
    """Unfreezing leaves the security ticket open: the user still reviews the debits."""
    user, _ = customer(client)
    _, agent_headers = an_agent()
    ticket_id = body_of(freeze_as(client, agent_headers, user.user_id))["ticket_id"]
    assert unfreeze_as(client, agent_headers, user.user_id).status_code == 200
    assert Ticket.get(ticket_id).status == "new"
    assert TransactionRecord.count() >= 1
    assert User.get(user.user_id).status == "active"
