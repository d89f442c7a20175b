"""A real gunicorn server for the multi-process tests, and clients that stream from it like browsers.

No tests here: ``test_live_gunicorn.py`` uses these.
"""
import codecs
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import requests

from chat import create_app, migrations
from chat.actions import accounts, conversations
from chat.db import Database

from .services import create_postgres_database, free_port
from .test_live_sse import parse_sse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wait_until(condition, timeout, what="the condition", interval=0.05):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class OwnDatabase:
    """A fresh, migrated Postgres database of the test's own."""

    def __init__(self):
        url, self._drop = create_postgres_database()
        self.url = url.replace("postgresql://", "postgresql+psycopg://")
        db = Database(self.url)
        migrations.upgrade(db)
        db.dispose()

    def drop(self):
        self._drop()


def seed(database_url, group_sizes, outsiders=0):
    """People, their bearer tokens and groups, written through the actions without publishing anything:
    the server's relay sweep publishes those rows. Returns ``(people, groups)``; each group lists its
    members' indexes into ``people``."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "seed",
                      "PASSWORD_HASH_COST": "fast", "RATELIMIT_ENABLED": False})
    app.extensions.pop("chat.relay")  # no kick: the server under test publishes
    people, groups = [], []
    with app.app_context():
        total = sum(group_sizes) + outsiders
        for i in range(total):
            name = f"p{i}_{uuid.uuid4().hex[:6]}"
            user = accounts.sign_up(f"{name}@example.com", name, "password123", name)
            people.append({"id": user["id"], "token": accounts.issue_token(user["id"]), "name": name})
        start = 0
        for g, size in enumerate(group_sizes):
            members = list(range(start, start + size))
            group = conversations.create_group(people[members[0]]["id"], f"group {g}",
                                               [people[m]["id"] for m in members[1:]])
            groups.append({"id": group["id"], "members": members})
            start += size
    app.extensions["chat.db"].dispose()
    return people, groups


def shared_store(settings):
    """Environment for the store of a production server with several workers (the app refuses local disk
    that only one machine sees): the bucket in ``settings``, else the local folder, said to be shared by
    every worker (they all run on this machine)."""
    from .s3_support import CREDENTIALS
    if settings.get("S3_BUCKET"):
        return dict(CREDENTIALS, **{k: str(v) for k, v in settings.items() if k.startswith("S3_") and v})
    return {"UPLOAD_FOLDER_SHARED": "1"}


class Gunicorn:
    """``gunicorn -c gunicorn.conf.py`` with gevent workers, as the Procfile runs it, on a free port."""

    def __init__(self, database_url, redis_url, workers=2, settings=None, log_path=None):
        self.port = free_port()
        self.workers = workers
        settings = dict({"DELIVERY_STATS": True, "PASSWORD_HASH_COST": "fast", "RATELIMIT_ENABLED": False,
                         "SSE_HEARTBEAT_SECONDS": 1, "SSE_QUEUE_SIZE": 100,
                         "REDIS_IDLE_SECONDS": 1}, **(settings or {}))
        self.app_spec = f"chat:create_app({settings!r})"
        self.env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY="test-secret",
                        CHAT_ENV="production", PORT=str(self.port), HOST="127.0.0.1",
                        WEB_CONCURRENCY=str(workers), GUNICORN_ACCESS_LOG="/dev/null",
                        DATABASE_POOL_SIZE="4")  # at most 8 Postgres connections a worker: the server is shared
        self.env.update(shared_store(settings) if workers > 1 else {})
        self.log_path = log_path or f"/tmp/chat-gunicorn-{self.port}.log"
        self.process = None

    def start(self):
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", self.app_spec, "-c", "gunicorn.conf.py"],
                                        cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self._healthy, 30, "gunicorn to answer /healthz")
        wait_until(lambda: len(self.worker_pids()) == self.workers, 30, "the workers to boot")
        return self

    def _healthy(self):
        assert self.process.poll() is None, open(self.log_path).read()
        try:
            return requests.get(self.url("/healthz"), timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def stop(self):
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        self.log.close()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def worker_pids(self):
        """The worker processes (children of the master)."""
        pids = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    pids.append(int(name))
        return sorted(pids)

    def stats(self, timeout=15.0):
        """``{pid: stats}`` for every worker (asks on fresh connections until each has answered: a busy
        worker may leave the next hundreds of connections to the other)."""
        found, pids = {}, set(self.worker_pids())
        deadline = time.monotonic() + timeout
        while not pids <= set(found):
            assert time.monotonic() < deadline, f"workers {pids - set(found)} did not answer for their stats"
            s = requests.get(self.url("/_delivery/stats"), timeout=5).json()
            found[s["pid"]] = s
            if len(found) < len(pids):
                time.sleep(0.005)
        return {pid: found[pid] for pid in pids}

    def post(self, path, token, body, retries=3):
        """POST JSON with a bearer token on a fresh connection; retries a refused connection."""
        for attempt in range(retries):
            try:
                return self.request("POST", path, token, body)
            except ConnectionError:
                if attempt == retries - 1:
                    raise
                time.sleep(0.2)

    def patch(self, path, token, body):
        return self.request("PATCH", path, token, body)

    def request(self, method, path, token, body):
        """One API request on its own connection (so requests spread over the workers)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, "/api/v1" + path, body=json.dumps(body),
                               headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            response = connection.getresponse()
            return Reply(response.status, response.read())
        finally:
            connection.close()


