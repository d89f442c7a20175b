"""The issue's "Done when" for webhooks, end to end: gunicorn with 2 gevent workers (as the Procfile runs it),
real Postgres and Redis, and a receiver on loopback that checks every signature.

A conversation's messages, an edit and a reaction reach the receiver once each, in order; while the receiver
answers 500 and then refuses connections, later events wait behind the failing one and all arrive, in order,
when it is back; across a restart of the app (SIGTERM, a new server on the same database) nothing is lost or
reordered. A delivery the receiver acknowledged but the app could not record before it stopped would come
again with the same ``X-Chat-Delivery`` id, which a receiver drops; the test counts such repeats separately.
"""
import pytest
import sqlalchemy as sa

from chat.schema import outbox

from .live_support import Gunicorn, OwnDatabase, seed, wait_until
from .services import RedisServer
from .webhook_support import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

SETTINGS = {"CHAT_ENV": "development",  # loopback receivers are refused in production
            "WEBHOOK_RETRY_BASE_SECONDS": 0.2, "WEBHOOK_RETRY_MAX_SECONDS": 1.0, "WEBHOOK_TIMEOUT_SECONDS": 3.0}


@pytest.fixture
def world():
    database, redis_server, receiver = OwnDatabase(), RedisServer().start(), Receiver().start()
    servers = []
    try:
        people, groups = seed(database.url, [3])
        yield {"database": database, "redis": redis_server, "receiver": receiver, "servers": servers,
               "people": people, "group": groups[0]}
    finally:
        for server in servers:
            server.stop()
        receiver.stop()
        redis_server.stop()
        database.drop()


def start_server(world):
    server = Gunicorn(world["database"].url, world["redis"].url, settings=SETTINGS).start()
    world["servers"].append(server)
    return server


def unpublished(world):
    engine = sa.create_engine(world["database"].url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(outbox)
                                .where(outbox.c.published_at.is_(None))).scalar()
    finally:
        engine.dispose()


def distinct(receiver):
    """The accepted deliveries with repeats of a delivery id dropped, as a receiver would: (type, data)."""
    seen, kept = set(), []
    for delivery in list(receiver.accepted):
        if delivery["json"]["id"] not in seen:
            seen.add(delivery["json"]["id"])
            kept.append((delivery["json"]["type"], delivery["json"]["data"]))
    return kept


def test_every_event_once_in_order_across_an_outage_and_a_restart(world):
    receiver, owner = world["receiver"], world["people"][0]
    cid = world["group"]["id"]
    server = start_server(world)
    wait_until(lambda: unpublished(world) == 0, 60, "the group's own events to be published first")
    made = server.post(f"/conversations/{cid}/webhooks", owner["token"], {"url": receiver.url})
    assert made.status_code == 201, made.text
    receiver.secret = made.json()["secret"]
    expected = []

    def send(body):
        reply = server.post(f"/conversations/{cid}/messages", owner["token"], {"body": body})
        assert reply.status_code == 201, reply.text
        expected.append(("message.created", body))
        return reply.json()

    def arrived(count, what):
        wait_until(lambda: len(distinct(receiver)) >= count, 60, what)

    # 1. Messages, an edit and a reaction: each once, in order, signed.
    first = [send(f"m{i}") for i in range(10)]
    assert server.patch(f"/messages/{first[3]['id']}", owner["token"], {"body": "m3 edited"}).status_code == 200
    expected.append(("message.updated", "m3 edited"))
    assert server.request("PUT", f"/messages/{first[4]['id']}/reactions/%F0%9F%91%8D", owner["token"],
                          {}).status_code == 204
    expected.append(("reaction.added", "👍"))
    arrived(len(expected), "the first events")

    # 2. The receiver fails (500), then refuses connections; later events wait behind the failing one.
    receiver.mode = "fail"
    for i in range(4):
        send(f"during-500-{i}")
    wait_until(lambda: len(receiver.refused) >= 3, 60, "the failing delivery to be retried")
    receiver.stop()
    for i in range(3):
        send(f"while-down-{i}")

    def shows_refused():
        hooks = server.request("GET", f"/conversations/{cid}/webhooks", owner["token"], None).json()["webhooks"]
        return hooks[0]["failing_since"] is not None and "refused" in (hooks[0]["last_error"] or "")
    wait_until(shows_refused, 60, "the refused connection to show on the webhook")
    refused = {(d["json"]["type"], d["json"]["data"].get("body")) for d in receiver.refused}
    assert refused == {("message.created", "during-500-0")}  # nothing jumped the queue
    receiver.mode = "ok"
    receiver.start()
    arrived(len(expected), "the events held back during the outage")

    # 3. Restart the app in the middle of a burst: still everything, once, in order.
    for i in range(5):
        send(f"before-restart-{i}")
    server.stop()
    server = start_server(world)
    for i in range(5):
        send(f"after-restart-{i}")
    arrived(len(expected), "the events around the restart")

    got = distinct(receiver)
    shown = [(t, d["emoji"] if t == "reaction.added" else d["body"]) for t, d in got]
    assert shown == expected
    assert receiver.bad_signatures == []
    repeats = len(receiver.accepted) - len(got)
    assert repeats <= 1, f"{repeats} deliveries repeated"  # only one can be in flight when a worker stops
    hooks = server.request("GET", f"/conversations/{cid}/webhooks", owner["token"], None).json()["webhooks"]
    assert hooks[0]["failing_since"] is None and hooks[0]["last_status"] == 204
