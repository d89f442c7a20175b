"""The Redis broker against a real redis-server the tests start (and stop) themselves."""
import time

import pytest
import redis

from chat.actions import conversations, live, messages
from chat.delivery.broker import BrokerUnavailable, CursorTooOld, EpochChanged
from chat.delivery.events import RESYNC, Delivery
from chat.delivery.presence import RedisPresence
from chat.delivery.redis_broker import RedisBroker

from .services import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
def own_redis():
    """A redis-server of this test's own, to stop and start."""
    server = RedisServer().start()
    yield server
    server.stop()


def make_broker(url, **options):
    broker = RedisBroker(url, **options)
    broker.start()
    deadline = time.monotonic() + 5
    while not broker.reader.connected:
        assert time.monotonic() < deadline, "the Pub/Sub reader did not connect"
        time.sleep(0.01)
    return broker


@pytest.fixture
def broker(redis_server):
    redis.Redis.from_url(redis_server.url).flushall()
    broker = make_broker(redis_server.url, log_length=50, queue_size=100)
    yield broker
    broker.stop()


def live_events(sub, count, timeout=5.0):
    found, deadline = [], time.monotonic() + timeout
    while len(found) < count:
        item = sub.get(max(0.01, deadline - time.monotonic()))
        assert item is not None or time.monotonic() < deadline, f"timed out with {found}"
        if item is not None and item is not RESYNC:
            found.append(item)
    return found


def row(row_id, *users, payload=None, conversation="c1"):
    payload = payload if payload is not None else {"seq": row_id}
    return (row_id, conversation, [Delivery(u, "message.created", payload, None) for u in users])


def test_publish_logs_for_each_recipient_and_sends_live(broker):
    sub = broker.subscribe("bob")
    broker.publish([row(1, "alice", "bob"), (2, "c1", [Delivery("bob", "conversation.updated",
                                                                {"id": "c1"}, {"unread_count": 3})])])
    first, second = live_events(sub, 2)
    assert (first.type, first.data, first.row, first.k) == ("message.created", {"seq": 1}, 1, 0)
    assert second.data == {"id": "c1", "unread_count": 3}
    epoch = broker.epoch()
    logged = broker.read_log("bob", epoch, "0-0")
    assert [(e.id, e.type, e.data) for e in logged] == [(e.id, e.type, e.data) for e in (first, second)]
    assert first.id == f"{epoch}:{first.entry}"
    assert [e.data for e in broker.read_log("alice", epoch, "0-0")] == [{"seq": 1}]


def test_a_row_published_twice_is_logged_and_sent_once(broker):
    sub = broker.subscribe("bob")
    broker.publish([row(7, "bob")])
    broker.publish([row(7, "bob")])
    assert len(live_events(sub, 1)) == 1
    time.sleep(0.2)
    assert sub.queue.empty()
    assert len(broker.read_log("bob", broker.epoch(), "0-0")) == 1


def test_publishing_is_one_round_trip_and_survives_a_flushed_script_cache(broker, redis_server):
    client = redis.Redis.from_url(redis_server.url)
    sub = broker.subscribe("bob")

    def calls(name):
        return client.info("commandstats").get(f"cmdstat_{name}", {}).get("calls", 0)

    broker.publish([row(1, "bob")])  # loads the script (a fresh Redis lacks it)
    client.config_resetstat()
    for row_id in range(2, 12):
        broker.publish([row(row_id, "bob"), row(row_id + 100, "bob")])
    assert calls("evalsha") == 20 and calls("script|exists") == 0 and calls("script|load") == 0
    client.script_flush()  # as a restarted Redis: the script is gone, the log is not
    broker.publish([row(12, "bob"), row(11, "bob")])  # row 11 was published already: it does nothing again
    assert calls("script|load") == 1
    got = live_events(sub, 22)
    assert [e.row for e in got] == [1] + [r for i in range(2, 12) for r in (i, i + 100)] + [12]
    time.sleep(0.2)
    assert sub.queue.empty()
    assert len(broker.read_log("bob", broker.epoch(), "0-0")) == 22


