"""S11: an unknown login costs one Argon2 verification, like a real one, and no hashing."""
from argon2 import PasswordHasher

from chat import passwords


def _count(monkeypatch, name):
    calls = []
    original = getattr(PasswordHasher, name)

    def counting(self, *args, **kwargs):
        calls.append(name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PasswordHasher, name, counting)
    return calls


def test_dummy_check_hashes_once_then_only_verifies(app, monkeypatch):
    passwords.dummy_check("warm-up")  # the cached dummy hash may or may not exist yet
    hashes, verifies = _count(monkeypatch, "hash"), _count(monkeypatch, "verify")
    for attempt in range(3):
        passwords.dummy_check(f"guess-{attempt}")
    assert hashes == [] and verifies == ["verify"] * 3


def test_unknown_login_costs_one_verification_like_a_known_one(alice, api_as, monkeypatch):
    anonymous = api_as(None)
    anonymous.post("/auth/token", json={"login": "ghost", "password": "warm-up!"})
    hashes, verifies = _count(monkeypatch, "hash"), _count(monkeypatch, "verify")
    assert anonymous.post("/auth/token", json={"login": "ghost", "password": "password123"}).status_code == 401
    unknown = (list(hashes), list(verifies))
    hashes.clear(), verifies.clear()
    assert anonymous.post("/auth/token", json={"login": "alice", "password": "wrong-password"}).status_code == 401
    assert unknown == (list(hashes), list(verifies)) == ([], ["verify"])
