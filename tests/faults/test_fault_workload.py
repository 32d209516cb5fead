"""The fault workload of issue 16 (contract v1.2, section 1 "Faults"): several users at once send
transfers, payments, order payments, top-ups, disputes and tickets under 30 % DynamoDB throttling
and 10 % conflicts; SES, SNS and the bank are down (the bank timing out) in phase 1, back in phase 2,
and every fault clears in phase 3. Each request is repeated with its key and body while it answers
503; some are repeated on purpose. Afterwards: nothing answered 500, money is conserved, no balance
is negative, each key moved money once, each top-up was charged once, each order paid once, and once
`notify_dispatch` has run past the backoff every notice due is in the outbox exactly once.

Seeded: SEED picks the amounts and seeds the faults (`OKPAY_FAULT_SEED=<n>` replays another run).
The threads' interleaving still varies from run to run, so a replay meets the same plan and the
same fault rates, not necessarily the same draws on the same calls.
"""

from __future__ import annotations

import os
import random
import re
import uuid
from collections import Counter
from datetime import datetime, timedelta

from chalicelib.adapters import clock
from chalicelib.adapters.bank_gateway import APPROVED, SimulatedCharge
from chalicelib.services.common import idempotency
from chalicelib.services.common.money import format_amount
from chalicelib.store.notices import Notice
from chalicelib.store.wallet import LedgerEntry, TopUpAttempt
from localstage.faults import FAULTS
from tests.helpers.fault_workload import Outcome, Workload, outbox_of, retry_job
from tests.helpers.faults import clear_faults, set_faults
from tests.helpers.http import body_of, put_json
from tests.helpers.merchants import DEMO_KEY, get_order, open_order
from tests.helpers.parallel import run_together
from tests.helpers.users import PASSWORD
from tests.helpers.wallet import CAFE, add_card, balances, top_up
from tests.wallet.test_invariants import check_invariants
from tests.wallet.test_transfers import verified

SEED = int(os.environ.get("OKPAY_FAULT_SEED", "16"))
SPENDERS = 4  # payments (one above the large-debit threshold), an order, a dispute, a ticket, a top-up a phase
SENDERS = 3  # small transfers and a ticket a phase, and one transfer sent twice at once
PAYEES = 2
SPENDER_FUNDS = 2_000_000  # 20,000 CNY
SENDER_FUNDS = 200_000  # 2,000 CNY
DYNAMODB = {"throttle": 0.3, "conflict": 0.1}
T0 = datetime(2026, 11, 24, 2, 0, tzinfo=clock.UTC)  # a Tuesday, 10:00 in Beijing
LARGE = 5_000_00  # CNY minor units: above it a debit sends a notice (money_out.NOTICE_ABOVE_CNY)
AUTH = {"authorization": {"password": PASSWORD}}
TICKET_ACK = re.compile(r"request (tkt_\w+) received")
DISPUTE_FILED = re.compile(r"appeal (dsp_\w+) received")


def plan(phase: int, *who: object) -> random.Random:
    """The amounts of one script of the workload, drawn from SEED whatever the threads' interleaving."""
    return random.Random(f"{SEED}/{phase}/{'/'.join(map(str, who))}")  # a replayable test plan


def set_clock(client, at: datetime) -> None:
    response = put_json(client, "/_local/clock", {"now": clock.isoformat(at)})
    assert response.status_code == 200, response.body


