"""Rate limits (S5, S7) and HSTS (S16), with limits on, through the real app on SQLite and Postgres.

Sign-in is limited per address (X-Forwarded-For believed only for TRUSTED_PROXIES hops) and per account,
web and API sharing counters; writes and stream opens per user. A breach is 429 with Retry-After: the
JSON error shape on /api/, a sentence on pages and htmx fragments.
"""
import io

import pytest

from chat import create_app
from chat.actions import accounts, conversations
from chat.config import from_environment
from chat.security import TOO_MANY, limiter

from .conftest import TEST_CONFIG, Api, IsolatedClient, _truncate_postgres
from .web_support import WebClient, text


@pytest.fixture
def make_app(backend, request, tmp_path):
    """``make_app(**settings)``: the app with rate limits on (counters reset) on a fresh database."""
    made = []

    def make(**settings):
        config = dict(TEST_CONFIG, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                      UPLOAD_FOLDER=str(tmp_path / "uploads"))
        config.update(settings)
        if backend == "postgres":
            url = request.getfixturevalue("postgres_url")
            _truncate_postgres(url)
            config["DATABASE_URL"] = url
        else:
            config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
        app = create_app(config)
        app.test_client_class = IsolatedClient
        limiter.reset()
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["chat.db"].dispose()


def people(app, *names):
    with app.app_context():
        return [accounts.sign_up(f"{n}@example.com", n, "password123", n.title()) for n in names]


def api(app, user):
    with app.app_context():
        return Api(app.test_client(), accounts.issue_token(user["id"]))


def guess(app, login, via="api", address="198.51.100.7"):
    headers = {"X-Forwarded-For": address}
    if via == "api":
        return app.test_client().post("/api/v1/auth/token", json={"login": login, "password": "wrong-guess"},
                                      headers=headers).status_code
    web = WebClient(app.test_client())
    web.get("/login")
    return web.post("/login", {"login": login, "password": "wrong-guess"}, headers=headers).status_code


# --- sign-in ----------------------------------------------------------------------------------------------

def test_trusted_proxies_defaults_to_zero_even_in_production(tmp_path):
    settings = from_environment({"CHAT_ENV": "production", "SECRET_KEY": "x"}, instance_path=str(tmp_path))
    assert settings["TRUSTED_PROXIES"] == 0
    settings = from_environment({"CHAT_ENV": "production", "SECRET_KEY": "x", "TRUSTED_PROXIES": "1"},
                                instance_path=str(tmp_path))
    assert settings["TRUSTED_PROXIES"] == 1


def test_a_spoofed_forwarded_for_does_not_reset_the_address_limit(make_app):
    app = make_app(AUTH_RATE_LIMIT="3/minute", TRUSTED_PROXIES=0)
    codes = [guess(app, f"nobody{i}", address=f"203.0.113.{i}") for i in range(4)]
    assert codes == [401, 401, 401, 429]


def test_with_one_trusted_proxy_the_forwarded_address_is_the_client(make_app):
    app = make_app(AUTH_RATE_LIMIT="3/minute", TRUSTED_PROXIES=1)
    codes = [guess(app, f"nobody{i}", address=f"203.0.113.{i}") for i in range(5)]
    assert codes == [401] * 5


