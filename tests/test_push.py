"""Web Push end to end: a push service stand-in on loopback decrypts what the app sends and checks its signature.

The receiver holds what a browser would: a P-256 key pair and a 16-byte auth secret per subscription. It
decrypts each push (RFC 8291, ``aes128gcm``) with http_ece and verifies the VAPID JWT (RFC 8292) with the
app's public key, its audience (the receiver's origin) and its expiry. Messages are sent through the real
actions, published by the real relay (its publish hook writes the work rows), and pushed by the sender
that the relay's sweep runs (``send_due``), on SQLite and Postgres.
"""
import base64
import json
import os
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chat import create_app
from chat.actions import messages, push
from chat.db import transaction
from chat.delivery import presence_hooks
from chat.delivery import push as sender
from chat.schema import memberships, push_deliveries, push_subscriptions, utcnow

from .conftest import TEST_CONFIG


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """What a browser keeps for one push subscription: its ECDH key pair and auth secret."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscription(self):
        public = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64(public), "auth": b64(self.auth)}}

    def decrypt(self, body):
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


class Receiver:
    """A threaded HTTP server on 127.0.0.1 standing in for a push service."""

    def __init__(self):
        self.received = []  # (path, headers, body)
        self.answers = {}   # path -> [status, …] answered in turn (then 201)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    queue = receiver.answers.get(self.path) or []
                    status = queue.pop(0) if queue else 201
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def browser(self, name):
        return Browser(f"{self.origin}/push/{name}")

    def to(self, browser):
        path = browser.endpoint[len(self.origin):]
        with self.lock:
            return [(headers, body) for p, headers, body in self.received if p == path]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def pushing(app):
    """The app as a server runs it, but without waiting PUSH_OFFLINE_SECONDS after a stream closes."""
    app.config["PUSH_OFFLINE_SECONDS"] = 0
    return app


def subscribe(user, browser):
    push.subscribe(user["id"], browser.subscription()["endpoint"], browser.subscription()["keys"])


def check_vapid(app, receiver, headers):
    """The Authorization header is RFC 8292's, signed with the app's key, for this origin, not expired."""
    scheme, _, params = headers["authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert parts["k"] == app.config["VAPID_PUBLIC_KEY"]
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(app.config["VAPID_PUBLIC_KEY"]))
    claims = jwt.decode(parts["t"], public, algorithms=["ES256"], audience=receiver.origin)
    assert claims["exp"] > time.time() and claims["sub"] == app.config["VAPID_SUBJECT"]
    assert headers["content-encoding"] == "aes128gcm" and int(headers["ttl"]) > 0


def test_a_message_reaches_a_member_with_no_stream_once_encrypted_and_signed(pushing, receiver, alice, bob, direct):
    bobs, alices = receiver.browser("bob"), receiver.browser("alice")
    subscribe(bob, bobs)
    subscribe(alice, alices)
    message, _ = messages.send_message(alice["id"], direct["id"], "Lunch at **noon**? " + "x" * 300)

    assert sender.send_due() == {"sent": 1}
    (headers, body), = receiver.to(bobs)
    check_vapid(pushing, receiver, headers)
    data = bobs.decrypt(body)
    assert set(data) == {"conversation_id", "message_id", "seq", "title", "body", "url"}
    assert (data["conversation_id"], data["message_id"], data["seq"]) == (direct["id"], message["id"], 1)
    assert data["title"] == "Alice"
    assert data["body"].startswith("Lunch at **noon**? xxx") and len(data["body"]) == 200
    assert data["url"].startswith(f"/c/{direct['id']}") and data["url"].endswith(f"#message-{message['id']}")
    assert headers["topic"] == message["id"].replace("-", "")
    assert receiver.to(alices) == []  # never your own message

    assert sender.send_due() == {}  # sent once: nothing is due again
    with transaction() as conn:
        row = conn.execute(sa.select(push_deliveries)).one()
        seen = conn.execute(sa.select(push_subscriptions.c.last_success_at)
                            .where(push_subscriptions.c.user_id == bob["id"])).scalar_one()
    assert (row.outcome, row.attempts) == ("sent", 1) and seen is not None
    assert len(receiver.to(bobs)) == 1


def test_a_group_message_names_the_group_and_every_subscribed_browser_gets_it(pushing, receiver, alice, bob, carol,
                                                                                book_club):
    phone, laptop, carols = receiver.browser("bob-phone"), receiver.browser("bob-laptop"), receiver.browser("carol")
    for person, browser in ((bob, phone), (bob, laptop), (carol, carols)):
        subscribe(person, browser)
    messages.send_message(alice["id"], book_club["id"], "Chapter 3 tonight")
    assert sender.send_due() == {"sent": 3}
    for browser in (phone, laptop, carols):
        (_, body), = receiver.to(browser)
        data = browser.decrypt(body)
        assert (data["title"], data["body"]) == ("Alice in book-club", "Chapter 3 tonight")


def _set_notify(conversation, user, level):
    with transaction() as conn:
        conn.execute(memberships.update().where(memberships.c.conversation_id == conversation["id"],
                                                memberships.c.user_id == user["id"]).values(notify=level))


def test_levels_decide_who_is_pushed(pushing, receiver, alice, bob, carol, dave, book_club):
    from chat.actions import members
    members.add_member(alice["id"], book_club["id"], dave["id"])
    muted, picky, chatty = receiver.browser("bob"), receiver.browser("carol"), receiver.browser("dave")
    for person, browser in ((bob, muted), (carol, picky), (dave, chatty)):
        subscribe(person, browser)
    _set_notify(book_club, bob, "none")
    _set_notify(book_club, carol, "mentions")

    messages.send_message(alice["id"], book_club["id"], "chatter")
    assert sender.send_due() == {"sent": 1}
    assert [b.decrypt(body)["body"] for b in (chatty,) for _, body in receiver.to(b)] == ["chatter"]
    assert receiver.to(muted) == [] and receiver.to(picky) == []

    mention, _ = messages.send_message(alice["id"], book_club["id"], "@carol @bob look")
    assert set(mention["mentions"]) == {carol["id"], bob["id"]}  # stored by the send, read by the push
    assert sender.send_due() == {"sent": 2}  # carol (mentioned) and dave (all); bob's "none" wins over a mention
    assert [picky.decrypt(body)["body"] for _, body in receiver.to(picky)] == ["@carol @bob look"]
    assert receiver.to(muted) == [] and len(receiver.to(chatty)) == 2


def test_a_member_with_an_open_stream_gets_no_push(pushing, receiver, alice, bob, direct):
    bobs = receiver.browser("bob")
    subscribe(bob, bobs)
    token = presence_hooks.stream_opened(bob["id"])
    messages.send_message(alice["id"], direct["id"], "you are here")
    assert sender.send_due() == {"skipped": 1}
    presence_hooks.stream_closed(bob["id"], token)
    assert sender.send_due(now=utcnow() + timedelta(hours=1)) == {}  # decided: it was shown on the stream
    assert receiver.to(bobs) == []


def test_a_stream_closed_moments_ago_is_waited_for(app, receiver, alice, bob, direct):
    app.config["PUSH_OFFLINE_SECONDS"] = 30
    bobs = receiver.browser("bob")
    subscribe(bob, bobs)
    presence_hooks.stream_closed(bob["id"], presence_hooks.stream_opened(bob["id"]))
    messages.send_message(alice["id"], direct["id"], "still there?")
    assert sender.send_due() == {"waiting": 1}
    assert sender.send_due() == {}  # not due again until 30 s after the stream closed
    assert sender.send_due(now=utcnow() + timedelta(seconds=31)) == {"sent": 1}
    assert [bobs.decrypt(body)["body"] for _, body in receiver.to(bobs)] == ["still there?"]


def test_a_gone_endpoint_is_forgotten(pushing, receiver, alice, bob, direct):
    old, current = receiver.browser("old"), receiver.browser("current")
    subscribe(bob, old)
    subscribe(bob, current)
    receiver.answers["/push/old"] = [410]
    messages.send_message(alice["id"], direct["id"], "hello")
    assert sender.send_due() == {"gone": 1, "sent": 1}
    with transaction() as conn:
        left = conn.execute(sa.select(push_subscriptions.c.endpoint)).scalars().all()
        work = conn.execute(sa.select(sa.func.count()).select_from(push_deliveries)).scalar_one()
    assert left == [current.endpoint] and work == 1
    messages.send_message(alice["id"], direct["id"], "again")
    assert sender.send_due() == {"sent": 1} and len(receiver.to(old)) == 1


def test_failures_are_retried_with_backoff_and_a_restarted_sender_never_sends_twice(
        pushing, receiver, alice, bob, direct, tmp_path):
    flaky, steady = receiver.browser("flaky"), receiver.browser("steady")
    subscribe(bob, flaky)
    subscribe(bob, steady)
    receiver.answers["/push/flaky"] = [500, 429]
    messages.send_message(alice["id"], direct["id"], "one")
    assert sender.send_due() == {"retry": 1, "sent": 1}
    assert sender.send_due() == {}  # the retry waits PUSH_RETRY_SECONDS

    # A new process on the same database and instance folder (the same keys) takes over.
    config = dict(TEST_CONFIG, DATABASE_URL=pushing.config["DATABASE_URL"], PUSH_OFFLINE_SECONDS=0,
                  UPLOAD_FOLDER=pushing.config["UPLOAD_FOLDER"])
    restarted = create_app(config, instance_path=pushing.instance_path)
    assert restarted.config["VAPID_PRIVATE_KEY"] == pushing.config["VAPID_PRIVATE_KEY"]
    try:
        with restarted.app_context():
            later = utcnow() + timedelta(seconds=31)
            assert sender.send_due(now=later) == {"retry": 1}  # 429: the second delay is twice the first
            assert sender.send_due(now=later + timedelta(seconds=31)) == {}
            assert sender.send_due(now=later + timedelta(seconds=61)) == {"sent": 1}
            assert sender.send_due(now=later + timedelta(days=1)) == {}
    finally:
        restarted.extensions["chat.db"].dispose()
    assert len(receiver.to(steady)) == 1
    assert [flaky.decrypt(body)["body"] for _, body in receiver.to(flaky)] == ["one", "one", "one"]
    with transaction() as conn:
        rows = conn.execute(sa.select(push_deliveries.c.outcome, push_deliveries.c.attempts)
                            .order_by(push_deliveries.c.attempts)).all()
    assert [tuple(r) for r in rows] == [("sent", 1), ("sent", 3)]


def test_a_push_that_keeps_failing_is_given_up(pushing, receiver, alice, bob, direct):
    pushing.config["PUSH_MAX_ATTEMPTS"] = 2
    broken = receiver.browser("broken")
    subscribe(bob, broken)
    receiver.answers["/push/broken"] = [503, 503, 503]
    messages.send_message(alice["id"], direct["id"], "hello?")
    assert sender.send_due() == {"retry": 1}
    assert sender.send_due(now=utcnow() + timedelta(minutes=5)) == {"failed": 1}
    assert sender.send_due(now=utcnow() + timedelta(days=1)) == {}
    assert len(receiver.to(broken)) == 2


def test_system_and_deleted_messages_are_not_pushed(pushing, receiver, alice, bob, direct):
    bobs = receiver.browser("bob")
    subscribe(bob, bobs)
    message, _ = messages.send_message(alice["id"], direct["id"], "oops")
    messages.delete_message(alice["id"], message["id"])
    assert sender.send_due() == {"skipped": 1}
    assert receiver.to(bobs) == []


def test_a_browser_that_changed_hands_notifies_only_its_new_owner(pushing, receiver, alice, bob, carol, book_club):
    shared = receiver.browser("shared")
    subscribe(bob, shared)
    subscribe(carol, shared)  # carol signed in on bob's old browser
    messages.send_message(alice["id"], book_club["id"], "hi all")
    assert sender.send_due() == {"sent": 1}
    with transaction() as conn:
        owners = conn.execute(sa.select(push_subscriptions.c.user_id)).scalars().all()
    assert [str(o) for o in owners] == [carol["id"]]


def test_the_test_notification_arrives(pushing, receiver, alice):
    phone = receiver.browser("phone")
    subscribe(alice, phone)
    assert push.send_test(alice["id"]) == {"sent": 1, "gone": 0, "failed": 0}
    (headers, body), = receiver.to(phone)
    check_vapid(pushing, receiver, headers)
    assert phone.decrypt(body)["body"] == "Notifications work on this device."


@pytest.mark.redis
def test_last_seen_follows_streams_in_memory_and_in_redis(redis_server):
    import redis

    from chat.delivery.presence import MemoryPresence, RedisPresence
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    for presence in (MemoryPresence(), RedisPresence(lambda: client)):
        assert presence.last_seen(["ann"]) == {"ann": None}
        before = time.time()
        presence.connect("ann", "tab1", 30)
        assert presence.last_seen(["ann"])["ann"] >= before  # live: now
        presence.disconnect("ann", "tab1")
        closed = presence.last_seen(["ann"])["ann"]
        assert before <= closed <= time.time()
        time.sleep(0.01)
        assert presence.last_seen(["ann", "ben"]) == {"ann": closed, "ben": None}  # closed: when it closed


@pytest.mark.redis
def test_streams_counted_in_redis_hold_pushes_back(pushing, receiver, redis_server, alice, bob, direct):
    import redis

    from chat.delivery import make_broker
    redis.Redis.from_url(redis_server.url).flushall()
    broker = make_broker({**pushing.config, "REDIS_URL": redis_server.url})
    pushing.extensions["chat.broker"] = broker
    pushing.extensions["chat.relay"].broker = broker
    try:
        bobs = receiver.browser("bob")
        subscribe(bob, bobs)
        token = presence_hooks.stream_opened(bob["id"])
        messages.send_message(alice["id"], direct["id"], "seen live")
        assert sender.send_due() == {"skipped": 1}
        presence_hooks.stream_closed(bob["id"], token)
        messages.send_message(alice["id"], direct["id"], "pushed")
        assert sender.send_due() == {"sent": 1}
        assert [bobs.decrypt(body)["body"] for _, body in receiver.to(bobs)] == ["pushed"]
    finally:
        broker.stop()


def test_a_running_server_pushes_from_its_own_thread_after_the_request(app, receiver, alice, bob, direct, tmp_path):
    """Outside tests the relay publishes in the background and its sweep wakes the push thread."""
    from chat import delivery
    config = dict(TEST_CONFIG, DATABASE_URL=app.config["DATABASE_URL"], UPLOAD_FOLDER=str(tmp_path / "up"),
                  DELIVERY_SYNC=False, RELAY_INTERVAL=0.05, PUSH_OFFLINE_SECONDS=0)
    server = create_app(config, instance_path=app.instance_path)
    bobs = receiver.browser("bob")
    try:
        with server.app_context():
            subscribe(bob, bobs)
            delivery.start(server)
            messages.send_message(alice["id"], direct["id"], "from the sweep")
            deadline = time.monotonic() + 30
            while not receiver.to(bobs) and time.monotonic() < deadline:
                time.sleep(0.05)
            delivery.stop(server)
    finally:
        server.extensions["chat.db"].dispose()
    assert [bobs.decrypt(body)["body"] for _, body in receiver.to(bobs)] == ["from the sweep"]


def test_the_settings_button_sends_a_test_notification(pushing, receiver, alice):
    from .web_support import WebClient, text
    phone, gone = receiver.browser("phone"), receiver.browser("gone")
    subscribe(alice, phone)
    subscribe(alice, gone)
    receiver.answers["/push/gone"] = [404]
    browser = WebClient(pushing.test_client()).sign_in(alice)
    response = browser.post("/settings/push/test")
    assert response.status_code == 303 and "done=push-test" in response.headers["Location"]
    page = text(browser.get(response.headers["Location"]))
    assert "A test notification is on its way to 1 device." in page and "1 device could not be reached." in page
    assert "1 device of yours is set to receive notifications." in page  # the gone one was forgotten
    (_, body), = receiver.to(phone)
    assert phone.decrypt(body)["title"] == "Chat"
