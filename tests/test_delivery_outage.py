"""Never lost, only delayed: a Redis outage around a stream's opening (security S4), a page that carries
its position, and databases that share one Redis (each under its own identity).

Real parts throughout: the app on SQLite and Postgres, a redis-server of the test's own that it stops and
starts, and the streams read through Flask's client. The stream's generator runs only while the test
reads it, which makes the outage race deterministic: the relay publishes the backlog before the stream
gets a chance to resynchronize.
"""
import html
import re
import time

import pytest
import redis
import sqlalchemy as sa

from chat import create_app, migrations
from chat.actions import accounts, conversations, messages
from chat.db import Database
from chat.delivery import make_broker
from chat.delivery.instance import instance_id

from .conftest import TEST_CONFIG
from .services import RedisServer, create_postgres_database
from .test_live_sse import StreamReader
from .web_support import web_as_fixture  # noqa: F401  (fixture)

pytestmark = pytest.mark.redis


@pytest.fixture
def own_redis():
    server = RedisServer().start()
    yield server
    server.stop()


def wait_connected(broker):
    broker.start()
    deadline = time.monotonic() + 10
    while not broker.reader.connected:
        assert time.monotonic() < deadline, "the Pub/Sub reader did not connect"
        time.sleep(0.02)


@pytest.fixture
def outage_app(app, own_redis):
    """The conftest app delivering through a Redis of its own, named after the database, as in production."""
    app.config["SSE_HEARTBEAT_SECONDS"] = 0.2
    broker = make_broker({**app.config, "REDIS_URL": own_redis.url, "REDIS_SOCKET_TIMEOUT": 0.5},
                         app.extensions["chat.db"])
    app.extensions["chat.broker"] = broker
    app.extensions["chat.relay"].broker = broker
    wait_connected(broker)
    yield app
    broker.stop()


@pytest.fixture
def book_club(alice, bob):
    return conversations.create_group(alice["id"], "book-club", [bob["id"]])


def open_events(client, url, headers=None):
    response = client.get(url, headers=headers or {}, buffered=False)
    assert response.status_code == 200
    return response, StreamReader(response.response)


def created(reader, count, timeout=15):
    """The bodies of the next ``count`` message.created events; fails on a reset."""
    blocks = reader.read_blocks(lambda b: sum(1 for x in b if x["event"] == "message.created") >= count, timeout)
    assert [b for b in blocks if b["event"] == "reset"] == []
    return [b["data"] for b in blocks if b["event"] == "message.created"]


def test_a_stream_opened_during_an_outage_gets_what_the_relay_published_before_it_resynced(
        outage_app, own_redis, api_as, alice, bob, book_club):
    relay = outage_app.extensions["chat.relay"]
    messages.send_message(alice["id"], book_club["id"], "before the outage")  # the process knows the epoch
    own_redis.stop()
    token = accounts.issue_token(bob["id"])
    response, reader = open_events(outage_app.test_client(), "/api/v1/events",
                                   {"Authorization": f"Bearer {token}"})
    reader.read_blocks(lambda blocks: bool(blocks))  # 200 and retry: the stream is open, without a position
    sent = [messages.send_message(alice["id"], book_club["id"], f"during {i}")[0] for i in range(3)]
    own_redis.start()  # empty: a new life of the log
    assert relay.publish_pending() >= 3  # the backlog goes out before the stream looks again
    bodies = created(reader, 3)
    assert [f'"body":"{m["body"]}"' in body for m, body in zip(sent, bodies, strict=False)] == [True] * 3
    messages.send_message(alice["id"], book_club["id"], "after")
    assert '"body":"after"' in created(reader, 1)[0]  # and then live, nothing twice
    response.close()


def stream_url(page):
    match = re.search(r'sse-connect="([^"]+)"', page)
    assert match, "the page opens no stream"
    return html.unescape(match.group(1))


