"""Password hashing with Argon2id (argon2-cffi).

``dummy_check`` makes a sign-in for an unknown login cost what a real one costs: one verification
against a hash computed once per process (lazily, then cached), never a fresh hash per request.
"""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_hashers = {}
_dummy_hashes = {}


def _cost():
    # Tests and benchmarks set a cheap cost; production keeps the library's defaults.
    return current_app.config["PASSWORD_HASH_COST"]


def _hasher():
    cost = _cost()
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


def dummy_check(password):
    """Verify ``password`` against a fixed hash, so that unknown logins take as long as known ones."""
    cost = _cost()
    if cost not in _dummy_hashes:
        _dummy_hashes[cost] = _hasher().hash("not-a-real-password")
    check_password(_dummy_hashes[cost], password)