def test_shared_payloads_are_stored_once_per_row(broker, redis_server):
    payload = {"body": "x" * 1000}
    broker.publish([row(3, *[f"user{i}" for i in range(20)], payload=payload)])
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    assert client.keys("outbox:3:*") == ["outbox:3:0"]
    assert client.xlen("user:user5:events") == 1
    assert len(client.xrange("user:user5:events")[0][1]["b"]) < 20


def test_cursors_the_log_cannot_honour_are_refused(broker, redis_server):
    broker.publish([row(i, "bob") for i in range(1, 201)])
    epoch = broker.epoch()
    kept = [entry for entry, _ in redis.Redis.from_url(redis_server.url, decode_responses=True)
            .xrange("user:bob:events")]
    assert 50 <= len(kept) < 200  # trimmed to about log_length
    entries = broker.read_log("bob", epoch, kept[0], count=1000)
    assert [e.entry for e in entries] == kept[1:]
    with pytest.raises(CursorTooOld):
        broker.read_log("bob", epoch, "0-0")  # the oldest entries are gone
    with pytest.raises(CursorTooOld):
        broker.read_log("bob", epoch, "99999999999999-0")  # never written
    with pytest.raises(CursorTooOld):
        broker.read_log("nobody", epoch, "1-0")
    assert broker.read_log("nobody", epoch, "0-0") == []
    with pytest.raises(EpochChanged):
        broker.read_log("bob", "not-the-epoch", entries[-1].entry)
    redis.Redis.from_url(redis_server.url).delete(f"outbox:{entries[-1].row}:0")  # an expired payload
    with pytest.raises(CursorTooOld):
        broker.read_log("bob", epoch, entries[-2].entry)


def test_ephemeral_events_go_live_only(broker):
    sub = broker.subscribe("bob")
    broker.publish_ephemeral(["bob", "carol"], "typing", {"conversation_id": "c1", "user_id": "alice"})
    (event,) = live_events(sub, 1)
    assert (event.type, event.id, event.data["user_id"]) == ("typing", None, "alice")
    assert broker.read_log("bob", broker.epoch(), "0-0") == []


def test_redis_down_fails_fast_and_redis_back_resyncs_streams_with_a_new_epoch(own_redis):
    broker = make_broker(own_redis.url, socket_timeout=0.5)
    try:
        sub = broker.subscribe("bob")
        broker.publish([row(1, "bob")])
        live_events(sub, 1)
        old_epoch = broker.epoch()
        own_redis.stop()
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable):
            broker.publish([row(2, "bob")])
        with pytest.raises(BrokerUnavailable):
            broker.epoch()
        assert time.monotonic() - started < 3
        assert broker.health() == "down"
        own_redis.start()
        deadline = time.monotonic() + 10
        while sub.get(0.1) is not RESYNC:
            assert time.monotonic() < deadline, "no RESYNC after Redis came back"
        assert broker.health() == "ok"
        broker.publish([row(2, "bob")])
        (event,) = live_events(sub, 1)
        assert event.epoch != old_epoch and event.row == 2
    finally:
        broker.stop()


def test_reader_and_pool_use_a_bounded_number_of_connections(broker, redis_server):
    client = redis.Redis.from_url(redis_server.url)
    subs = [broker.subscribe(f"user{i}") for i in range(200)]
    for i in range(50):
        broker.publish([row(i + 1, *[f"user{j}" for j in range(0, 200, 7)])])
    for sub in subs:
        broker.unsubscribe(sub)
    names = [c for c in client.client_list() if c["cmd"] != "client|list"]
    assert len(names) <= 3  # the Pub/Sub reader and a pool connection or two
    assert sum(1 for c in names if int(c["sub"]) > 0) == 1


def test_presence_counts_tabs_across_processes_and_lapses(redis_server):
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    presence = RedisPresence(lambda: client)
    assert presence.connect("ann", "tab1", 30) is True
    assert presence.connect("ann", "tab2", 30) is False
    assert presence.statuses(["ann", "ben"]) == {"ann": "online", "ben": "offline"}
    presence.set_away("ann", True, 60)
    assert presence.statuses(["ann"]) == {"ann": "away"}
    presence.set_away("ann", False, 60)
    assert presence.disconnect("ann", "tab1") is False
    assert presence.disconnect("ann", "tab2") is True
    assert presence.statuses(["ann"]) == {"ann": "offline"}
    presence.connect("cy", "crashed-tab", 0.2)
    time.sleep(0.3)
    assert presence.expired_users() == ["cy"]
    assert presence.expired_users() == []
    assert presence.throttle("typing:c:ann", 1) is True
    assert presence.throttle("typing:c:ann", 1) is False


