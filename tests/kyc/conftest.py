"""KYC test helpers: signed-in users made directly (no SMS round trip), valid ID numbers."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from stdnum.cn import ric

from chalicelib.adapters import clock
from chalicelib.services import sessions
from chalicelib.store.users import User, email_claim, find_claim_owner
from localstage.seed import AGENT_EMAIL

_ids = itertools.count(1)


def resident_id(birth: date, region: str = "110105", sequence: str = "001") -> str:
    """A resident ID number with a correct GB 11643 check digit."""
    body = f"{region}{birth:%Y%m%d}{sequence}"
    return body + ric.calc_check_digit(body + "0")


def make_user(locale: str = "en", *, email_verified: bool = True) -> tuple[User, dict[str, str]]:
    n = next(_ids)
    user = User(
        f"usr_kyc{n:04d}",
        created_at=clock.stamp(clock.now()),
        locale=locale,
        phone=f"+86137{n:08d}",
        phone_verified=True,
        email=f"kyc{n}@example.com",
        email_verified=email_verified,
    )
    user.save()
    token = sessions.start_session(user, device_id="d", device_name=None, now=clock.now()).access_token
    return user, {"Authorization": f"Bearer {token}"}


@pytest.fixture
def agent(seeded):
    user = User.get(find_claim_owner(email_claim(AGENT_EMAIL)))
    token = sessions.start_session(user, device_id="console", device_name=None, now=clock.now()).access_token
    return user, {"Authorization": f"Bearer {token}"}
