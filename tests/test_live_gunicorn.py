"""Live delivery through a real gunicorn with 2 gevent workers, real Postgres and a Redis of our own.

What must hold (issue 3): every member gets every message once, in order, through both workers; a
stream resumes with exactly what it missed; a Redis outage delays messages but loses none and fails no
send; a worker's SIGTERM moves its clients to the other worker without loss; a client that stops reading
is cut off without hurting anyone; thousands of connects leave no Redis connections or greenlets behind.
"""
import itertools
import os
import signal
import socket
import struct
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from .live_support import Gunicorn, Listener, OwnDatabase, close_all, listen, seed, wait_until
from .services import RedisServer

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

GROUPS = 5
GROUP_SIZE = 10
OUTSIDERS = 2


@pytest.fixture(scope="module")
def world():
    """50 people in 5 groups of 10 (and 2 outsiders), a Redis of our own, and gunicorn serving them."""
    database = OwnDatabase()
    redis_server = RedisServer().start()
    server = None
    try:
        people, groups = seed(database.url, [GROUP_SIZE] * GROUPS, outsiders=OUTSIDERS)
        server = Gunicorn(database.url, redis_server.url).start()
        yield {"server": server, "redis": redis_server, "people": people, "groups": groups, "database": database.url}
    finally:
        if server is not None:
            server.stop()
        redis_server.stop()
        database.drop()