class Run:
    """The workload's users, their orders and cards, what they sent and the faults it met."""

    def __init__(self, client) -> None:
        self.client = client
        self.work = Workload(client)
        self.faults: Counter[str] = Counter()
        self.spenders = [verified() for _ in range(SPENDERS)]
        self.senders = [verified() for _ in range(SENDERS)]
        self.payees = [verified(name="李四") for _ in range(PAYEES)]
        self.cards: dict[str, str] = {}
        self.funding: dict[str, str] = {}  # user id -> the transaction of the funding top-up (before faults)
        for user, headers in self.spenders + self.senders:
            self.cards[user.user_id] = add_card(self.client, headers)
            amount = SPENDER_FUNDS if (user, headers) in self.spenders else SENDER_FUNDS
            response = top_up(self.client, headers, self.cards[user.user_id], amount)
            assert response.status_code == 201, response.body
            self.funding[user.user_id] = body_of(response)["transaction_id"]
        self.orders: dict[int, list[dict]] = {}
        for phase in (1, 2):  # one order per spender, and one that two spenders race to pay
            amounts = [plan(phase, "orders").randrange(10_00, 200_00) for _ in range(SPENDERS + 1)]
            self.orders[phase] = [open_order(client, DEMO_KEY, amount=amount) for amount in amounts]
        self.timed_out: list[Outcome] = []  # phase 1's top-ups: the bank took the charge, never answered

    def fault_phase(self, **faults) -> None:
        """Put new faults in force, keeping the count of what the previous ones injected."""
        self.faults.update(FAULTS.counts())
        if faults:
            set_faults(self.client, **faults)
        else:
            clear_faults(self.client)

    def outcome(self, kind: str, who, path: str, payload: dict, **meta) -> Outcome:
        user, headers = who
        return Outcome(kind, user.user_id, path, payload, headers, key=f"{kind}-{uuid.uuid4().hex[:12]}", meta=meta)

    # --- what each user does in a phase ---------------------------------------------------------

    def spender(self, phase: int, index: int) -> None:
        who = self.spenders[index]
        work, draw = self.work, plan(phase, "spender", index)
        reference = f"ref-{phase}-{index}"
        small = {"merchant_id": CAFE, "amount": draw.randrange(50_00, 300_00), "currency": "CNY"}
        paid = work.send(self.outcome("payment", who, "/payments", {**small, "order_reference": reference, **AUTH}))
        # Above the threshold and unique to the payer: its large-debit notice is told apart by amount.
        large = {"merchant_id": CAFE, "amount": LARGE + 1_000 * phase + 100 * index + 1, "currency": "CNY"}
        work.send(self.outcome("payment", who, "/payments", {**large, "order_reference": f"{reference}-l", **AUTH}))
        # The same order reference under a new key: the business refusal, stored like a success.
        again = self.outcome("payment", who, "/payments", {**small, "order_reference": reference, **AUTH})
        work.send(again).meta["expect"] = "already_paid"
        order = self.orders[phase][index]
        work.send(self.outcome("order", who, f"/orders/{order['order_id']}/pay", AUTH, order=order["order_id"]))
        if paid.completed:  # (a parked dispute would turn the second filing's answer round: skipped)
            dispute = {"transaction_id": paid.body["transaction_id"], "reason": "not_received", "description": "没收到"}
            if work.send(self.outcome("dispute", who, "/disputes", dispute)).status:
                second = self.outcome("dispute", who, "/disputes", dispute)
                work.send(second).meta["expect"] = "dispute_exists"
        ticket = {"subject": f"phase {phase} question {index}", "body": "钱扣了两次吗？", "category": "payment"}
        work.send(self.outcome("ticket", who, "/support/tickets", ticket))
        topup = {"funding_source_id": self.cards[who[0].user_id], "amount": draw.randrange(1_00, 500_00)}
        topup_request = self.outcome("topup", who, "/me/topups", {**topup, "currency": "CNY"})
        # Under the bank's timeout every try ends 503: a few, then the client comes back later.
        if not work.send(topup_request, park_after_503s=3 if phase == 1 else None).status and phase == 1:
            self.timed_out.append(topup_request)

    def sender(self, phase: int, index: int) -> None:
        who, draw = self.senders[index], plan(phase, "sender", index)
        for number in range(2):  # under 200 CNY each (no code to a new payee) and under the day's budget
            payee = self.payees[(index + number) % PAYEES][0]
            payload = {"recipient": {"user_id": payee.user_id}, "amount": draw.randrange(10_00, 150_00)}
            self.work.send(self.outcome("transfer", who, "/transfers", {**payload, "currency": "CNY"}))
        ticket = {"subject": f"phase {phase} transfer {index}", "body": "对方没收到", "category": "transfer"}
        self.work.send(self.outcome("ticket", who, "/support/tickets", ticket))

    def phase(self, number: int) -> None:
        calls = [lambda i=i: self.spender(number, i) for i in range(SPENDERS)]
        calls += [lambda i=i: self.sender(number, i) for i in range(SENDERS)]
        for index, who in enumerate(self.senders):  # the same key twice at the same moment
            payload = {"recipient": {"user_id": self.payees[0][0].user_id}, "amount": 11_00 + index, "currency": "CNY"}
            twin = self.outcome("transfer", who, "/transfers", payload)
            copy = Outcome(twin.kind, twin.who, twin.path, twin.payload, twin.headers, twin.key, meta={"twin": True})
            calls += [lambda o=twin: self.work.send(o), lambda o=copy: self.work.send(o)]
        ticket = self.outcome("ticket", self.senders[0], "/support/tickets", {"subject": "twice", "body": "同一个"})
        ticket.payload["category"] = "other"
        twin = Outcome(ticket.kind, ticket.who, ticket.path, ticket.payload, ticket.headers, ticket.key)
        twin.meta["twin"] = True  # a marker route: one runs, the other waits (409 request_in_progress), then replays
        calls += [lambda o=ticket: self.work.send(o), lambda o=twin: self.work.send(o)]
        contested = self.orders[number][SPENDERS]["order_id"]
        for index in (0, 1):  # two payers race for one order: one pays it
            race = self.outcome("order", self.spenders[index], f"/orders/{contested}/pay", AUTH, order=contested)
            race.meta["contested"] = True
            calls.append(lambda o=race: self.work.send(o))
        run_together(*calls)

    def finish_parked(self, share: int = 1) -> None:
        """The parked requests (phase 1's timed-out top-ups among them): every `share`-th sent again by
        its client (same key, same body) while `topup_settle` runs; the rest stay parked for later."""
        parked = self.work.take_parked()
        self.work.parked.extend(o for n, o in enumerate(parked) if n % share)
        calls = [lambda o=o: self.work.send(o) for n, o in enumerate(parked) if not n % share]
        calls.append(lambda: retry_job(self.client, "topup_settle"))
        run_together(*calls)

    def replay_all(self) -> None:
        answered = [outcome for outcome in self.work.outcomes if outcome.status and not outcome.meta.get("twin")]
        run_together(*[lambda o=o: self.work.replay(o) for o in answered])

    def line(self) -> str:
        work = dict(self.work.counts)
        return (
            f"FAULT WORKLOAD: seed={SEED} requests={work.get('requests', 0)} 503s={work.get('503s', 0)} "
            f"retries={work.get('retries', 0)} in_progress={work.get('in_progress', 0)} "
            f"completed={work.get('completed', 0)} business_4xx={work.get('business_4xx', 0)} "
            f"replays={work.get('replays', 0)} parked={work.get('parked', 0)} "
            f"faults={dict(sorted(self.faults.items()))}"
        )


