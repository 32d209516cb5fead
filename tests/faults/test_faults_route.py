"""`PUT/DELETE /_local/faults` (contract, section 10): what is in force, validation, local only."""

from __future__ import annotations

import pytest

from localstage.faults import FAULTS
from tests.helpers.faults import clear_faults, set_faults
from tests.helpers.http import assert_error, body_of, put_json

NONE_IN_FORCE = {"dynamodb": {"throttle": 0.0, "conflict": 0.0}, "ses": "ok", "sns": "ok", "bank": "ok"}


def test_a_put_answers_every_fault_in_force_and_replaces_the_ones_before(client):
    first = set_faults(client, dynamodb={"throttle": 0.3, "conflict": 0.1}, ses="down", bank="timeout", seed=7)
    assert first == {
        "dynamodb": {"throttle": 0.3, "conflict": 0.1},
        "ses": "down",
        "sns": "ok",
        "bank": "timeout",
        "seed": 7,
    }
    second = set_faults(client, sns="down")
    assert second["dynamodb"] == {"throttle": 0.0, "conflict": 0.0}
    assert (second["ses"], second["sns"], second["bank"]) == ("ok", "down", "ok")
    assert isinstance(second["seed"], int)  # none given: a random one, told so the run can be replayed


def test_delete_clears_every_fault(client):
    set_faults(client, dynamodb={"throttle": 1}, sns="down", bank="down")
    clear_faults(client)
    assert FAULTS.in_force() == NONE_IN_FORCE
    assert client.get("/health").status_code == 200


def test_the_faults_route_is_never_throttled_itself(client):
    set_faults(client, dynamodb={"throttle": 1, "conflict": 1}, ses="down", sns="down", bank="down")
    assert set_faults(client, dynamodb={"throttle": 1})["dynamodb"]["throttle"] == 1
    clear_faults(client)
    assert FAULTS.history() == []  # neither call reached DynamoDB, SES or SNS


@pytest.mark.parametrize(
    "body, field",
    [
        ({"dynamodb": {"throttle": 1.5}}, "dynamodb.throttle"),
        ({"dynamodb": {"conflict": -0.1}}, "dynamodb.conflict"),
        ({"dynamodb": {"throtle": 0.1}}, "dynamodb.throtle"),
        ({"ses": "slow"}, "ses"),
        ({"bank": "up"}, "bank"),
        ({"seed": "42"}, "seed"),
        ({"seed": 4.2}, "seed"),
        ({"dynamodb": {"throttle": True}}, "dynamodb.throttle"),
    ],
)
def test_out_of_range_or_unknown_values_are_a_validation_error_and_change_nothing(client, body, field):
    set_faults(client, sns="down", seed=1)
    assert_error(put_json(client, "/_local/faults", body), 400, "validation_error", field=field)
    assert FAULTS.in_force()["sns"] == "down"


def test_the_routes_do_not_exist_outside_the_local_stage(deployed_client):
    assert_error(put_json(deployed_client, "/_local/faults", {"ses": "down"}), 404, "not_found")
    assert_error(deployed_client.delete("/_local/faults"), 404, "not_found")
    assert FAULTS.in_force() == NONE_IN_FORCE


def test_rates_of_zero_and_one_are_accepted_as_integers(client):
    assert body_of(put_json(client, "/_local/faults", {"dynamodb": {"throttle": 0, "conflict": 1}}))["dynamodb"] == {
        "throttle": 0.0,
        "conflict": 1.0,
    }