class Senders:
    """Threads that send messages round-robin over groups (with a client_id, retried on connection errors)."""

    def __init__(self, world, groups, threads=6):
        self.world, self.groups, self.threads = world, groups, threads
        self.sent = {g["id"]: [] for g in groups}   # conversation -> seqs acknowledged
        self.durations, self.failures = [], []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._turn = itertools.count()

    def send_one(self, body="hello"):
        group = self.groups[next(self._turn) % len(self.groups)]
        members = group["members"]
        sender = self.world["people"][members[next(self._turn) % len(members)]]
        started = time.monotonic()
        try:
            response = self.world["server"].post(f"/conversations/{group['id']}/messages", sender["token"],
                                                 {"body": body, "client_id": uuid.uuid4().hex})
        except Exception as error:
            with self._lock:
                self.failures.append(repr(error))
            return
        with self._lock:
            self.durations.append(time.monotonic() - started)
            if response.status_code in (200, 201):
                self.sent[group["id"]].append(response.json()["seq"])
            else:
                self.failures.append((response.status_code, response.text[:200]))

    def send(self, count, body="hello"):
        with ThreadPoolExecutor(self.threads) as pool:
            list(pool.map(lambda _: self.send_one(body), range(count)))

    def start(self, pause=0.0):
        def loop():
            while not self._stop.is_set():
                self.send_one()
                time.sleep(pause)
        self._workers = [threading.Thread(target=loop, daemon=True) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()

    def stop(self):
        self._stop.set()
        for worker in self._workers:
            worker.join(15)

    def expected(self, conversation_id):
        return sorted(self.sent[conversation_id])


def group_of(world, person):
    return next(g for g in world["groups"] if person in g["members"])


def assert_everyone_got_everything(world, listeners, senders, timeout=60):
    """Each listener received every acknowledged message of its group once, in seq order, and no other."""
    expected = {g["id"]: senders.expected(g["id"]) for g in world["groups"]}
    targets = {i: len(expected[group_of(world, i)["id"]]) for i in listeners if i < GROUPS * GROUP_SIZE}

    def done():
        return all(listeners[i].created_count() >= count for i, count in targets.items())
    wait_until(done, timeout, "every member to receive every message")
    time.sleep(0.5)  # anything extra (a duplicate) would arrive now
    for i, listener in listeners.items():
        if i >= GROUPS * GROUP_SIZE:
            assert listener.events == [], "an outsider received events"
            continue
        assert listener.created() == expected[group_of(world, i)["id"]], f"person {i}"
        assert listener.of_type("reset") == []


def listen_through_both_workers(server, people, indexes, tries=5):
    """``listen``, until both workers hold some of the streams: which worker accepts a connection is the
    kernel's choice, and one that is busy for a moment (starting up) can leave the other with all of them."""
    for _ in range(tries):
        listeners = listen(server, people, indexes)
        stats = server.stats()
        if len(stats) == 2 and all(s["streams"] > 0 for s in stats.values()):
            return listeners
        close_all(listeners)
        wait_until(lambda: sum(s["streams"] for s in server.stats().values()) == 0, 15, "the streams to close")
    raise AssertionError(f"one worker accepted every stream {tries} times: {stats}")


def test_every_member_gets_every_message_once_in_order_through_both_workers(world):
    everyone = range(GROUPS * GROUP_SIZE + OUTSIDERS)
    listeners = listen_through_both_workers(world["server"], world["people"], everyone)
    try:
        senders = Senders(world, world["groups"], threads=8)
        started = time.monotonic()
        senders.send(2000)
        print(f"2,000 sends in {time.monotonic() - started:.1f} s")
        assert senders.failures == []
        assert sum(len(s) for s in senders.sent.values()) == 2000
        assert_everyone_got_everything(world, listeners, senders)
        elapsed = time.monotonic() - started
        print(f"2,000 messages to 50 streams in {elapsed:.1f} s")
        for i in range(GROUPS * GROUP_SIZE):  # each got its own view after each message
            views = listeners[i].of_type("conversation.updated")
            assert views and views[-1]["id"] == group_of(world, i)["id"]
    finally:
        close_all(listeners)


def test_a_closed_stream_resumes_with_exactly_what_it_missed(world):
    people, group = world["people"], world["groups"][0]
    reader, writer = people[group["members"][1]], people[group["members"][0]]
    server = world["server"]
    tab = Listener(server.port, reader["token"], reconnect=False)
    other_tab = Listener(server.port, reader["token"])  # stays open throughout: the reference
    for listener in (tab, other_tab):
        listener.start()
        assert listener.opened.wait(10)
    seen = server.post(f"/conversations/{group['id']}/messages", writer["token"], {"body": "seen"}).json()
    wait_until(lambda: seen["seq"] in tab.created() and seen["seq"] in other_tab.created(), 10, "a first message")
    last_id = tab.last_id
    tab.close()

    sent = [server.post(f"/conversations/{group['id']}/messages", writer["token"], {"body": f"missed {i}"}).json()
            for i in range(100)]
    edited = [sent[i * 10]["id"] for i in range(9)] + [sent[-1]["id"]]
    for message_id in edited:
        assert server.patch(f"/messages/{message_id}", writer["token"], {"body": "edited"}).status_code == 200
    wait_until(lambda: len(other_tab.of_type("message.updated")) == 10, 20, "the edits to reach the open tab")
    time.sleep(0.5)
    other_tab.close()
    logged = other_tab.logged()  # typing and presence are live only, never replayed
    missed = logged[[i for _, i, _ in logged].index(last_id) + 1:]

    resumed = Listener(server.port, reader["token"], last_event_id=last_id, reconnect=False)
    resumed.start()
    wait_until(lambda: len(resumed.logged()) >= len(missed), 20, "the missed events")
    time.sleep(0.5)
    resumed.close()
    assert resumed.logged() == missed  # the same events, ids, data and order; nothing more
    assert resumed.created() == [m["seq"] for m in sent]
    assert [d["id"] for d in resumed.of_type("message.updated")] == edited
    assert resumed.of_type("conversation.updated")[-1]["last_message"]["body"] == "edited"


def test_a_redis_outage_delays_messages_but_loses_none_and_fails_no_send(world):
    listeners = listen(world["server"], world["people"], range(GROUPS * GROUP_SIZE))
    senders = Senders(world, world["groups"], threads=4)
    try:
        senders.start(pause=0.02)
        time.sleep(1.0)
        world["redis"].stop()
        time.sleep(3.0)
        during = sum(len(s) for s in senders.sent.values())
        world["redis"].start()
        time.sleep(2.0)
        senders.stop()
        assert senders.failures == []
        assert max(senders.durations) < 2.0, f"a send took {max(senders.durations):.2f} s"
        assert during > 50
        assert_everyone_got_everything(world, listeners, senders, timeout=60)
        assert all(listener.connects == 1 for listener in listeners.values())  # streams rode it out
    finally:
        senders.stop()
        close_all(listeners)


def test_sigterm_moves_a_workers_clients_to_another_and_they_miss_nothing(world):
    server = world["server"]
    listeners = listen(server, world["people"], range(GROUPS * GROUP_SIZE))
    senders = Senders(world, world["groups"], threads=4)
    try:
        wait_until(lambda: sum(s["streams"] for s in server.stats().values()) == len(listeners), 10,
                   "streams closed by earlier tests to be noticed")
        stats = server.stats()
        victim = max(stats, key=lambda pid: stats[pid]["streams"])
        moved = stats[victim]["streams"]
        senders.start(pause=0.02)
        time.sleep(1.0)
        os.kill(victim, signal.SIGTERM)
        wait_until(lambda: victim not in server.worker_pids(), 15, "the worker to exit")
        time.sleep(1.0)
        senders.stop()
        assert senders.failures == []
        assert_everyone_got_everything(world, listeners, senders)
        assert sum(1 for listener in listeners.values() if listener.connects > 1) == moved
        wait_until(lambda: len(server.worker_pids()) == 2, 30, "gunicorn to replace the worker")
    finally:
        senders.stop()
        close_all(listeners)


def test_a_client_that_stops_reading_is_cut_off_without_slowing_others(world):
    server, people, group = world["server"], world["people"], world["groups"][1]
    slow_index, fast_index = group["members"][1], group["members"][2]
    wait_until(lambda: sum(s["streams"] for s in server.stats().values()) == 0, 10,
               "streams closed by earlier tests to be noticed")
    before = server.stats()
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", server.port))
    slow.sendall(f"GET /api/v1/events HTTP/1.0\r\nAuthorization: Bearer {people[slow_index]['token']}\r\n\r\n"
                 .encode())
    assert b" 200 " in slow.recv(1024).split(b"\r\n")[0]  # and then it reads nothing more
    fast = listen(server, people, [fast_index])
    senders = Senders(world, [group], threads=4)
    try:
        started = time.monotonic()
        senders.send(200, body="x" * 3000)
        sent_in = time.monotonic() - started
        wait_until(lambda: len(fast[fast_index].created()) == 200, 10, "the fast reader")
        caught_up = time.monotonic() - started
        assert caught_up < sent_in + 2.0, (sent_in, caught_up)

        wait_until(lambda: sum(s["streams"] for s in server.stats().values()) == 1, 10,
                   "the fast stream alone to be held (the slow one cut off)")
        after = server.stats()
        growth = max(after[pid]["rss_kb"] - before[pid]["rss_kb"] for pid in after if pid in before)
        assert growth < 40_000, f"a worker grew by {growth} KB"
        slow.setblocking(False)
        wait_until(lambda: _closed(slow), 10, "the server to cut the slow client off")
    finally:
        slow.close()
        close_all(fast)


def _closed(sock):
    """Drain what the server managed to send; True once it has closed the connection."""
    try:
        while True:
            if not sock.recv(1 << 20):
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_connect_disconnect_cycles_leave_no_connections_or_greenlets_behind(world):
    server, people = world["server"], world["people"]
    client = redis.Redis.from_url(world["redis"].url)

    def cycle(i):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            token = people[i % len(people)]["token"]
            sock.sendall(f"GET /api/v1/events HTTP/1.0\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
            data = b""
            while b"retry:" not in data:
                chunk = sock.recv(4096)
                assert chunk, "the stream closed before its first byte"
                data += chunk
        finally:
            sock.close()

    def redis_clients():
        return sum(1 for c in client.client_list() if c.get("cmd") != "client|list")

    def snapshot():
        return server.stats(), redis_clients()

    def back_to(before):
        """Whether every worker holds no stream, and no more greenlets, descriptors or Redis
        connections than before (a request in flight may briefly hold one or two)."""
        def check():
            stats, connections = snapshot()
            check.last = stats, connections
            return connections <= before[1] and all(
                s["streams"] == 0 and s["greenlets"] <= before[0][pid]["greenlets"] + 2
                and s["fds"] <= before[0][pid]["fds"] + 2 for pid, s in stats.items())
        return check

    def run(count):
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(cycle, range(count)))

    run(100)  # warm up: every lazily made thing exists
    wait_until(lambda: all(s["streams"] == 0 for s in server.stats().values()), 20, "the warm-up streams to close")
    time.sleep(1.5)  # and idle pooled Redis connections to be closed (every REDIS_IDLE_SECONDS, 1 s here)
    before = snapshot()
    started = time.monotonic()
    run(2000)
    print(f"2,000 connect/disconnect cycles in {time.monotonic() - started:.1f} s")
    settled = back_to(before)
    try:
        wait_until(settled, 30, "streams, greenlets, descriptors and Redis connections to come back", interval=1)
    except AssertionError:
        raise AssertionError(f"before {before}, after {settled.last}") from None


def test_a_stream_whose_client_hangs_up_ends_at_once_not_at_its_next_heartbeat(world):
    # Heartbeats 20 s apart: only noticing the hang-up itself can end these streams within seconds.
    server = Gunicorn(world["database"], world["redis"].url, workers=1,
                      settings={"SSE_HEARTBEAT_SECONDS": 20}).start()
    try:
        socks = []
        for person in world["people"][:10]:
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(f"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n"
                         f"Authorization: Bearer {person['token']}\r\n\r\n".encode())
            data = b""
            while b"retry:" not in data:
                chunk = sock.recv(4096)
                assert chunk, "the stream closed before its first byte"
                data += chunk
            socks.append(sock)
        assert sum(s["streams"] for s in server.stats().values()) == 10
        started = time.monotonic()
        for i, sock in enumerate(socks):
            if i % 2:  # a network failure: reset
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # else a closed tab: FIN
        wait_until(lambda: sum(s["streams"] for s in server.stats().values()) == 0, 5,
                   "the hung-up streams to end")
        assert time.monotonic() - started < 5
    finally:
        server.stop()


def test_each_worker_leaves_its_startup_objects_out_of_garbage_collection(world):
    # Modules, the app and its tables: a full collection that walked them took 50-80 ms, a pause felt by
    # every request and stream write of the worker (server.freeze_startup_objects).
    stats = world["server"].stats()
    assert len(stats) == 2
    for pid, s in stats.items():
        assert s["gc_frozen"] > 50_000, f"worker {pid} froze {s['gc_frozen']} objects"
