"""One-time codes while SMS or email cannot be sent (contract v1.2, section 1, Faults and Rate limits):
`503 try_again` with Retry-After, the code not counted against the SMS limits, and the routes that
answer every caller alike (forgot, register/start, freeze) answer the same 503 for an unknown login."""

from __future__ import annotations

import pytest
from botocore.awsrequest import AWSResponse

from chalicelib.adapters import aws, clock, outbox
from chalicelib.services.identity import notices
from localstage.faults import FAULTS
from tests.helpers.auth import start_registration
from tests.helpers.clock import move_clock
from tests.helpers.codes import codes_sent, last_code
from tests.helpers.faults import clear_faults, set_faults
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.mfa import forgot
from tests.helpers.outbox import messages
from tests.helpers.users import make_user, new_email, new_phone, signed_in
from tests.wallet.test_transfers import funded, send, verified


def _busy(response):
    assert_error(response, 503, "try_again")
    assert int(response.headers["Retry-After"]) >= 1


def test_a_registration_code_sns_could_not_send_is_503_and_not_counted_against_the_ten_an_hour(client, stage):
    clock.set_test_clock(clock.now())
    phone = new_phone()
    set_faults(client, sns="down")
    for _ in range(3):
        _busy(start_registration(client, phone))
    assert messages(phone) == [] and FAULTS.counts()["down"] >= 3
    clear_faults(client)

    for n in range(10):  # the whole hour's ten are still there, one a minute
        assert start_registration(client, phone).status_code == 202
        assert len(codes_sent(phone)) == n + 1
        move_clock(61)
    assert start_registration(client, phone).status_code == 202
    assert len(codes_sent(phone)) == 10  # the 11th in the hour: quietly nothing


def test_the_code_sent_after_the_outage_registers(client, stage):
    phone = new_phone()
    set_faults(client, sns="down")
    _busy(start_registration(client, phone))
    clear_faults(client)
    assert start_registration(client, phone).status_code == 202  # no 60-second wait was left behind
    payload = {
        "phone": phone,
        "code": last_code(phone),
        "email": new_email(),
        "password": "Plum-Orbit-Canvas-93!",
        "display_name": "Test",
    }
    assert post_json(client, "/auth/register", payload).status_code == 201


def test_register_start_is_503_alike_for_a_registered_number_while_sms_is_down(client, stage):
    taken = make_user()
    set_faults(client, sns="down")
    _busy(start_registration(client, taken.phone))
    _busy(start_registration(client, new_phone()))
    clear_faults(client)
    assert start_registration(client, taken.phone).status_code == 202
    assert len(messages(taken.phone)) == 1  # the "already registered" notice, once: the 503 one never went


@pytest.mark.parametrize("down, kind", [("ses", "email"), ("sns", "phone")])
def test_forgot_password_answers_503_for_known_and_unknown_logins_alike_while_its_channel_is_down(
    client, user, down, kind
):
    known = user[kind]
    outbox.clear()
    unknown = new_email() if kind == "email" else new_phone()
    set_faults(client, **{down: "down"})
    answers = [forgot(client, known), forgot(client, unknown)]
    for answer in answers:
        _busy(answer)
    assert [body_of(a)["error"]["code"] for a in answers] == ["try_again", "try_again"]
    assert answers[0].headers["Retry-After"] == answers[1].headers["Retry-After"]
    assert messages(known) == []
    clear_faults(client)
    assert forgot(client, known).status_code == 202 and len(codes_sent(known)) == 1
    assert forgot(client, unknown).status_code == 202


def test_forgot_by_phone_still_works_while_only_email_is_down(client, user):
    outbox.clear()
    set_faults(client, ses="down")
    assert forgot(client, user["phone"]).status_code == 202
    assert len(codes_sent(user["phone"])) == 1


def test_a_reset_code_by_sms_that_failed_is_not_counted(client, user):
    clock.set_test_clock(clock.now())
    phone = user["phone"]
    move_clock(61)  # past the sign-up code's minute
    outbox.clear()
    set_faults(client, sns="down")
    for _ in range(5):
        _busy(forgot(client, phone))
    clear_faults(client)
    for _ in range(9):  # the sign-up code was one of the hour's ten
        assert forgot(client, phone).status_code == 202
        move_clock(61)
    assert len(codes_sent(phone)) == 9
    assert forgot(client, phone).status_code == 202 and len(codes_sent(phone)) == 9  # the cap holds