class Reply:
    """The little of a response the tests look at."""

    def __init__(self, status_code, content):
        self.status_code, self.text = status_code, content.decode()

    def json(self):
        return json.loads(self.text)


class Listener(threading.Thread):
    """One person's event stream, read like a browser's EventSource: it reconnects with its last id."""

    def __init__(self, port, token, last_event_id=None, reconnect=True, rcvbuf=None):
        super().__init__(daemon=True)
        self.port, self.token, self.reconnect, self.rcvbuf = port, token, reconnect, rcvbuf
        self.last_id = last_event_id
        self.events = []
        self._created = []
        self.connects = 0
        self.refused = []
        self.opened = threading.Event()
        self._stopping = False
        self._sock = None

    def run(self):
        while not self._stopping:
            try:
                self._stream_once()
            except OSError:
                pass
            if self._stopping or not self.reconnect:
                return
            time.sleep(0.05)

    def _stream_once(self):
        sock = socket.socket()
        if self.rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.settimeout(30)
        sock.connect(("127.0.0.1", self.port))
        self._sock = sock
        try:
            cursor = f"Last-Event-ID: {self.last_id}\r\n" if self.last_id else ""
            sock.sendall((f"GET /api/v1/events HTTP/1.0\r\nHost: test\r\nAuthorization: Bearer {self.token}\r\n"
                          f"Accept: text/event-stream\r\n{cursor}\r\n").encode())
            head = b""
            while b"\r\n\r\n" not in head:
                data = sock.recv(65536)
                if not data:
                    return
                head += data
            head, body = head.split(b"\r\n\r\n", 1)
            status = int(head.split()[1])
            if status != 200:
                self.refused.append(status)
                time.sleep(0.5)
                return
            self.connects += 1
            self.opened.set()
            self._read(sock, body)
        finally:
            self._sock = None
            sock.close()

    def _read(self, sock, first):
        decoder, text = codecs.getincrementaldecoder("utf-8")(), ""
        data = first
        while True:
            text += decoder.decode(data)
            complete, sep, text = text.rpartition("\n\n")
            if sep:
                for block in parse_sse(complete + sep):
                    if block["event"]:
                        self._received(block)
                    if block["id"]:
                        self.last_id = block["id"]
            data = sock.recv(65536)
            if not data:
                return

    def _received(self, block):
        event = Received(block["event"], block["id"], block["data"])
        self.events.append(event)
        if event.type == "message.created":
            self._created.append((event.data["conversation_id"], event.data["seq"]))

    def close(self):
        self._stopping = True
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.join(5)

    # --- what arrived ------------------------------------------------------------------------------
    def created(self, conversation_id=None):
        """``seq`` of every ``message.created`` received (of one conversation, if given), in order."""
        return [seq for cid, seq in list(self._created) if conversation_id is None or cid == conversation_id]

    def created_count(self):
        return len(self._created)

    def of_type(self, event_type):
        return [e.data for e in self.events if e.type == event_type]

    def logged(self):
        """``(type, id, data)`` of the events that carry a cursor (typing and presence do not)."""
        return [(e.type, e.id, e.data) for e in self.events if e.id]


class Received:
    """One event as a client saw it; its JSON is decoded when first looked at."""

    __slots__ = ("_data", "id", "raw", "type")

    def __init__(self, event_type, event_id, raw):
        self.type, self.id, self.raw, self._data = event_type, event_id, raw, None

    @property
    def data(self):
        if self._data is None and self.raw:
            self._data = json.loads(self.raw)
        return self._data


def listen(server, people, indexes, **options):
    """Start a listener for each of ``indexes`` and wait until every stream is open."""
    listeners = {i: Listener(server.port, people[i]["token"], **options) for i in indexes}
    for listener in listeners.values():
        listener.start()
    for listener in listeners.values():
        assert listener.opened.wait(10), "a stream did not open"
    return listeners


def close_all(listeners):
    for listener in listeners.values():
        listener.close()
