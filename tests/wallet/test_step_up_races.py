"""A stolen session guessing the step-up password on payments, many requests at once (v1.2)."""

from __future__ import annotations

from chalicelib.adapters import clock
from chalicelib.services.identity import reauth
from chalicelib.store.counters import Counter
from tests.helpers.http import assert_error
from tests.helpers.parallel import run_together
from tests.helpers.wallet import balances
from tests.wallet.test_payments import PASSWORD, funded, pay
from tests.wallet.test_transfers import fresh_token


def _counter(counter_id: str) -> int:
    try:
        return int(Counter.get(counter_id).count)
    except Counter.DoesNotExist:
        return 0


def test_parallel_wrong_step_up_passwords_are_compared_five_times_then_the_session_ends(client, seeded):
    user, headers = funded(client, 500_000)
    guesses = [
        lambda i=i: pay(client, headers, 150_000, authorization={"password": f"Guess-{i}-no"}) for i in range(20)
    ]
    responses = run_together(*guesses)
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(422) == 5 and set(statuses) <= {401, 422, 429}
    # Only the compared ones are step-up failures; the refused ones were never checked.
    assert _counter(reauth.step_up_failure_counter_id(user.user_id, clock.now())) == 5
    assert _counter(f"login_fail#{user.phone}") == 0
    assert_error(pay(client, headers, 150_000, authorization={"password": PASSWORD}), 401, "unauthorized")
    assert balances(client, fresh_token(user))["CNY"] == 500_000  # nothing was paid
