"""reconcile: entries before the cutoff sum to every balance and to zero per currency; incremental,
batched, resumable, alerting; GET /admin/reconciliation/latest for agents."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from chalicelib.adapters import clock
from chalicelib.adapters.config import get_settings
from chalicelib.jobs import reconcile
from chalicelib.services.wallet import ledger
from chalicelib.services.wallet.ledger import Leg, Posting
from chalicelib.store.reconciliation import LEDGER_TOTAL, RUN_SUBJECT, ReconBalance, ReconRun
from chalicelib.store.users import User, email_claim, find_claim_owner
from chalicelib.store.wallet import Balance, LedgerEntry
from localstage.seed import AGENT_EMAIL
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.paths import PROJECT_DIR
from tests.helpers.users import make_user, signed_in
from tests.helpers.wallet import add_card, top_up

REGION = "ap-southeast-1"
T0 = datetime.fromisoformat("2026-11-20T10:00:00+08:00")


@pytest.fixture
def agent(seeded):
    user = User.get(find_claim_owner(email_claim(AGENT_EMAIL)))
    return signed_in(user, device_id="console")


def at(moment: datetime) -> None:
    clock.set_test_clock(moment)


def run_at(client, moment: datetime) -> dict:
    response = post_json(client, "/_local/jobs/reconcile", {"now": moment.isoformat()})
    assert response.status_code == 200, response.body
    return body_of(response)["result"]


def latest(client, headers) -> dict:
    response = client.get("/admin/reconciliation/latest", headers=headers)
    assert response.status_code == 200, response.body
    return body_of(response)


def alerts() -> list[str]:
    topic = sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[get_settings().alert_topic_arn]
    return [notification[1] for notification in topic.sent_notifications]


def recon(account: str, currency: str = "CNY") -> ReconBalance:
    return ReconBalance.get(f"recon#{account}", currency, consistent_read=True)


def funded(client, *amounts, currency="CNY"):
    user = make_user()
    headers = signed_in(user)
    card = add_card(client, headers)
    for amount in amounts:
        assert top_up(client, headers, card, amount, currency).status_code == 201
    return user, headers, card


def pay_merchant(user, merchant, amount, currency="CNY"):
    posting = Posting(
        type="payment",
        legs=[Leg("user_wallet", user.user_id, currency, -amount), Leg("merchant", merchant, currency, amount)],
        parties=[user.user_id],
    )
    return ledger.post(posting, clock.now())


def transfer(payer, payee, amount, currency="CNY"):
    posting = Posting(
        type="transfer",
        legs=[
            Leg("user_wallet", payer.user_id, currency, -amount),
            Leg("user_wallet", payee.user_id, currency, amount),
        ],
        parties=[payer.user_id, payee.user_id],
    )
    return ledger.post(posting, clock.now())


def write_entry(account_id, account_type, stamp, transaction_id, delta, *, currency="CNY", version=None, after=None):
    """An entry written straight to the table, as a faulty writer (or an operator) could."""
    entry_id = f"ent_{uuid.uuid4().hex}"
    shard = ledger.shard_of(entry_id)
    if account_type != "user_wallet":
        account_id = f"{account_id}#{shard}"
    LedgerEntry(
        account_id,
        f"{stamp}#{entry_id}",
        entry_id=entry_id,
        transaction_id=transaction_id,
        posting_bucket=f"{stamp[:10]}#{shard}",
        account_type=account_type,
        type="adjustment",
        direction="credit" if delta > 0 else "debit",
        amount=abs(delta),
        currency=currency,
        posted_at=stamp,
        balance_after=after,
        version=version,
    ).save()


def write_wallet_movement(user_id, moment: datetime, version, delta, after):
    """A balanced adjustment (wallet and write-off account) posted at `moment` with a given version."""
    stamp = clock.stamp(moment)
    transaction_id = f"txn_{uuid.uuid4().hex}"
    write_entry(f"user#{user_id}", "user_wallet", stamp, transaction_id, delta, version=version, after=after)
    write_entry("system#dispute_writeoff", "system", stamp, transaction_id, -delta)


# --- the report route -----------------------------------------------------------------------------


def test_the_report_is_404_before_the_first_run_and_for_agents_only(client, agent):
    assert_error(client.get("/admin/reconciliation/latest", headers=agent), 404, "not_found")
    user_headers = signed_in(make_user())
    assert_error(client.get("/admin/reconciliation/latest", headers=user_headers), 403, "forbidden")
    assert_error(client.get("/admin/reconciliation/latest"), 401, "unauthorized")
    run_at(client, T0)
    assert_error(client.get("/admin/reconciliation/latest", headers=user_headers), 403, "forbidden")
    assert latest(client, agent)["ok"] is True


# --- a clean ledger -------------------------------------------------------------------------------


def test_a_clean_ledger_reconciles_per_account_and_currency(client, agent):
    at(T0)
    alice, _, _ = funded(client, 10_000, 2_500)
    bob, _, _ = funded(client, 300)
    _, _, _ = funded(client, 70, currency="JPY")
    transfer(alice, bob, 1_000)
    pay_merchant(bob, "mer_morning_cafe", 800)
    before = len(alerts())

    result = run_at(client, T0 + timedelta(minutes=10))
    assert result["state"] == "done" and result["ok"] is True
    assert result["entries_checked"] == 2 * 4 + 2 + 2  # 4 top-ups, a transfer, a payment

    report = latest(client, agent)
    assert report["ok"] is True and report["mismatches"] == [] and report["mismatch_count"] == 0
    assert report["cutoff"] == "2026-11-20T10:05:00+08:00" and report["run_at"] == "2026-11-20T10:10:00+08:00"
    assert report["started_from"] is None and report["entries_checked"] == 12
    # accounts with CNY entries: alice, bob, bank clearing, the merchant; JPY: one wallet, bank clearing
    assert report["currencies"]["CNY"] == {"sum": 0, "accounts_checked": 4}
    assert report["currencies"]["JPY"] == {"sum": 0, "accounts_checked": 2}
    assert report["currencies"]["USD"] == {"sum": 0, "accounts_checked": 0}
    assert len(alerts()) == before  # nothing to tell anyone

    # the derived balances: shards merged; system accounts may be negative
    assert recon(f"user#{alice.user_id}").total == 11_500 and recon(f"user#{alice.user_id}").version == 3
    assert recon(f"user#{bob.user_id}").total == 500 and recon(f"user#{bob.user_id}").version == 3
    assert recon("merchant#mer_morning_cafe").total == 800
    assert recon("system#bank_clearing").total == -12_800 and recon("system#bank_clearing", "JPY").total == -70
    assert recon("ledger").total == 0 and recon("ledger").entries == 10


def test_entries_after_the_cutoff_wait_for_the_next_run(client, agent):
    at(T0)
    alice, headers, card = funded(client, 1_000)
    at(T0 + timedelta(minutes=8))
    assert top_up(client, headers, card, 50).status_code == 201  # after the cutoff (10:05), before the run
    first = run_at(client, T0 + timedelta(minutes=10))
    assert first["ok"] is True and first["entries_checked"] == 2
    # the balance moved on past the cutoff: compared by version, nothing is wrong
    assert recon(f"user#{alice.user_id}").total == 1_000
    assert Balance.get(f"user#{alice.user_id}", "CNY").version == 2
    second = run_at(client, T0 + timedelta(minutes=30))
    assert second["ok"] is True and second["entries_checked"] == 2
    report = latest(client, agent)
    assert report["started_from"] == "2026-11-20T10:05:00+08:00" and report["cutoff"] == "2026-11-20T10:25:00+08:00"
    assert report["currencies"]["CNY"] == {"sum": 0, "accounts_checked": 2}
    assert recon(f"user#{alice.user_id}").total == 1_050


def test_a_top_up_whose_answer_was_lost_and_settled_by_the_job_reconciles_once(client, agent):
    from chalicelib.adapters.bank_gateway import TIMEOUT_CARD
    from chalicelib.jobs.registry import run_job

    at(T0)
    alice = make_user()
    headers = signed_in(alice)
    card = add_card(client, headers, number=TIMEOUT_CARD)
    assert_error(top_up(client, headers, card, 3_000, key="lost"), 503, "try_again")
    at(T0 + timedelta(minutes=3))
    assert run_job("topup_settle", clock.now())["credited"] == 1
    assert run_job("topup_settle", clock.now())["credited"] == 0  # a second run credits nothing
    result = run_at(client, T0 + timedelta(minutes=10))
    assert result["ok"] is True and result["entries_checked"] == 2
    assert latest(client, agent)["currencies"]["CNY"] == {"sum": 0, "accounts_checked": 2}
    assert recon(f"user#{alice.user_id}").total == 3_000 and recon(f"user#{alice.user_id}").version == 1
    assert recon("system#bank_clearing").total == -3_000


# --- mismatches -----------------------------------------------------------------------------------


def test_a_corrupted_balance_is_found_and_alerted(client, agent):
    at(T0)
    alice, _, _ = funded(client, 1_000)
    funded(client, 20)
    Balance(f"user#{alice.user_id}", "CNY", available=99_999, version=1).save()  # same version, wrong money
    before = len(alerts())

    result = run_at(client, T0 + timedelta(minutes=10))
    assert result["state"] == "done" and result["ok"] is False and result["mismatch_count"] == 1
    report = latest(client, agent)
    assert report["ok"] is False
    assert report["mismatches"] == [
        {
            "kind": "balance_mismatch",
            "account": f"user#{alice.user_id}",
            "currency": "CNY",
            "expected": 1_000,
            "found": 99_999,
            "detail": {"version": 1},
        }
    ]
    assert report["currencies"]["CNY"]["sum"] == 0  # the ledger itself balances
    sent = alerts()[before:]
    assert len(sent) == 1 and "balance_mismatch" in sent[0] and alice.user_id in sent[0]

    # running again finds nothing new and tells nobody twice
    assert run_at(client, T0 + timedelta(minutes=10))["mismatch_count"] == 0
    assert len(alerts()) == before + 1


def test_a_balance_corrupted_between_runs_is_caught_by_the_next_movement(client, agent):
    at(T0)
    alice, headers, card = funded(client, 1_000)
    assert run_at(client, T0 + timedelta(minutes=10))["ok"] is True
    Balance(f"user#{alice.user_id}", "CNY", available=5_000, version=1).save()
    at(T0 + timedelta(hours=1))
    headers = signed_in(alice)
    assert top_up(client, headers, card, 100).status_code == 201  # balance_after 5,100: from the corrupted item
    result = run_at(client, T0 + timedelta(hours=2))
    assert result["ok"] is False
    (found,) = latest(client, agent)["mismatches"]
    assert (found["kind"], found["expected"], found["found"]) == ("balance_after_mismatch", 1_100, 5_100)
    # one fault is reported once: the next run carries on from the ledger's own chain
    at(T0 + timedelta(hours=3))
    assert top_up(client, signed_in(alice), card, 1).status_code == 201
    assert run_at(client, T0 + timedelta(hours=4))["ok"] is True


@pytest.mark.parametrize(
    ("available", "version", "kind"),
    [(-5, 1, "negative_balance"), (1_000, 0, "balance_behind_ledger")],
)
def test_other_balance_faults(client, agent, available, version, kind):
    at(T0)
    alice, _, _ = funded(client, 1_000)
    Balance(f"user#{alice.user_id}", "CNY", available=available, version=version).save()
    run_at(client, T0 + timedelta(minutes=10))
    kinds = [m["kind"] for m in latest(client, agent)["mismatches"]]
    assert kind in kinds


def test_a_wallet_without_its_balance_item_is_reported(client, agent):
    at(T0)
    alice, _, _ = funded(client, 1_000)
    Balance(f"user#{alice.user_id}", "CNY").delete()
    run_at(client, T0 + timedelta(minutes=10))
    assert [m["kind"] for m in latest(client, agent)["mismatches"]] == ["balance_missing"]


def test_an_unbalanced_transaction_breaks_the_currency_sum(client, agent):
    at(T0)
    funded(client, 1_000)
    stray = f"txn_{uuid.uuid4().hex}"
    write_entry("system#fx", "system", clock.stamp(T0 + timedelta(seconds=5)), stray, 250, currency="CNY")
    before = len(alerts())
    result = run_at(client, T0 + timedelta(minutes=10))
    assert result["ok"] is False
    report = latest(client, agent)
    kinds = {(m["kind"], m.get("transaction_id"), m.get("found")) for m in report["mismatches"]}
    assert ("transaction_unbalanced", stray, 250) in kinds and ("currency_unbalanced", None, 250) in kinds
    assert report["currencies"]["CNY"]["sum"] == 250
    assert len(alerts()) == before + 1 and "currency_unbalanced" in alerts()[-1]


def test_a_merchant_balance_never_goes_below_zero(client, agent):
    at(T0)
    stamp = clock.stamp(T0)
    refund = f"txn_{uuid.uuid4().hex}"
    write_entry("merchant#mer_morning_cafe", "merchant", stamp, refund, -300)
    write_entry("system#dispute_writeoff", "system", stamp, refund, 300)
    run_at(client, T0 + timedelta(minutes=10))
    (found,) = latest(client, agent)["mismatches"]
    assert (found["kind"], found["account"], found["found"]) == ("negative_balance", "merchant#mer_morning_cafe", -300)


# --- versions and the cutoff --------------------------------------------------------------------------


def test_a_version_posted_just_after_the_cutoff_is_waited_for(client, agent):
    """A request that lost a race posts its start time with the next version: near a cutoff the
    versions and the stamps may disagree. That is not a fault."""
    user = make_user()
    run_moment = datetime.fromisoformat("2026-11-20T12:00:00+08:00")
    cutoff = run_moment - timedelta(minutes=5)
    write_wallet_movement(user.user_id, cutoff - timedelta(minutes=30), 1, 100, 100)
    write_wallet_movement(user.user_id, cutoff - timedelta(seconds=10), 3, 50, 170)  # before v2
    write_wallet_movement(user.user_id, cutoff + timedelta(seconds=10), 2, 20, 120)
    Balance(f"user#{user.user_id}", "CNY", available=170, version=3).save()

    assert run_at(client, run_moment)["ok"] is True
    held = recon(f"user#{user.user_id}")
    assert held.version == 1 and held.total == 100 and [h["v"] for h in held.held] == [3]
    assert run_at(client, run_moment + timedelta(hours=1))["ok"] is True
    done = recon(f"user#{user.user_id}")
    assert done.version == 3 and done.total == 170 and done.held is None
    assert latest(client, agent)["ok"] is True


def test_a_version_that_never_comes_is_a_gap(client, agent):
    user = make_user()
    run_moment = datetime.fromisoformat("2026-11-20T12:00:00+08:00")
    cutoff = run_moment - timedelta(minutes=5)
    write_wallet_movement(user.user_id, cutoff - timedelta(minutes=30), 1, 100, 100)
    write_wallet_movement(user.user_id, cutoff - timedelta(seconds=10), 3, 50, 170)
    Balance(f"user#{user.user_id}", "CNY", available=170, version=3).save()
    assert run_at(client, run_moment)["ok"] is True  # may still come
    assert run_at(client, run_moment + timedelta(hours=1))["ok"] is False
    (gap,) = latest(client, agent)["mismatches"]
    assert (gap["kind"], gap["expected"], gap["found"]) == ("version_gap", 2, 3)
    assert recon(f"user#{user.user_id}").version == 3


# --- incremental, idempotent, batched ---------------------------------------------------------------------


def test_a_rerun_reads_only_new_entries_and_counts_nothing_twice(client, agent):
    at(T0)
    alice, _, card = funded(client, 1_000, 200)
    first = run_at(client, T0 + timedelta(minutes=10))
    assert first["entries_checked"] == 4
    state = {(i.account_id, i.currency): (i.total, i.entries) for i in _all_recon_items(alice)}

    again = run_at(client, T0 + timedelta(minutes=10))  # the same moment: an empty range
    assert again["ok"] is True and again["entries_checked"] == 0
    assert {(i.account_id, i.currency): (i.total, i.entries) for i in _all_recon_items(alice)} == state
    report = latest(client, agent)
    assert report["currencies"]["CNY"] == {"sum": 0, "accounts_checked": 0}

    at(T0 + timedelta(hours=1))
    assert top_up(client, signed_in(alice), card, 5).status_code == 201
    third = run_at(client, T0 + timedelta(hours=2))
    assert third["ok"] is True and third["entries_checked"] == 2
    assert recon(f"user#{alice.user_id}").total == 1_205 and recon(LEDGER_TOTAL.removeprefix("recon#")).entries == 6
    runs = list(ReconRun.query(RUN_SUBJECT))
    assert [r.state for r in runs] == ["done", "done", "done"]
    assert runs[1].started_from == runs[0].cutoff and runs[2].started_from == runs[1].cutoff


def _all_recon_items(user):
    keys = [(f"recon#user#{user.user_id}", "CNY"), ("recon#system#bank_clearing", "CNY"), (LEDGER_TOTAL, "CNY")]
    return list(ReconBalance.batch_get(keys))


def test_a_big_backlog_is_checked_over_several_invocations(client, agent, monkeypatch):
    at(T0)
    users = [funded(client, 100 + n, 7, 3)[0] for n in range(3)]
    transfer(users[0], users[1], 50)  # 20 entries: more than the 16 shards, so some shard has two
    monkeypatch.setattr(reconcile, "PAGE", 1)
    monkeypatch.setattr(reconcile, "MAX_ENTRIES", 2)
    moment = T0 + timedelta(minutes=10)

    first = run_at(client, moment)
    assert first["state"] == "running" and first["entries_checked"] < 20
    assert_error(client.get("/admin/reconciliation/latest", headers=agent), 404, "not_found")  # not finished
    invocations = 1
    while True:
        invocations += 1
        later = run_at(client, moment + timedelta(minutes=invocations))
        assert later["run_id"] == first["run_id"]  # the same run, resumed
        if later["state"] == "done":
            break
        assert invocations < 40

    report = latest(client, agent)
    assert report["ok"] is True and report["entries_checked"] == 20
    assert report["cutoff"] == "2026-11-20T10:05:00+08:00"  # the run keeps the cutoff it started with
    assert report["currencies"]["CNY"] == {"sum": 0, "accounts_checked": 4}
    assert recon(f"user#{users[0].user_id}").total == 100 + 7 + 3 - 50
    assert recon(f"user#{users[1].user_id}").total == 101 + 7 + 3 + 50
    assert recon(f"user#{users[1].user_id}").version == 4
    assert recon("system#bank_clearing").total == -(100 + 101 + 102 + 3 * 10)
    assert recon("ledger").entries == 20 and recon("ledger").total == 0


def test_a_run_cut_off_after_its_writes_resumes_without_counting_twice(client, agent, monkeypatch):
    at(T0)
    alice, _, _ = funded(client, 1_000, 200)
    original = reconcile._write_items

    def write_then_die(items):
        original(items)
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(reconcile, "_write_items", write_then_die)
    response = post_json(client, "/_local/jobs/reconcile", {"now": (T0 + timedelta(minutes=10)).isoformat()})
    assert response.status_code == 500
    monkeypatch.setattr(reconcile, "_write_items", original)
    assert recon(f"user#{alice.user_id}").total == 1_200  # written, but the position was not saved

    resumed = run_at(client, T0 + timedelta(minutes=11))
    assert resumed["state"] == "done" and resumed["ok"] is True
    assert recon(f"user#{alice.user_id}").total == 1_200 and recon("system#bank_clearing").total == -1_200
    assert recon("ledger").entries == 4
    report = latest(client, agent)
    assert report["cutoff"] == "2026-11-20T10:05:00+08:00" and report["currencies"]["CNY"]["sum"] == 0


def test_an_invocation_leaves_a_run_another_one_holds(client, agent):
    at(T0)
    funded(client, 1_000)
    held = reconcile._claim_run(T0 + timedelta(minutes=10), "someone-else")
    assert held is not None and held.state == "running"
    assert run_at(client, T0 + timedelta(minutes=10))["state"] == "busy"
    held.update(actions=[ReconRun.lease_until.set(clock.stamp(clock.real_now() - timedelta(seconds=1)))])
    resumed = run_at(client, T0 + timedelta(minutes=12))
    assert resumed["state"] == "done" and resumed["run_id"] == held.run_id
    assert latest(client, agent)["cutoff"] == "2026-11-20T10:05:00+08:00"


def test_the_report_matches_the_openapi_document(client, agent):
    import jsonschema

    at(T0)
    alice, _, _ = funded(client, 1_000)
    Balance(f"user#{alice.user_id}", "CNY", available=1, version=1).save()
    run_at(client, T0 + timedelta(minutes=10))
    document = body_of(client.get("/openapi.json"))
    response = client.get("/admin/reconciliation/latest", headers=agent)
    spec = document["paths"]["/admin/reconciliation/latest"]["get"]["responses"]["200"]
    schema = spec["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": document["components"]}).validate(body_of(response))


def test_a_run_reads_the_ledger_only_through_the_posting_bucket_index(client, agent):
    from chalicelib.store.base import shared_connection

    at(T0)
    alice, _, _ = funded(client, 1_000)
    bob, _, _ = funded(client, 10)
    transfer(alice, bob, 5)
    calls = []
    events = shared_connection().client.meta.events

    def record(params, model, **_):
        calls.append((model.name, params))

    events.register("provide-client-params.dynamodb", record)
    try:
        assert run_at(client, T0 + timedelta(minutes=10))["ok"] is True
    finally:
        events.unregister("provide-client-params.dynamodb", record)
    assert not [name for name, _ in calls if name == "Scan"]
    ledger_reads = [params for name, params in calls if params.get("TableName", "").endswith("-ledger")]
    assert ledger_reads and all(params.get("IndexName") == "by_posting_bucket" for params in ledger_reads)
    # the first run reads its window day by day, shard by shard: 8 UTC days × 16 shards
    assert len(ledger_reads) == (reconcile.FIRST_RUN_DAYS + 1) * ledger.LEDGER_SHARDS


def test_the_scheduled_function_runs_the_job(stage):
    from chalice.test import Client

    import app as app_module

    with Client(app_module.app, stage_name="local", project_dir=str(PROJECT_DIR)) as test_client:
        event = test_client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
        response = test_client.lambda_.invoke("reconcile", event)
    assert response.payload["state"] == "done" and response.payload["ok"] is True