def test_a_seeded_workload_under_faults_moves_money_once_and_every_notice_reaches_the_outbox_once(client, seeded):
    set_clock(client, T0)
    run = Run(client)

    # Phase 1: DynamoDB throttling and conflicts, SES and SNS down, the bank hanging past its timeout.
    run.fault_phase(dynamodb=DYNAMODB, ses="down", sns="down", bank="timeout", seed=SEED)
    run.phase(1)
    # Phase 2: SES, SNS and the bank back; DynamoDB still throttling and conflicting. Past the timed-out
    # top-ups' resend and settle windows (1 and 2 min), half are retried by their clients while the
    # `topup_settle` job runs; the rest wait for the job or for phase 3.
    run.fault_phase(dynamodb=DYNAMODB, seed=SEED + 1)
    set_clock(client, T0 + timedelta(minutes=3))
    run.finish_parked(share=2)
    run.phase(2)
    run.replay_all()
    # Phase 3: no fault, and past every wait a parked request was told of. The top-ups left to the
    # job are answered from it when their clients come back.
    run.fault_phase()
    set_clock(client, T0 + timedelta(minutes=10))
    retry_job(client, "topup_settle")
    run.finish_parked()
    assert not run.work.parked, [o.describe() for o in run.work.parked]
    line = run.line()
    print(line)

    assert run.faults["throttle"] and run.faults["conflict"] and run.faults["down"] and run.faults["timeout"], line
    assert run.timed_out, f"no top-up met the bank's timeout: {line}"
    check_business_outcomes(run, line)
    check_money(run, line)
    check_topups_charged_once(run, line)
    check_notices(run, line)


