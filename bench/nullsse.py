"""The null SSE server: the stack's ceiling (gunicorn + gevent + WSGI), with no database and no Redis.

Run one single-worker instance per app worker (``gunicorn -k gevent -w 1 bench.nullsse:app``); the load
generator publishes each message to every instance, as Redis Pub/Sub reaches every app worker. It keeps
the app's delivery shape: one bounded ``gevent.queue.Queue`` per stream, a ``retry:`` line at once,
heartbeat comments, the same ``event:``/``id:``/``data:`` frames.

- ``GET /events?user=<key>`` (or ``Authorization: Bearer <key>``): the stream of ``<key>``.
- ``PUT /rooms/<room>`` with a JSON list of user keys: who a room's messages go to.
- ``POST /publish/<room>`` with the event's JSON data: one ``message.created`` frame to each member.
- ``GET /stats``: streams held and frames queued.
"""
import itertools
import json
import os
from urllib.parse import parse_qs

from gevent.queue import Empty, Full, Queue

HEARTBEAT_SECONDS = int(os.environ.get("NULLSSE_HEARTBEAT_SECONDS", "15"))
QUEUE_SIZE = int(os.environ.get("NULLSSE_QUEUE_SIZE", "1000"))

_rooms = {}  # room -> tuple of user keys
_streams = {}  # user key -> set of queues
_ids = itertools.count(1)
_stats = {"published": 0, "queued": 0, "overflowed": 0}
_CLOSE = object()


def app(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    if method == "GET" and path == "/events":
        return _stream(environ, start_response)
    if method == "PUT" and path.startswith("/rooms/"):
        _rooms[path[len("/rooms/"):]] = tuple(json.loads(_read(environ)))
        return _reply(start_response, "204 No Content", b"")
    if method == "POST" and path.startswith("/publish/"):
        return _publish(path[len("/publish/"):], _read(environ), start_response)
    if method == "GET" and path == "/stats":
        body = dict(_stats, streams=sum(len(q) for q in _streams.values()))
        return _reply(start_response, "200 OK", json.dumps(body).encode(), "application/json")
    return _reply(start_response, "404 Not Found", b"")


def _read(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _reply(start_response, status, body, content_type="text/plain"):
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _publish(room, data, start_response):
    frame = b"event: message.created\nid: %d\ndata: %s\n\n" % (next(_ids), data)
    _stats["published"] += 1
    for user in _rooms.get(room, ()):
        for queue in _streams.get(user, ()):
            try:
                queue.put_nowait(frame)
                _stats["queued"] += 1
            except Full:  # a stream that cannot keep up is closed; its client resumes
                _stats["overflowed"] += 1
                queue.queue.clear()
                queue.put_nowait(_CLOSE)
    return _reply(start_response, "204 No Content", b"")


def _stream(environ, start_response):
    user = parse_qs(environ.get("QUERY_STRING", "")).get("user", [""])[0]
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if not user and auth.lower().startswith("bearer "):
        user = auth[7:].strip()
    if not user:
        return _reply(start_response, "401 Unauthorized", b"")
    queue = Queue(QUEUE_SIZE)
    _streams.setdefault(user, set()).add(queue)
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"),
                              ("X-Accel-Buffering", "no")])
    return _frames(user, queue)


def _frames(user, queue):
    try:
        yield b"retry: 3000\n\n"
        while True:
            try:
                frame = queue.get(timeout=HEARTBEAT_SECONDS)
            except Empty:
                yield b": heartbeat\n\n"
                continue
            if frame is _CLOSE:
                return
            yield frame
    finally:
        queues = _streams.get(user)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del _streams[user]
