"""Sign up, tokens, sessions, the directory."""
import pytest

from chat.actions import accounts
from chat.errors import Conflict, Invalid, Unauthorized


def test_signup_returns_user_and_token(api_as):
    r = api_as(None).post("/auth/signup", json={"email": "Zoe@Example.com", "username": "Zoe",
                                                "password": "correct horse", "display_name": "Zoë"})
    assert r.status_code == 201
    assert r.json["user"]["username"] == "zoe"
    assert r.json["user"]["email"] == "zoe@example.com"
    assert r.json["user"]["display_name"] == "Zoë"
    me = api_as(None).get("/me", headers={"Authorization": f"Bearer {r.json['token']}"})
    assert me.status_code == 200 and me.json["username"] == "zoe"


@pytest.mark.parametrize("field,body", [
    ("email", {"email": "not-an-email", "username": "zoe", "password": "password123"}),
    ("username", {"email": "z@example.com", "username": "no spaces", "password": "password123"}),
    ("username", {"email": "z@example.com", "username": "ab", "password": "password123"}),
    ("password", {"email": "z@example.com", "username": "zoe", "password": "short"}),
    ("email", {"username": "zoe", "password": "password123"}),
    ("display_name", {"email": "z@example.com", "username": "zoe", "password": "password123",
                      "display_name": "x" * 81}),
])
def test_signup_rejects_bad_fields_by_name(api_as, field, body):
    r = api_as(None).post("/auth/signup", json=body)
    assert r.status_code == 422
    assert r.json["error"]["field"] == field
    assert r.json["error"]["message"]


def test_username_and_email_taken_is_409(api_as, alice):
    r = api_as(None).post("/auth/signup", json={"email": "new@example.com", "username": "ALICE",
                                                "password": "password123"})
    assert r.status_code == 409 and r.json["error"]["field"] == "username"
    r = api_as(None).post("/auth/signup", json={"email": "alice@example.com", "username": "alice2",
                                                "password": "password123"})
    assert r.status_code == 409 and r.json["error"]["field"] == "email"


def test_failed_signup_writes_nothing(app, api_as, alice):
    api_as(None).post("/auth/signup", json={"email": "alice@example.com", "username": "alice2",
                                            "password": "password123"})
    with pytest.raises(Unauthorized):
        accounts.authenticate("alice2", "password123")


def test_token_by_username_or_email(api_as, alice):
    for login in ("alice", "ALICE@example.com"):
        r = api_as(None).post("/auth/token", json={"login": login, "password": "password123"})
        assert r.status_code == 200 and r.json["user"]["id"] == alice["id"] and r.json["token"]


@pytest.mark.parametrize("login,password", [("alice", "wrong-password"), ("nobody", "password123"), ("", "")])
def test_bad_credentials_are_401(api_as, alice, login, password):
    r = api_as(None).post("/auth/token", json={"login": login, "password": password})
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_credentials"


def test_logout_revokes_the_bearer_token(api_as, alice):
    a = api_as(alice)
    assert a.get("/me").status_code == 200
    assert a.post("/auth/logout").status_code == 204
    r = a.get("/me")
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"


def test_password_is_hashed_not_stored(app, alice):
    from chat.db import transaction
    with transaction() as conn:
        stored = conn.exec_driver_sql("select password_hash from accounts").scalar()
    assert "password123" not in stored and stored.startswith("$argon2")


def test_signed_out_is_401_everywhere(api_as):
    anon = api_as(None)
    for path in ("/me", "/users", "/conversations", "/conversations/x/messages"):
        r = anon.get(path)
        assert r.status_code == 401, path
        assert r.json["error"]["code"] == "unauthorized"


def test_a_garbage_token_is_401(api_as):
    from tests.conftest import Api
    r = Api(api_as(None).client, "chat_not-a-token").get("/me")
    assert r.status_code == 401


def test_me_shows_email_but_directory_does_not(api_as, alice, bob):
    a = api_as(alice)
    assert a.get("/me").json["email"] == "alice@example.com"
    found = a.get("/users/bob").json
    assert found["id"] == bob["id"] and "email" not in found
    assert a.get(f"/users/{bob['id']}").json["username"] == "bob"
    assert a.get("/users/nobody").status_code == 404
    assert a.get("/users/00000000-0000-0000-0000-000000000000").status_code == 404


def test_directory_search(api_as, alice, bob, carol):
    a = api_as(alice)
    assert [u["username"] for u in a.get("/users").json["users"]] == ["alice", "bob", "carol"]
    assert [u["username"] for u in a.get("/users?q=CAR").json["users"]] == ["carol"]
    assert [u["username"] for u in a.get("/users?q=%25").json["users"]] == []  # % is literal
    assert a.get("/users?limit=1").json["users"][0]["username"] == "alice"
    r = a.get("/users?limit=0")
    assert r.status_code == 422 and r.json["error"]["field"] == "limit"


def test_update_profile(api_as, alice):
    a = api_as(alice)
    r = a.patch("/me", json={"display_name": "Alice L.", "bio": "<b>hi</b>"})
    assert r.status_code == 200 and r.json["display_name"] == "Alice L." and r.json["bio"] == "<b>hi</b>"
    r = a.patch("/me", json={"avatar_url": "javascript:alert(1)"})
    assert r.status_code == 422 and r.json["error"]["field"] == "avatar_url"
    r = a.patch("/me", json={"display_name": "   "})
    assert r.status_code == 422 and r.json["error"]["field"] == "display_name"


def test_actions_validate_directly(app):
    with pytest.raises(Invalid) as error:
        accounts.sign_up("a@example.com", "a b", "password123")
    assert error.value.field == "username"
    accounts.sign_up("a@example.com", "abc", "password123")
    with pytest.raises(Conflict):
        accounts.sign_up("A@example.com", "abd", "password123")


def test_malformed_json_is_400(api_as, alice):
    r = api_as(alice).post("/conversations", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["error"]["code"] == "malformed_json"
    r = api_as(alice).post("/conversations", json=["a", "list"])
    assert r.status_code == 400 and r.json["error"]["code"] == "malformed_json"


def test_unknown_api_path_is_json_404(api_as, alice):
    r = api_as(alice).get("/nope")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    r = api_as(alice).delete("/me")
    assert r.status_code == 405 and r.json["error"]["code"] == "method_not_allowed"
