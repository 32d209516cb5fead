"""POST /me/kyc and GET /me/kyc: ID checks, the age rule, one identity per account."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from chalicelib.adapters import clock
from chalicelib.store.kyc import get_case
from tests.helpers.http import assert_error, body_of, post_json
from tests.helpers.kyc import resident_id
from tests.helpers.users import make_user, signed_in

GOOD_ID = "11010519491231002X"


def submit(client, headers, **fields):
    payload = {"real_name": "张三", "id_type": "cn_resident_id", "id_number": GOOD_ID, **fields}
    return post_json(client, "/me/kyc", payload, headers)


def test_a_valid_resident_id_goes_to_review(client, stage):
    user = make_user()
    headers = signed_in(user)
    response = submit(client, headers)
    assert response.status_code == 202
    assert body_of(response) == {"status": "pending"}
    state = body_of(client.get("/me/kyc", headers=headers))
    assert state["status"] == "pending" and state["level"] == 0 and state["required_documents"] == []
    assert datetime.fromisoformat(state["submitted_at"]).utcoffset() is not None
    case = get_case(user.user_id)
    assert case.id_last4 == "002X" and case.real_name == "张三"
    assert GOOD_ID not in (case.id_number_sealed or "") and case.id_hash != GOOD_ID
    me = body_of(client.get("/me", headers=headers))
    assert me["kyc"] == {"status": "pending", "level": 0}


def test_unverified_user_sees_what_level_1_needs(client, stage):
    headers = signed_in(make_user())
    assert body_of(client.get("/me/kyc", headers=headers)) == {
        "status": "unverified",
        "level": 0,
        "required_documents": [],
        "next_level": 1,
    }


def test_bad_check_digit_is_400(client, stage):
    headers = signed_in(make_user())
    wrong = GOOD_ID[:-1] + ("1" if GOOD_ID[-1] != "1" else "2")
    assert_error(submit(client, headers, id_number=wrong), 400, "invalid_id_number", field="id_number")


def test_impossible_birth_date_is_400(client, stage):
    headers = signed_in(make_user())
    body = "11010519490230001"  # 30 February 1949
    number = body + __import__("stdnum.cn.ric", fromlist=["x"]).calc_check_digit(body + "0")
    assert_error(submit(client, headers, id_number=number), 400, "invalid_id_number")


def test_unknown_region_is_400(client, stage):
    headers = signed_in(make_user())
    assert_error(
        submit(client, headers, id_number=resident_id(date(1990, 5, 1), region="999999")), 400, "invalid_id_number"
    )


def test_future_birth_date_is_400(client, stage):
    headers = signed_in(make_user())
    assert_error(submit(client, headers, id_number=resident_id(date(2099, 1, 1))), 400, "invalid_id_number")


@pytest.mark.parametrize("number", ["123", "11010519491231002", "1101051949123100XX", ""])
def test_malformed_numbers_are_400(client, stage, number):
    headers = signed_in(make_user())
    response = submit(client, headers, id_number=number)
    assert response.status_code == 400
    assert body_of(response)["error"]["code"] in ("invalid_id_number", "validation_error")


def test_under_18_the_day_before_the_birthday_and_of_age_on_it(client, stage):
    number = resident_id(date(2008, 11, 25))
    headers = signed_in(make_user())
    clock.set_test_clock(datetime.fromisoformat("2026-11-24T23:59:00+08:00"))
    assert_error(submit(client, headers, id_number=number), 422, "underage")
    assert body_of(client.get("/me/kyc", headers=headers))["status"] == "unverified"
    clock.set_test_clock(datetime.fromisoformat("2026-11-25T00:00:30+08:00"))
    assert submit(client, headers, id_number=number).status_code == 202


def test_born_on_29_february_is_of_age_on_1_march(client, stage):
    number = resident_id(date(2008, 2, 29))
    headers = signed_in(make_user())
    clock.set_test_clock(datetime.fromisoformat("2026-02-28T12:00:00+08:00"))
    assert_error(submit(client, headers, id_number=number), 422, "underage")
    clock.set_test_clock(datetime.fromisoformat("2026-03-01T12:00:00+08:00"))
    assert submit(client, headers, id_number=number).status_code == 202


def test_a_second_submission_while_pending_is_409(client, stage):
    headers = signed_in(make_user())
    submit(client, headers)
    assert_error(submit(client, headers), 409, "kyc_pending")


def test_passport_needs_nationality_birth_date_and_the_photo_page(client, stage):
    headers = signed_in(make_user())
    passport = {"id_type": "passport", "id_number": "E12345678", "real_name": "Li Lei"}
    assert_error(post_json(client, "/me/kyc", passport, headers), 400, "validation_error", field="nationality")
    with_nationality = {**passport, "nationality": "CN"}
    assert_error(post_json(client, "/me/kyc", with_nationality, headers), 400, "validation_error", field="birth_date")
    complete = {**with_nationality, "birth_date": "1990-05-01"}
    error = assert_error(post_json(client, "/me/kyc", complete, headers), 400, "validation_error", field="document_ids")
    assert error["details"] == {"missing": ["id_front"]}
    assert_error(post_json(client, "/me/kyc", {**complete, "nationality": "XX"}, headers), 400, "validation_error")
    assert_error(post_json(client, "/me/kyc", {**complete, "id_number": "E1"}, headers), 400, "invalid_id_number")


def test_passport_holders_must_be_adults_too(client, stage, monkeypatch):
    from chalicelib.services.kyc import documents as kyc_documents

    monkeypatch.setattr(kyc_documents, "uploaded_kind", lambda user_id, doc: "id_front")
    headers = signed_in(make_user())
    young = {
        "id_type": "passport",
        "id_number": "E12345678",
        "real_name": "Li Lei",
        "nationality": "CN",
        "birth_date": "2015-01-01",
        "document_ids": ["doc_x"],
    }
    assert_error(post_json(client, "/me/kyc", young, headers), 422, "underage")


def test_unknown_fields_and_bad_levels_are_400(client, stage):
    headers = signed_in(make_user())
    assert_error(submit(client, headers, target_level=4), 400, "validation_error", field="target_level")
    assert_error(submit(client, headers, target_level="2"), 400, "validation_error", field="target_level")
    assert_error(submit(client, headers, id_type="driver_license"), 400, "validation_error", field="id_type")
    assert_error(submit(client, headers, idnumber="x"), 400, "validation_error", field="idnumber")


def test_kyc_needs_a_session(client, stage):
    assert_error(client.get("/me/kyc"), 401, "unauthorized")
    assert_error(post_json(client, "/me/kyc", {}), 401, "unauthorized")


def test_another_users_case_is_invisible(client, stage):
    owner_headers = signed_in(make_user())
    other_headers = signed_in(make_user())
    submit(client, owner_headers)
    assert body_of(client.get("/me/kyc", headers=other_headers))["status"] == "unverified"
