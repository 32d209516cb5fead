"""Users (table `users`) and the unique claims on their phone and email (table `claims`)."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute
from pynamodb.transactions import TransactWrite

from chalicelib.store.base import BaseModel, StageTable, shared_connection


class User(BaseModel):
    class Meta(metaclass=StageTable):
        table = "users"

    user_id = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute(default="user")  # "user" | "agent"
    status = UnicodeAttribute(default="active")  # "active" | "closed"
    email = UnicodeAttribute(null=True)
    email_verified = BooleanAttribute(default=False)
    phone = UnicodeAttribute(null=True)  # E.164
    phone_verified = BooleanAttribute(default=False)
    display_name = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(default="zh-CN")
    password_hash = UnicodeAttribute(null=True)
    password_changed_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class Claim(BaseModel):
    """`<kind>#<value>` owned by one user: a phone, a verified email, an identity, a card."""

    class Meta(metaclass=StageTable):
        table = "claims"

    claim = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


def email_claim(email: str) -> str:
    return f"email#{email.lower()}"


def phone_claim(phone: str) -> str:
    return f"phone#{phone}"


def find_claim_owner(claim: str) -> str | None:
    try:
        return Claim.get(claim).user_id
    except Claim.DoesNotExist:
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