# --- the checks ------------------------------------------------------------------------------------


def check_business_outcomes(run: Run, line: str) -> None:
    """Each request ended as it would without faults: 2xx, or the refusal the plan expects."""
    for outcome in run.work.outcomes:
        expected = outcome.meta.get("expect")
        if outcome.meta.get("contested"):
            continue
        if expected:
            assert outcome.status in (409,) and outcome.code == expected, f"{outcome.describe()} | {line}"
        else:
            assert outcome.completed, f"{outcome.describe()} | {line}"
    for phase in (1, 2):
        contested = run.orders[phase][SPENDERS]["order_id"]
        races = [o for o in run.work.of("order") if o.meta.get("order") == contested]
        assert sorted(o.status for o in races) == [201, 409], [o.describe() for o in races]
        assert [o.code for o in races if o.status == 409] == ["order_not_open"], line
    for twin in (o for o in run.work.outcomes if o.meta.get("twin")):
        first = next(o for o in run.work.outcomes if o.key == twin.key and o is not twin)
        assert (twin.status, twin.body) == (first.status, first.body), f"{twin.describe()} | {line}"


def _txn(outcome: Outcome) -> str:
    return outcome.body["transaction_id"]


def check_money(run: Run, line: str) -> None:
    """Balances are what the answers say, each key's movement is in the ledger once, nothing else is,
    each order is paid once, and the ledger's invariants hold."""
    expected = {user.user_id: 0 for user, _ in run.spenders + run.senders + run.payees}
    moved: dict[str, set[str]] = {user_id: set() for user_id in expected}
    for user_id, transaction_id in run.funding.items():
        moved[user_id].add(transaction_id)
    for user, _ in run.spenders:
        expected[user.user_id] += SPENDER_FUNDS
    for user, _ in run.senders:
        expected[user.user_id] += SENDER_FUNDS
    movement_of_key: dict[str, str] = {}
    for outcome in run.work.outcomes:
        if not outcome.completed or outcome.kind in ("dispute", "ticket"):
            continue
        txn = _txn(outcome)
        if outcome.key in movement_of_key:  # the twin of a key sent twice at once: the same movement
            assert movement_of_key[outcome.key] == txn, f"one key, two movements: {outcome.describe()}"
            continue
        movement_of_key[outcome.key] = txn
        amount = outcome.body["amount"]
        expected[outcome.who] += amount if outcome.kind == "topup" else -amount
        moved[outcome.who].add(txn)
        if outcome.kind == "transfer":
            payee = outcome.body["recipient"]["user_id"]
            expected[payee] += amount
            moved[payee].add(txn)
    for user, headers in run.spenders + run.senders + run.payees:
        entries = [entry.transaction_id for entry in LedgerEntry.query(f"user#{user.user_id}")]
        ledger = set(entries)
        assert ledger == moved[user.user_id], f"{user.user_id}: ledger {ledger ^ moved[user.user_id]} | {line}"
        assert len(entries) == len(ledger), f"{user.user_id}: a movement posted twice | {line}"
        assert balances(run.client, headers).get("CNY", 0) == expected[user.user_id], f"{user.user_id} | {line}"
    for phase in (1, 2):
        for order in run.orders[phase]:
            payers = [o for o in run.work.of("order") if o.meta.get("order") == order["order_id"] and o.completed]
            assert len(payers) == 1, f"{order['order_id']} paid {len(payers)} times | {line}"
            shown = body_of(get_order(run.client, DEMO_KEY, order["order_id"]))
            assert shown["status"] == "paid" and shown["transaction_id"] == _txn(payers[0]), shown
    check_invariants([])


