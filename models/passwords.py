from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with OWASP's minimum profile (19 MiB, 2 passes, 1 lane): about 30 ms a login on our
# 2-core machines, where the RFC 9106 "low memory" profile (64 MiB, 3 passes, 4 lanes) took
# about 300 ms and made the login mutation a cheap way to exhaust the CPU (decision 020).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verified against when the phone is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("timing-equaliser")

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True for hashes made with other parameters; they are upgraded at the next successful login."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 128:
        return "password must have at most 128 characters"
    if password.isdigit() or password.isalpha():
        return "password must mix letters and digits"
    return None
