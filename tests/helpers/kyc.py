"""KYC in tests: valid resident ID numbers and submitting a case over HTTP."""

from __future__ import annotations

from datetime import date

from stdnum.cn import ric

from tests.helpers.http import post_json


def resident_id(birth: date, region: str = "110105", sequence: str = "001") -> str:
    """A resident ID number with a correct GB 11643 check digit."""
    body = f"{region}{birth:%Y%m%d}{sequence}"
    return body + ric.calc_check_digit(body + "0")


def submit_kyc(client, headers, number: str = "11010519491231002X") -> None:
    payload = {"real_name": "张三", "id_type": "cn_resident_id", "id_number": number}
    response = post_json(client, "/me/kyc", payload, headers)
    assert response.status_code == 202, response.body
