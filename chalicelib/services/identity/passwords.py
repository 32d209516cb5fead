"""Password hashing: argon2id with the OWASP minimum (m=19 MiB, t=2, p=1)."""

from __future__ import annotations

from functools import lru_cache

from chalicelib.services.identity.password_policy import normalize_password


@lru_cache(maxsize=1)
def _hasher():
    from argon2 import PasswordHasher, Type  # deferred: heavy (argon2-cffi ~7 ms; not every request hashes)

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)


# Verified when no account matches, so unknown and known logins take the same time.
_DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$K+MKTyrwVzkaTEB1Zr5O6Q$z5l2x88FFJPxDhE4j3mLgQbjoby28zgtQM6fSSPxsZ8"


def hash_password(password: str) -> str:
    return _hasher().hash(normalize_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash it still spends the time of a real check."""
    from argon2.exceptions import InvalidHashError, VerificationError  # deferred: heavy (argon2-cffi ~7 ms)

    try:
        matched = _hasher().verify(password_hash or _DUMMY_HASH, normalize_password(password))
    except (VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