def test_sign_in_is_limited_per_account_across_addresses_web_and_api(make_app):
    app = make_app(AUTH_RATE_LIMIT="100/minute", RATE_LIMIT_SIGN_IN_ACCOUNT="3/minute", TRUSTED_PROXIES=1)
    people(app, "alice", "bob")
    codes = [guess(app, "alice", "api", "203.0.113.1"), guess(app, "ALICE ", "web", "203.0.113.2"),
             guess(app, "alice", "api", "203.0.113.3")]
    assert codes == [401, 422, 401]  # the web form shows the error on the page (422)
    assert guess(app, "alice", "web", "203.0.113.4") == 429
    response = app.test_client().post("/api/v1/auth/token", json={"login": "alice", "password": "password123"})
    assert response.status_code == 429 and response.json["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0
    assert guess(app, "bob", "api", "203.0.113.5") == 401  # another account is not affected


def test_a_limited_sign_in_page_says_so_in_a_sentence(make_app):
    app = make_app(AUTH_RATE_LIMIT="1/minute")
    guess(app, "x", "web")
    web = WebClient(app.test_client())
    web.get("/login")
    response = web.post("/login", {"login": "x", "password": "wrong-guess"}, headers={"X-Forwarded-For": "1.2.3.4"})
    assert response.status_code == 429 and TOO_MANY in text(response)
    assert int(response.headers["Retry-After"]) > 0


# --- per user ---------------------------------------------------------------------------------------------

def test_sends_are_limited_per_user_with_web_and_api_sharing_the_counter(make_app):
    app = make_app(RATE_LIMIT_SENDS="3/minute")
    alice, bob = people(app, "alice", "bob")
    with app.app_context():
        conversation = conversations.open_direct(alice["id"], bob["id"])[0]
    a, b = api(app, alice), api(app, bob)
    path = f"/conversations/{conversation['id']}/messages"
    assert [a.post(path, json={"body": f"hi {i}"}).status_code for i in range(2)] == [201, 201]
    web = WebClient(app.test_client()).sign_in(alice)
    assert web.post(f"/c/{conversation['id']}/messages", {"body": "from the page"}, htmx=True).status_code == 201
    response = a.post(path, json={"body": "one too many"})
    assert response.status_code == 429 and response.json["error"] == {"code": "rate_limited", "message": TOO_MANY}
    assert int(response.headers["Retry-After"]) > 0
    response = web.post(f"/c/{conversation['id']}/messages", {"body": "again"}, htmx=True)
    assert response.status_code == 429 and TOO_MANY in text(response) and "<html" not in text(response)
    assert b.post(path, json={"body": "bob is fine"}).status_code == 201
    bodies = [m["body"] for m in b.get(path).json["messages"]]
    assert "hi 0" in bodies
    assert "one too many" not in bodies and "again" not in bodies


def test_the_default_send_limit_lets_a_fast_typist_through_and_stops_a_flood(make_app):
    app = make_app()
    alice, bob = people(app, "alice", "bob")
    with app.app_context():
        conversation = conversations.open_direct(alice["id"], bob["id"])[0]
    a = api(app, alice)
    path = f"/conversations/{conversation['id']}/messages"
    assert [a.post(path, json={"body": f"burst {i}"}).status_code for i in range(5)] == [201] * 5
    codes = []
    while len(codes) < 200 and 429 not in codes:
        codes.append(a.post(path, json={"body": f"flood {len(codes)}"}).status_code)
    assert 429 in codes


def _png():
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(out, "PNG")
    return out.getvalue()


PER_USER = {
    "RATE_LIMIT_EDITS": lambda a, c, m: a.patch(f"/messages/{m}", json={"body": "edited"}),
    "RATE_LIMIT_UPLOADS": lambda a, c, m: a.post("/attachments", data={"file": (io.BytesIO(_png()), "p.png")},
                                                 content_type="multipart/form-data"),
    "RATE_LIMIT_TYPING": lambda a, c, m: a.post(f"/conversations/{c}/typing"),
    "RATE_LIMIT_PRESENCE": lambda a, c, m: a.post("/presence", json={"status": "away"}),
    "RATE_LIMIT_GROUPS": lambda a, c, m: a.post("/conversations", json={"name": "g", "member_ids": []}),
    "RATE_LIMIT_MEMBERS": lambda a, c, m: a.post(f"/conversations/{c}/members", json={"user_id": m}),
    "RATE_LIMIT_STREAMS": lambda a, c, m: a.get("/events?probe=1", buffered=False),
    "RATE_LIMIT_SEARCH": lambda a, c, m: a.get("/users?q=bo"),
}


@pytest.mark.parametrize("setting", sorted(PER_USER))
def test_each_write_and_stream_open_has_a_per_user_limit(make_app, setting):
    app = make_app(**{setting: "1/minute"})
    alice, bob, carol = people(app, "alice", "bob", "carol")
    with app.app_context():
        group = conversations.create_group(alice["id"], "club", [bob["id"]])
        from chat.actions import messages
        message = messages.send_message(alice["id"], group["id"], "hello")[0]
    a = api(app, alice)
    other = carol["id"] if setting == "RATE_LIMIT_MEMBERS" else message["id"]
    first = PER_USER[setting](a, group["id"], other)
    assert first.status_code < 400, first.get_data(as_text=True)
    first.close()
    second = PER_USER[setting](a, group["id"], other)
    assert second.status_code == 429 and second.json["error"]["code"] == "rate_limited", setting
    assert int(second.headers["Retry-After"]) > 0
    third = PER_USER[setting](api(app, bob), group["id"], other)
    assert third.status_code != 429  # bob has his own counter
    third.close()


def test_ratelimit_enabled_off_turns_every_limit_off(make_app):
    app = make_app(RATELIMIT_ENABLED=False, RATE_LIMIT_GROUPS="1/minute", AUTH_RATE_LIMIT="1/minute",
                   RATE_LIMIT_SIGN_IN_ACCOUNT="1/minute")
    (alice,) = people(app, "alice")
    a = api(app, alice)
    assert [a.post("/conversations", json={"name": f"g{i}", "member_ids": []}).status_code
            for i in range(3)] == [201] * 3
    assert [guess(app, "alice") for _ in range(3)] == [401] * 3


# --- HSTS -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_hsts_only_in_production_over_https(make_app):
    production = make_app(CHAT_ENV="production")
    response = production.test_client().get("/login", base_url="https://chat.example")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in production.test_client().get("/login").headers  # plain http
    development = make_app(CHAT_ENV="development")
    response = development.test_client().get("/login", base_url="https://chat.example")
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_account_key_copes_with_odd_bodies(make_app):
    app = make_app(RATE_LIMIT_SIGN_IN_ACCOUNT="2/minute")
    client = app.test_client()
    for body in ('{"login": 5}', '["alice"]', "not json", '{"login": "\\u0000"}'):
        r = client.post("/api/v1/auth/token", data=body, content_type="application/json")
        assert r.status_code in (400, 401, 422, 429) and r.is_json, (body, r.status_code)


def test_search_is_limited_only_when_it_searches(make_app):
    app = make_app(RATE_LIMIT_SEARCH="2/minute")
    (alice,) = people(app, "alice")
    web = WebClient(app.test_client()).sign_in(alice)
    assert [web.get("/people?q=al", htmx=True, headers={"HX-Target": "people-results"}).status_code
            for _ in range(2)] == [200, 200]
    assert api(app, alice).get("/users?q=al").status_code == 429  # web and API share the counter
    r = web.get("/people?q=al", htmx=True, headers={"HX-Target": "people-results"})
    assert r.status_code == 429 and TOO_MANY in text(r)
    assert web.get("/people").status_code == 200  # the plain directory is not a search
