"""Fixtures: the app on SQLite and on Postgres, people (alice, bob, carol, dave), conversations (``direct``:
alice and bob; ``book_club``: alice owns it, bob and carol are members), API clients, and ``record``: who
received which events."""
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from chat import create_app, migrations
from chat.actions import accounts, conversations
from chat.db import Database
from chat.delivery.events import CLOSE, RESYNC
from chat.schema import metadata

from .browser_support import (  # noqa: F401  (the browser tests' fixtures, for every module that asks)
    browser_fixture,
    chromium_path_fixture,
    new_page_fixture,
    server_fixture,
)
from .services import RedisServer, create_postgres_database

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "PASSWORD_HASH_COST": "fast",
    "RATELIMIT_ENABLED": False,
    "SESSION_COOKIE_SECURE": False,
    "TRUSTED_PROXIES": 0,
}


class IsolatedClient(FlaskClient):
    """A test client whose every request gets a fresh app context.

    Tests hold an app context open to call actions directly; without this, requests would reuse it and
    share ``g`` (and flask-login's cached user) with each other.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh Postgres database with every migration applied, dropped at the end of the session."""
    url, drop = create_postgres_database()
    db = Database(url.replace("postgresql://", "postgresql+psycopg://"))
    migrations.upgrade(db)
    db.dispose()
    yield url.replace("postgresql://", "postgresql+psycopg://")
    drop()


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


def _truncate_postgres(url):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f"public.{t.name}" for t in metadata.sorted_tables)
        conn.exec_driver_sql(f"truncate {names} restart identity cascade")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def app(backend, request, tmp_path):
    """The app on a fresh database of the parametrized backend."""
    config = dict(TEST_CONFIG, UPLOAD_FOLDER=str(tmp_path / "uploads"))
    if backend == "postgres":
        url = request.getfixturevalue("postgres_url")
        _truncate_postgres(url)
        config["DATABASE_URL"] = url
    else:
        config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'chat.sqlite3'}"
    app = create_app(config, instance_path=str(tmp_path / "instance"))  # never the checkout's instance/
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
    app.extensions["chat.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _person(username):
    return accounts.sign_up(f"{username}@example.com", username, "password123", username.title())


@pytest.fixture
def alice(app):
    return _person("alice")


@pytest.fixture
def bob(app):
    return _person("bob")


@pytest.fixture
def carol(app):
    return _person("carol")


@pytest.fixture
def dave(app):
    return _person("dave")


@pytest.fixture
def direct(alice, bob):
    """The direct conversation of alice and bob (as alice sees it)."""
    return conversations.open_direct(alice["id"], bob["id"])[0]


@pytest.fixture
def book_club(alice, bob, carol):
    """alice owns "book-club"; bob and carol are members."""
    return conversations.create_group(alice["id"], "book-club", [bob["id"], carol["id"]])


class Recorder:
    """Holds a live subscription for each person and hands back what each received since the last look."""

    def __init__(self, broker, *people):
        self.broker = broker
        self.subs = {p["id"]: broker.subscribe(p["id"]) for p in people}
        for person in people:  # as a stream would be, each counts as online (without announcing it)
            broker.presence.connect(person["id"], "recorder", 3600)

    def take(self, person):
        """The events ``person`` received since the last ``take`` (``Event``s: ``.type``, ``.data``)."""
        sub, found = self.subs[person["id"]], []
        while not sub.queue.empty():
            item = sub.queue.get_nowait()
            if item not in (RESYNC, CLOSE):
                found.append(item)
        return found

    def types(self, person):
        return [e.type for e in self.take(person)]

    def assert_nothing_for(self, *people):
        """Outsiders received nothing at all."""
        for person in people:
            assert self.take(person) == [], person["username"]


@pytest.fixture
def broker(app):
    return app.extensions["chat.broker"]


@pytest.fixture
def record(broker):
    """``rec = record(alice, dave)`` subscribes them now; ``rec.take(alice)`` is what alice received since."""
    return lambda *people: Recorder(broker, *people)


class Api:
    """A JSON API client signed in with a bearer token (or anonymous)."""

    def __init__(self, client, token=None):
        self.client, self.token = client, token

    def _headers(self, headers):
        merged = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        merged.update(headers or {})
        return merged

    def get(self, path, **kw):
        return self.client.get("/api/v1" + path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path, json=None, **kw):
        return self.client.post("/api/v1" + path, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, path, json=None, **kw):
        return self.client.patch("/api/v1" + path, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, path, **kw):
        return self.client.delete("/api/v1" + path, headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def api_as(app):
    """``api_as(user)`` is an API client with a fresh bearer token for ``user``; ``api_as(None)`` is anonymous."""
    def make(user):
        token = accounts.issue_token(user["id"]) if user else None
        return Api(app.test_client(), token)
    return make