@pytest.fixture
def redis_app(app, redis_server):
    """The conftest app, delivering through Redis."""
    redis.Redis.from_url(redis_server.url).flushall()
    broker = make_broker(redis_server.url)
    app.extensions["chat.broker"] = broker
    app.extensions["chat.relay"].broker = broker
    yield app
    broker.stop()


def test_sends_reach_members_through_redis(redis_app, alice, bob, carol, dave):
    broker = redis_app.extensions["chat.broker"]
    group = conversations.create_group(alice["id"], "book-club", [bob["id"], carol["id"]])
    bob_sub, dave_sub = broker.subscribe(bob["id"]), broker.subscribe(dave["id"])
    for i in range(5):
        messages.send_message(alice["id"], group["id"], f"m{i}")
    events = []

    def views():  # the group's creation may still be arriving: its view has last_seq 0
        return [e.data["unread_count"] for e in events if e.type == "conversation.updated" and e.data["last_seq"]]
    while len(views()) < 5:
        events += live_events(bob_sub, 1)
    assert [e.data["seq"] for e in events if e.type == "message.created"] == [1, 2, 3, 4, 5]
    assert views() == [1, 2, 3, 4, 5]
    time.sleep(0.2)
    assert dave_sub.queue.empty()


def test_typing_reaches_the_other_members_once_per_throttle(redis_app, alice, bob, carol, api_as):
    broker = redis_app.extensions["chat.broker"]
    group = conversations.create_group(alice["id"], "book-club", [bob["id"]])
    bob_sub, alice_sub, carol_sub = (broker.subscribe(p["id"]) for p in (bob, alice, carol))
    assert live.typing(alice["id"], group["id"]) is True
    assert live.typing(alice["id"], group["id"]) is False  # throttled
    assert api_as(carol).post(f"/conversations/{group['id']}/typing").status_code == 404
    time.sleep(0.3)
    typing = {sub: [e for e in drain(sub) if e.type == "typing"] for sub in (bob_sub, alice_sub, carol_sub)}
    (event,) = typing[bob_sub]
    assert event.data == {"conversation_id": group["id"], "user_id": alice["id"], "expires_in": 6}
    assert typing[alice_sub] == typing[carol_sub] == []


def drain(sub):
    found = []
    while not sub.queue.empty():
        item = sub.queue.get_nowait()
        if item is not RESYNC:
            found.append(item)
    return found


def test_a_cursor_redis_refuses_means_reset_not_an_outage(broker):
    broker.publish([row(1, "bob")])
    epoch = broker.epoch()
    for refused in ("1_000-0", "18446744073709551616-0"):  # what the stream's own check now refuses first
        with pytest.raises(CursorTooOld, match="refused"):
            broker.read_log("bob", epoch, refused)


def test_namespaces_keep_databases_on_one_redis_apart(redis_server):
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    first, second = make_broker(redis_server.url, namespace="db-one"), make_broker(redis_server.url, namespace="db-two")
    try:
        subs = first.subscribe("bob"), second.subscribe("bob")
        first.publish([row(1, "bob", payload={"from": "one"})])
        second.publish([row(1, "bob", payload={"from": "two"})])  # the same outbox id, another database
        assert [e.data for e in live_events(subs[0], 1)] == [{"from": "one"}]
        assert [e.data for e in live_events(subs[1], 1)] == [{"from": "two"}]
        time.sleep(0.2)
        assert subs[0].queue.empty() and subs[1].queue.empty()
        assert first.epoch() != second.epoch()
        assert [e.data for e in second.read_log("bob", second.epoch(), "0-0")] == [{"from": "two"}]
        assert client.keys("outbox:*") == client.keys("user:*") == []
        assert {k.split(":")[0] for k in client.keys("*")} == {"db-one", "db-two"}
        first.presence.connect("bob", "tab", 30)
        assert second.presence.statuses(["bob"]) == {"bob": "offline"}
        assert first.presence.statuses(["bob"]) == {"bob": "online"}
    finally:
        first.stop()
        second.stop()


