"""Users (table `users`) and the unique claims on their phone, email and devices (table `claims`)."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import PutError
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.transactions import TransactWrite

from chalicelib.store.base import BaseModel, StageTable, shared_connection
from chalicelib.store.conditions import condition_failed


class UsersByPasswordReviewDay(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_password_review_day"
        projection = KeysOnlyProjection()

    password_review_day = UnicodeAttribute(hash_key=True)
    user_id_sort = UnicodeAttribute(range_key=True)


class User(BaseModel):
    class Meta(metaclass=StageTable):
        table = "users"

    user_id = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute(default="user")  # "user" | "agent"
    status = UnicodeAttribute(default="active")  # "active" | "frozen" | "closed"
    created_at = UnicodeAttribute()
    display_name = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(default="en")

    phone = UnicodeAttribute(null=True)  # E.164, claimed in `claims`
    phone_verified = BooleanAttribute(default=False)
    email = UnicodeAttribute(null=True)  # lower case; claimed only once verified
    email_verified = BooleanAttribute(default=False)

    password_hash = UnicodeAttribute(null=True)  # argon2id
    password_changed_at = UnicodeAttribute(null=True)
    # password_age job: the Shanghai day the next 180-day reminder is due (GSI by_password_review_day)
    password_review_day = UnicodeAttribute(null=True)
    user_id_sort = UnicodeAttribute(null=True)  # the GSI's range key: a copy of user_id

    # MFA. The TOTP secret is encrypted (chalicelib.adapters.field_crypto).
    totp_secret = UnicodeAttribute(null=True)
    totp_pending_secret = UnicodeAttribute(null=True)
    totp_last_step = NumberAttribute(null=True)  # last accepted time step: a code works once
    recovery_code_hashes = UnicodeSetAttribute(null=True)
    mfa_sms = BooleanAttribute(default=False)
    mfa_email = BooleanAttribute(default=False)

    closed_at = UnicodeAttribute(null=True)
    # Account protection (contract, sections 9 and 11): set while `status` is "frozen".
    frozen_at = UnicodeAttribute(null=True)
    freeze_reason = UnicodeAttribute(null=True)  # lost_device | suspected_fraud | other | the agent's text
    frozen_by = UnicodeAttribute(null=True)  # "user" | "agent"
    frozen_by_agent = UnicodeAttribute(null=True)  # the agent's user_id when frozen_by == "agent"
    # Bumped by "revoke every session" (chalicelib.services.identity.sessions): a session stamped with an
    # older generation is refused on its next request, whether or not the GSI listed it. Absent = 0.
    session_generation = NumberAttribute(null=True)

    by_password_review_day = UsersByPasswordReviewDay()

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None

    def mfa_methods(self) -> list[str]:
        methods = []
        if self.totp_enabled:
            methods.append("totp")
        if self.mfa_sms and self.phone:
            methods.append("sms")
        if self.mfa_email and self.email and self.email_verified:
            methods.append("email")
        if self.totp_enabled and self.recovery_code_hashes:
            methods.append("recovery_code")
        return methods


class Claim(BaseModel):
    """`<kind>#<value>` owned by one user: a phone, a verified email, an identity, a card, a device."""

    class Meta(metaclass=StageTable):
        table = "claims"

    claim = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    ref = UnicodeAttribute(null=True)  # the owning object, e.g. the open dispute of `dispute#txn_…`


def email_claim(email: str) -> str:
    return f"email#{email.lower()}"


def phone_claim(phone: str) -> str:
    return f"phone#{phone}"


def device_claim(user_id: str, device_id: str) -> str:
    return f"device#{user_id}#{device_id}"


def find_claim_owner(claim: str) -> str | None:
    try:
        return Claim.get(claim, consistent_read=True).user_id
    except Claim.DoesNotExist:
        return None


def get_user(user_id: str) -> User | None:
    try:
        return User.get(user_id, consistent_read=True)
    except User.DoesNotExist:
        return None


def create_user_with_claims(user: User, claims: list[str]) -> None:
    """Write the user and its claims in one transaction; fails if any claim is taken."""
    with TransactWrite(connection=shared_connection()) as transaction:
        transaction.save(user, condition=User.user_id.does_not_exist())
        for claim in claims:
            transaction.save(
                Claim(claim, user_id=user.user_id, created_at=user.created_at),
                condition=Claim.claim.does_not_exist(),
            )


def claim_once(claim: str, user_id: str, created_at: str) -> bool:
    """Claim `claim` for `user_id`; False when someone (anyone) already holds it."""
    try:
        Claim(claim, user_id=user_id, created_at=created_at).save(condition=Claim.claim.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    return True


def release_claim(claim: str, user_id: str) -> None:
    """Give up a claim this user holds (a changed email, a closed account)."""
    try:
        Claim(claim).delete(condition=Claim.user_id == user_id)
    except Exception as error:
        if not condition_failed(error):
            raise