@pytest.mark.parametrize("down", ["ses", "sns"])
def test_a_signed_out_freeze_answers_503_alike_for_known_and_unknown_logins_while_a_channel_is_down(client, user, down):
    outbox.clear()
    set_faults(client, **{down: "down"})
    for login in (user["phone"], user["email"], new_phone(), new_email()):
        _busy(post_json(client, "/auth/freeze", {"login": login}))
    assert messages(user["phone"]) == [] and messages(user["email"]) == []
    clear_faults(client)
    assert post_json(client, "/auth/freeze", {"login": user["phone"]}).status_code == 202
    assert len(codes_sent(user["phone"])) == 1 and len(codes_sent(user["email"])) == 1


def test_a_transfer_whose_code_could_not_be_sent_is_503_and_its_key_then_starts_afresh(client, seeded):
    _, headers = funded(client, amount=500_000)
    payee, _ = verified(name="李四")
    set_faults(client, sns="down")
    _busy(send(client, headers, payee, 150_000, key="big"))  # ≥ 1,000 CNY: a code is due
    clear_faults(client)
    waiting = send(client, headers, payee, 150_000, key="big")
    assert waiting.status_code == 202 and "Idempotent-Replayed" not in waiting.headers, waiting.body
    transfer = body_of(waiting)
    assert transfer["status"] == "requires_confirmation"
    phone = body_of(client.get("/me", headers=headers))["phone"]
    assert len(codes_sent(phone)) == 1  # the code of the transfer that waits; the failed one sent none
    replay = send(client, headers, payee, 150_000, key="big")
    assert replay.headers.get("Idempotent-Replayed") == "true" and body_of(replay) == transfer
    path = f"/transfers/{transfer['transfer_id']}/confirm"
    confirmed = post_json(client, path, {"code": last_code(phone)}, {**headers, "Idempotency-Key": "confirm"})
    assert confirmed.status_code == 200 and body_of(confirmed)["status"] == "completed", confirmed.body


def test_a_contact_code_ses_could_not_send_is_503_and_the_email_cap_is_untouched(client, stage):
    user = make_user()
    headers = signed_in(user)
    set_faults(client, ses="down")
    new_address = new_email()
    payload = {"channel": "email", "value": new_address, "password": "Plum-Orbit-Canvas-93!"}
    for _ in range(12):
        _busy(post_json(client, "/me/contacts/change", payload, headers))
    clear_faults(client)
    assert post_json(client, "/me/contacts/change", payload, headers).status_code == 202
    assert len(codes_sent(new_address)) == 1


@pytest.mark.parametrize(
    "service, operation, refusal, kind",
    [("ses", "GetSendQuota", "AccessDenied", "email"), ("sns", "GetSMSAttributes", "AuthorizationError", "phone")],
)
def test_a_channel_probe_refused_by_iam_counts_as_up_and_is_warned_about_once(
    client, user, monkeypatch, service, operation, refusal, kind
):
    """A role without the probe's grant (infra/resources.yaml `CodeChannelProbe`): the requests go on,
    and the process says once, not per request, that an outage of that channel would go unseen."""
    outbox.clear()
    warned: list[str] = []
    monkeypatch.setattr(notices, "_probes_denied", set())
    monkeypatch.setattr(notices.logger, "warning", lambda message, *args, **kwargs: warned.append(message))
    event = f"before-call.{service}.{operation}"

    def refused(**_):
        body = {"Error": {"Code": refusal, "Message": "not authorized"}, "ResponseMetadata": {"HTTPStatusCode": 403}}
        return AWSResponse(f"https://{service}.example", 403, {}, None), body

    events = aws.client(service).meta.events
    events.register(event, refused)
    try:
        logins = [user[kind], *(new_email() if kind == "email" else new_phone() for _ in range(2))]
        answers = [forgot(client, login) for login in logins]
    finally:
        events.unregister(event, refused)
    assert [answer.status_code for answer in answers] == [202, 202, 202]
    assert len(codes_sent(user[kind])) == 1
    assert len([message for message in warned if "probe refused" in message]) == 1
