"""Configuration, CLI, health, sessions + CSRF, rate limits."""
import pytest
from flask_wtf.csrf import generate_csrf

from chat import create_app
from chat.config import ConfigError, from_environment, normalize_database_url


def test_missing_secret_key_outside_development_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        from_environment({"CHAT_ENV": "production"}, instance_path=str(tmp_path))


def test_development_gets_a_stable_secret(tmp_path):
    first = from_environment({}, instance_path=str(tmp_path))["SECRET_KEY"]
    assert first and first == from_environment({}, instance_path=str(tmp_path))["SECRET_KEY"]


def test_bad_number_in_environment_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_POOL_SIZE"):
        from_environment({"DATABASE_POOL_SIZE": "many"}, instance_path=str(tmp_path))


def test_heroku_database_urls_use_psycopg():
    assert normalize_database_url("postgres://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_embedded_default_needs_no_setup(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"},
                     instance_path=str(tmp_path / "instance"))
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and r.json["db"] == "ok"


def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "up to date" in result.output


def test_demo_creates_people_and_a_group(runner, app):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "alice" in result.output
    assert runner.invoke(args=["demo"]).exit_code == 0  # safe twice
    from chat.actions import accounts, inbox
    alice = accounts.authenticate("alice", "password123")
    names = sorted(c["name"] or "direct" for c in inbox.list_conversations(alice["id"]))
    assert names == ["book-club", "direct"]


def _sign_in_session(client, app, user_id):
    with app.test_request_context():
        from flask import session
        token = generate_csrf()
        raw = session["csrf_token"]
    from chat.actions import sessions
    with client.session_transaction() as sess:
        sess["_user_id"] = sessions.create(user_id)  # the identity is a server-side session, not the user id
        sess["_fresh"] = True
        sess["csrf_token"] = raw
    return token


def test_cookie_session_writes_need_csrf(app, client, alice, bob):
    token = _sign_in_session(client, app, alice["id"])
    assert client.get("/api/v1/me").json["username"] == "alice"
    r = client.post("/api/v1/conversations/direct", json={"user_id": bob["id"]})
    assert r.status_code == 400 and r.json["error"]["code"] == "csrf_failed"
    r = client.post("/api/v1/conversations/direct", json={"user_id": bob["id"]}, headers={"X-CSRFToken": token})
    assert r.status_code == 201


def test_bearer_requests_need_no_csrf_and_ignore_cookies(app, client, alice, bob, api_as):
    _sign_in_session(client, app, bob["id"])
    from chat.actions import accounts
    token = accounts.issue_token(alice["id"])
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.json["username"] == "alice"  # the token, not bob's cookie
    r = client.post("/api/v1/conversations/direct", json={"user_id": bob["id"]},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201


def test_auth_endpoints_are_rate_limited(tmp_path):
    from chat.security import limiter
    from tests.conftest import TEST_CONFIG
    app = create_app(dict(TEST_CONFIG, RATELIMIT_ENABLED=True, AUTH_RATE_LIMIT="3/minute",
                          DATABASE_URL=f"sqlite:///{tmp_path / 'limits.sqlite3'}"))
    limiter.reset()
    client = app.test_client()
    codes = [client.post("/api/v1/auth/token", json={"login": "x", "password": "y"}).status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    r = client.post("/api/v1/auth/token", json={"login": "x", "password": "y"})
    assert r.status_code == 429 and r.json["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) > 0


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json["status"] == "ok" and r.json["db"] == "ok"


def test_sign_in_works_while_the_rate_limit_store_is_down(tmp_path):
    from tests.conftest import TEST_CONFIG
    from tests.services import free_port
    app = create_app(dict(TEST_CONFIG, RATELIMIT_ENABLED=True, DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
                          RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0"))
    with app.app_context():
        from chat.actions import accounts
        accounts.sign_up("zed@example.com", "zed", "password123")
    r = app.test_client().post("/api/v1/auth/token", json={"login": "zed", "password": "password123"})
    assert r.status_code == 200 and r.json["token"]