def test_big_payloads_are_kept_for_replay_only_briefly(redis_server):
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    broker = make_broker(redis_server.url, blob_seconds=3600, big_blob_bytes=1000, big_blob_seconds=60)
    try:
        sub = broker.subscribe("bob")
        broker.publish([row(1, "bob", payload={"body": "small"}), row(2, "bob", payload={"body": "é" * 600})])
        assert [e.data["body"][:1] for e in live_events(sub, 2)] == ["s", "é"]  # live: always whole
        assert 3500 < client.ttl("outbox:1:0") <= 3600
        assert 0 < client.ttl("outbox:2:0") <= 60  # 1,200 bytes of UTF-8 although 600 characters
        client.delete("outbox:2:0")  # what expiry does: a replay across it is a reset, never a gap
        with pytest.raises(CursorTooOld):
            broker.read_log("bob", broker.epoch(), "0-0")
    finally:
        broker.stop()


def test_an_unreachable_database_identity_is_an_outage_until_it_is_known(redis_server):
    answers = [RuntimeError("the database is restarting")] * 2 + ["db-late"]

    def namespace():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    broker = RedisBroker(redis_server.url, namespace=namespace)
    try:
        with pytest.raises(BrokerUnavailable, match="identity"):
            broker.epoch()
        with pytest.raises(redis.ConnectionError):
            broker.presence.statuses(["bob"])
        assert broker.epoch() and broker.keys.epoch == "db-late:chat:epoch"
        assert broker.presence.statuses(["bob"]) == {"bob": "offline"}
    finally:
        broker.stop()


def test_replies_are_parsed_by_hiredis(broker):
    """Parsing replies in Python took ~40 % of a stream resume's CPU (its catch-up from the log); the C parser
    is a dependency (``redis[hiredis]``), for the pooled command client and the Pub/Sub reader's own."""
    from redis._parsers import _HiredisParser
    for client in (broker.client(), broker.new_client()):
        client.ping()
        connection = client.connection_pool.get_connection()
        try:
            assert isinstance(connection._parser, _HiredisParser)
        finally:
            client.connection_pool.release(connection)


def test_a_resume_through_redis_reads_the_epoch_with_the_log_in_one_round_trip(redis_app, redis_server, alice,
                                                                               bob, api_as):
    from .test_events_api import open_stream

    broker = redis_app.extensions["chat.broker"]
    group = conversations.create_group(alice["id"], "pair", [bob["id"]])
    messages.send_message(alice["id"], group["id"], "seen")
    epoch = broker.epoch()
    deadline = time.monotonic() + 5
    while len(broker.read_log(bob["id"], epoch, "0-0")) < 3:  # added, then the message and its view
        assert time.monotonic() < deadline, "the relay did not publish"
        time.sleep(0.02)
    cursor = f"{epoch}:{broker.latest(bob['id'])}"
    for i in range(3):
        messages.send_message(alice["id"], group["id"], f"missed {i}")
    while len(broker.read_log(bob["id"], *cursor.split(":"))) < 6:
        assert time.monotonic() < deadline, "the relay did not publish"
        time.sleep(0.02)
    client = redis.Redis.from_url(redis_server.url)
    client.config_resetstat()
    response, reader = open_stream(api_as(bob), last_event_id=cursor)
    events = reader.events(6)
    response.close()
    assert [e["json"]["body"] for e in events if e["event"] == "message.created"] == [f"missed {i}" for i in range(3)]
    stats = client.info("commandstats")
    assert stats["cmdstat_get"]["calls"] == 1  # the epoch, in the pipeline that reads the log
    with pytest.raises(EpochChanged) as changed:
        broker.read_log(bob["id"], "another-epoch", "0-0")
    assert changed.value.epoch == epoch
    response, reader = open_stream(api_as(bob), last_event_id="another-epoch:" + cursor.split(":")[1])
    (reset,) = reader.events(1)
    response.close()
    assert reset["event"] == "reset" and reset["id"] == f"{epoch}:{broker.latest(bob['id'])}"