def check_topups_charged_once(run: Run, line: str) -> None:
    """One approved charge at the bank per top-up key, and it is the one the wallet was credited for."""
    attempts_by_key: dict[str, list] = {}
    for attempt in TopUpAttempt.scan(TopUpAttempt.kind == "topup_attempt"):
        attempts_by_key.setdefault(attempt.idempotency_id, []).append(attempt)
    approved = {charge.reference for charge in SimulatedCharge.scan() if charge.outcome == APPROVED}
    for outcome in run.work.of("topup"):
        record = idempotency.record_id(outcome.who, "POST", "/me/topups", outcome.key)
        attempts = attempts_by_key.get(record, [])
        charged = [a for a in attempts if a.bank_reference in approved]
        assert len(charged) == 1, f"{outcome.key}: {len(charged)} charges of {len(attempts)} attempts | {line}"
        assert charged[0].status == "completed" and charged[0].transaction_id == _txn(outcome), outcome.describe()


def check_notices(run: Run, line: str) -> None:
    """After `notify_dispatch` ran past every backoff, each notice the requests made is in the outbox
    once: the ticket acknowledgements, the dispute confirmations and the large-debit notices."""
    sent = 0
    for hours in (1, 3, 9):  # past every retry's backoff; later runs find nothing left to send
        set_clock(run.client, T0 + timedelta(hours=hours))
        result = retry_job(run.client, "notify_dispatch")
        assert hours == 1 or result["sent"] == 0, result
        sent += result["sent"]
    assert sent > 0, f"notify_dispatch found nothing to send after SES and SNS were down | {line}"
    assert all(notice.status == "sent" for notice in Notice.scan()), line
    for user, _ in run.spenders + run.senders:
        mail = outbox_of(run.client, user.email)
        texts = outbox_of(run.client, user.phone)
        tickets = sorted({o.body["ticket_id"] for o in run.work.of("ticket") if o.who == user.user_id})
        disputes = [o.body["dispute_id"] for o in run.work.of("dispute") if o.who == user.user_id and o.completed]
        acks = Counter(m.group(1) for m in (TICKET_ACK.search(x.get("subject") or "") for x in mail) if m)
        filed = Counter(m.group(1) for m in (DISPUTE_FILED.search(x.get("subject") or "") for x in mail) if m)
        assert acks == Counter(tickets), f"{user.user_id} ticket acks {acks} for {tickets} | {line}"
        assert filed == Counter(disputes), f"{user.user_id} dispute notices {filed} for {disputes} | {line}"
        large = [
            format_amount(o.payload["amount"], "CNY")
            for o in run.work.of("payment")
            if o.who == user.user_id and o.completed and o.payload["amount"] > LARGE
        ]
        for amount in large:
            for channel, sent_to in (("email", mail), ("SMS", texts)):
                found = [m for m in sent_to if amount in m["body"]]
                assert len(found) == 1, f"{user.user_id} large-debit {channel} {amount}: {found} | {line}"
        for case in tickets + disputes:  # the short text while the email could not go: at most once
            assert sum(case in m["body"] for m in texts) <= 1, f"{case} texted twice | {line}"
        seen = Counter((m["channel"], m.get("subject"), re.sub(r"https?://\S+", "", m["body"])) for m in mail + texts)
        assert not [m for m, n in seen.items() if n > 1], f"sent twice: {seen.most_common(2)} | {line}"
    print(f"FAULT WORKLOAD notices: dispatched later={sent}")