def test_a_page_carries_its_position_so_a_send_before_the_stream_opens_is_replayed(app, web_as, alice, bob,
                                                                                    book_club):
    browser = web_as(bob)
    url = stream_url(browser.get("/").get_data(as_text=True))
    assert "last_event_id=" in url
    message = messages.send_message(alice["id"], book_club["id"], "while the page loads")[0]
    response, reader = open_events(browser.client, url)
    blocks = reader.read_blocks(lambda b: any(f'id="message-{message["id"]}"' in (x["data"] or "") for x in b))
    assert [b for b in blocks if b["event"] == "reset"] == []
    response.close()
    # Without the position the stream starts at "now", after the message: that was the gap.
    response, reader = open_events(browser.client, "/events")
    assert not any(f'message-{message["id"]}' in (b["data"] or "") for b in reader.quiet(0.5))
    response.close()


def test_a_page_rendered_during_an_outage_replays_what_the_new_log_holds(outage_app, own_redis, web_as, alice,
                                                                          bob, book_club):
    messages.send_message(alice["id"], book_club["id"], "before the outage")
    browser = web_as(bob)
    own_redis.stop()
    url = stream_url(browser.get("/").get_data(as_text=True))
    assert re.search(r"last_event_id=(%3F|\?)[0-9a-f]+$", url)  # "position unknown", with the epoch last known
    message = messages.send_message(alice["id"], book_club["id"], "during the outage")[0]
    own_redis.start()
    outage_app.extensions["chat.relay"].publish_pending()
    response, reader = open_events(browser.client, url)
    blocks = reader.read_blocks(lambda b: any(f'id="message-{message["id"]}"' in (x["data"] or "") for x in b),
                                timeout=15)
    assert [b for b in blocks if b["event"] == "reset"] == []
    response.close()


# --- one Redis, several databases ------------------------------------------------------------------------

def fresh_app(backend, tmp_path, redis_url, name):
    config = dict(TEST_CONFIG, UPLOAD_FOLDER=str(tmp_path / name / "uploads"), REDIS_URL=redis_url)
    drop = None
    if backend == "postgres":
        url, drop = create_postgres_database()
        url = url.replace("postgresql://", "postgresql+psycopg://")
        db = Database(url)
        migrations.upgrade(db)
        db.dispose()
        config["DATABASE_URL"] = url
    else:
        config["DATABASE_URL"] = f"sqlite:///{tmp_path / name / 'chat.sqlite3'}"
    return create_app(config), drop


def test_two_fresh_databases_in_a_row_on_one_redis_both_deliver(backend, tmp_path, own_redis):
    identities = []
    for name in ("first", "second"):
        app, drop = fresh_app(backend, tmp_path, own_redis.url, name)
        broker = app.extensions["chat.broker"]
        try:
            with app.app_context():
                ann = accounts.sign_up("ann@example.com", "ann", "password123", "Ann")
                ben = accounts.sign_up("ben@example.com", "ben", "password123", "Ben")
                group = conversations.create_group(ann["id"], "pair", [ben["id"]])
                sub = broker.subscribe(ben["id"])
                wait_connected(broker)
                messages.send_message(ann["id"], group["id"], f"hello from the {name} database")
                found, deadline = [], time.monotonic() + 5
                while not any(getattr(e, "type", None) == "message.created" for e in found):
                    assert time.monotonic() < deadline, f"the {name} database's message never arrived"
                    item = sub.get(0.1)
                    if item is not None:
                        found.append(item)
                (event,) = [e for e in found if getattr(e, "type", None) == "message.created"]
                assert event.data["body"] == f"hello from the {name} database"
                identities.append(instance_id(app.extensions["chat.db"]))
        finally:
            broker.stop()
            app.extensions["chat.db"].dispose()
            if drop is not None:
                drop()
    assert identities[0] != identities[1]
    names = redis.Redis.from_url(own_redis.url, decode_responses=True).keys("*")
    assert {n.split(":")[0] for n in names} == set(identities)  # nothing outside the two namespaces


def test_the_identity_is_made_once_and_kept(app):
    db = app.extensions["chat.db"]
    first = instance_id(db)
    assert instance_id(db) == first
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from chat_instance")).scalar() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_only_the_server_reads_the_identity(postgres_url, role):
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"set role {role}")
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.exec_driver_sql("select id from public.chat_instance")
            conn.rollback()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("select relrowsecurity from pg_class where relname = 'chat_instance'").scalar()
    finally:
        engine.dispose()
