"""What the fault workload (test_fault_workload.py) found, pinned down one interleaving at a time:

- a notice whose send went out while DynamoDB refused the write recording it was left `pending`, and
  `notify_dispatch` sent it a second time;
- a replayed payment whose idempotency record could not be read or written answered the fresh
  refusal (`409 already_paid`) instead of the stored `201`: an unstored refusal now answers 503.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from botocore.exceptions import ClientError
from pynamodb.exceptions import GetError, UpdateError

from chalicelib.adapters import clock
from chalicelib.services.common import idempotency, notice_outbox
from tests.helpers.auth import register_user
from tests.helpers.http import assert_error, auth, body_of, post_json
from tests.helpers.outbox import notices
from tests.helpers.users import OTHER_PASSWORD, PASSWORD
from tests.helpers.wallet import CAFE
from tests.support.test_notice_outbox import run_dispatch
from tests.wallet.test_transfers import funded

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=clock.UTC)


def _throttled(error_class, operation):
    cause = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)
    return error_class("DynamoDB is busy", cause)


def test_a_notice_sent_while_its_record_is_throttled_is_recorded_sent_and_never_sent_again(client, seeded, monkeypatch):
    clock.set_test_clock(T0)
    account = register_user(client)
    real_settle = notice_outbox._settle
    refused = []

    def busy_twice(notice, attempt, actions, **kwargs):
        if len(refused) < 2 and any("sent" in str(action) for action in actions):
            refused.append(notice.notice_id)
            raise _throttled(UpdateError, "UpdateItem")
        return real_settle(notice, attempt, actions, **kwargs)

    monkeypatch.setattr(notice_outbox, "_settle", busy_twice)
    change = {"current_password": PASSWORD, "new_password": OTHER_PASSWORD}
    assert post_json(client, "/me/password", change, auth(account["access_token"])).status_code == 204
    assert refused  # the write recording the send was refused, then went through
    sent_by_request = len(notices(account["email"])) + len(notices(account["phone"]))
    assert sent_by_request >= 2

    assert run_dispatch(client, T0 + timedelta(hours=1))["sent"] == 0  # nothing left pending
    assert len(notices(account["email"])) + len(notices(account["phone"])) == sent_by_request


def test_a_replayed_payment_whose_key_cannot_be_read_answers_503_never_the_fresh_refusal(client, seeded, monkeypatch):
    _, headers = funded(client, amount=100_000)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    payment = {"merchant_id": CAFE, "amount": 1_000, "currency": "CNY", "order_reference": uuid.uuid4().hex}
    first = post_json(client, "/payments", payment, {**headers, **key})
    assert first.status_code == 201, first.body

    real_lookup = idempotency.stored_answer
    monkeypatch.setattr(
        idempotency, "stored_answer", lambda hold, now: (_ for _ in ()).throw(_throttled(GetError, "GetItem"))
    )
    busy = post_json(client, "/payments", payment, {**headers, **key})
    assert_error(busy, 503, "try_again")  # not `409 already_paid`: the payment went through
    assert int(busy.headers["Retry-After"]) >= 1

    monkeypatch.setattr(idempotency, "stored_answer", real_lookup)
    replay = post_json(client, "/payments", payment, {**headers, **key})
    assert (replay.status_code, body_of(replay)) == (201, body_of(first))
    assert replay.headers["Idempotent-Replayed"] == "true"
