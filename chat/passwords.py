"""Password hashing with Argon2id (argon2-cffi)."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_hashers = {}


def _hasher():
    # Tests and benchmarks set a cheap cost; production keeps the library's defaults.
    cost = current_app.config["PASSWORD_HASH_COST"]
    if cost not in _hashers:
        _hashers[cost] = (PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
                          if cost == "fast" else PasswordHasher())
    return _hashers[cost]


def hash_password(password):
    return _hasher().hash(password)


def check_password(password_hash, password):
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verified against when the login names nobody, so that timing does not reveal which logins exist.
def dummy_check(password):
    check_password(_hasher().hash("not-a-real-password"), password)
