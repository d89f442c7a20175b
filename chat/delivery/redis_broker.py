"""The Redis broker: the per-user delivery log in Redis Streams (``redis_log``), and live fan-out over one
Pub/Sub channel that each worker process reads on one connection (``reader.PubSubReader``).

Clients are made lazily in the process that uses them, with short timeouts: a Redis outage makes
publishing fail fast (the outbox keeps the rows), never hangs a request.

``namespace`` (a string, or a callable asked once per process when Redis is first used) prefixes every
name the broker keeps in Redis, so that databases sharing one Redis cannot collide (``redis_log.Keys``).
"""
import os
import secrets

import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from ..json_text import loads
from .broker import Broker, BrokerUnavailable, CursorTooOld, EpochChanged
from .events import ZERO, Event, Shared, json_text
from .presence import RedisPresence
from .reader import PubSubReader
from .redis_log import (
    BIG_BLOB_BYTES,
    BIG_BLOB_SECONDS,
    BLOB_SECONDS,
    PUBLISH_ROW,
    Keys,
    check_cursor,
    script_args,
)

ROWS_PER_PIPELINE = 50

class RedisBroker(Broker):
    """Delivery log and live fan-out through Redis, shared by every worker and machine."""

    name = "redis"

    def __init__(self, url, log_length=10_000, queue_size=1000, socket_timeout=2.0, pool_size=16,
                 namespace=None, blob_seconds=BLOB_SECONDS, big_blob_bytes=BIG_BLOB_BYTES,
                 big_blob_seconds=BIG_BLOB_SECONDS, max_streams=None):
        super().__init__(queue_size, max_streams=max_streams)
        self.url = url
        self.log_length = log_length
        self.socket_timeout = socket_timeout
        self.pool_size = pool_size
        self.blob = {"blob_seconds": blob_seconds, "big_bytes": big_blob_bytes, "big_seconds": big_blob_seconds}
        self._namespace = namespace
        self.keys = None if callable(namespace) else Keys(namespace)
        self._presence = None
        self._pid = None
        self._client = None
        self._script = None
        self.reader = None

    @property
    def presence(self):
        if self._presence is None:
            try:
                prefix = self._keys().prefix
            except BrokerUnavailable as error:
                return RedisPresence(_failing(error))  # each call fails, and callers take it quietly
            self._presence = RedisPresence(self.client, prefix)
        return self._presence

    def _keys(self):
        """The names under this database's namespace (asked of the database once, when first needed)."""
        if self.keys is None:
            try:
                namespace = self._namespace()
            except Exception as error:
                raise BrokerUnavailable(f"the database's identity is unknown: {error}") from error
            self.keys = Keys(namespace)
        return self.keys

    # --- clients, made after fork -------------------------------------------------------------------
    def client(self):
        """This process's command client (short timeouts: a Redis outage must not hang a request)."""
        if self._pid != os.getpid():
            self._connect()
        return self._client

    def new_client(self, **overrides):
        options = dict(socket_timeout=self.socket_timeout, socket_connect_timeout=min(self.socket_timeout, 1.0),
                       socket_keepalive=True, decode_responses=True, retry=Retry(NoBackoff(), 1),
                       health_check_interval=30)
        options.update(overrides)
        return redis.Redis.from_url(self.url, **options)

    def _connect(self):
        pool = redis.BlockingConnectionPool.from_url(
            self.url, max_connections=self.pool_size, timeout=self.socket_timeout,
            socket_timeout=self.socket_timeout, socket_connect_timeout=min(self.socket_timeout, 1.0),
            socket_keepalive=True, decode_responses=True, retry=Retry(NoBackoff(), 1),
            health_check_interval=30)
        keys = self._keys()
        self._client = redis.Redis(connection_pool=pool)
        self._script = self._client.register_script(PUBLISH_ROW)
        self.reader = PubSubReader(self, keys.channel)
        self._pid = os.getpid()

    def start(self):
        self.client()
        self.reader.start()

    def stop(self):
        if self._pid == os.getpid():
            self.reader.stopping()
            try:
                self._client.publish(self.keys.channel, "w")  # wakes the reader (any process's: harmless) to stop now
            except redis.RedisError:
                pass
            self.reader.stop()
            self._client.connection_pool.disconnect()
        self._pid = None

    def trim_idle(self):
        """Close pooled connections nobody is using (after a burst, the pool shrinks back)."""
        if self._pid == os.getpid():
            self._client.connection_pool.disconnect(inuse_connections=False)

    # --- publishing ---------------------------------------------------------------------------------
    def publish(self, rows):
        done = 0
        for start in range(0, len(rows), ROWS_PER_PIPELINE):
            chunk = rows[start:start + ROWS_PER_PIPELINE]
            try:
                client = self.client()  # first: it learns the keys' namespace
                calls = [script_args(*row, log_length=self.log_length, keys=self.keys, **self.blob) for row in chunk]
                epochs = [e for e in self._publish_rows(client, calls) if e]
                if epochs:
                    self.known_epoch = epochs[-1]
            except redis.RedisError as error:
                raise BrokerUnavailable(f"Redis: {error}", published=done) from error
            done += len(chunk)
        return done

    def _publish_rows(self, client, calls):
        """Run ``PUBLISH_ROW`` once per ``(keys, args)`` in one pipeline, by its SHA. redis-py's own
        ``Script`` in a pipeline asks ``SCRIPT EXISTS`` first on every execute (a second round trip per
        batch); here the script is loaded only when Redis answers that it lacks it (a restarted Redis),
        and the batch runs again: a row already published does nothing the second time."""
        for attempt in (1, 2):
            pipe = client.pipeline(transaction=False)
            for keys, args in calls:
                pipe.evalsha(self._script.sha, len(keys), *keys, *args)
            try:
                return pipe.execute()
            except NoScriptError:
                if attempt == 2:
                    raise
                self._script.sha = client.script_load(PUBLISH_ROW)

    def publish_ephemeral(self, user_ids, event_type, data):
        payload = json_text({"t": event_type, "d": data, "u": list(user_ids)})
        try:
            self.client().publish(self.keys.channel, "e\n" + payload)
        except redis.RedisError as error:
            raise BrokerUnavailable(f"Redis: {error}") from error

    def on_message(self, message):
        """Called by the reader for each message on the channel: queue it for local streams."""
        kind, _, rest = message.partition("\n")
        if kind == "d":
            epoch, ids, template = rest.split("\n", 2)
            self.known_epoch = epoch
            self._on_durable(epoch, ids.split(","), loads(template))
        elif kind == "e":
            payload = loads(rest)
            event = Event(payload["t"], payload["d"])
            for user_id in payload["u"]:
                self.deliver_local(user_id, event)

    def _on_durable(self, epoch, ids, message):
        row, conversation_id, blobs = message["r"], message["c"], message["b"]
        position, shared = 0, {}
        for event_type, name, k, people, extras in message["g"]:
            for j, user_id in enumerate(people):
                if self.has_local(user_id):
                    base = shared.get(name)
                    if base is None:
                        base = shared[name] = Shared(blobs[name])
                    extra = extras[j] if extras else None
                    self.deliver_local(user_id, Event(event_type, base, extra, epoch, ids[position + j],
                                                      conversation_id, row, k))
            position += len(people)

    # --- the log ------------------------------------------------------------------------------------
    def epoch(self):
        try:
            client = self.client()
            found = client.get(self.keys.epoch)
            if found is None:
                client.set(self.keys.epoch, secrets.token_hex(6), nx=True)
                found = client.get(self.keys.epoch)
            self.known_epoch = found
            return found
        except redis.RedisError as error:
            raise BrokerUnavailable(f"Redis: {error}") from error

    def latest(self, user_id):
        try:
            found = self.client().xrevrange(self._keys().stream(user_id), count=1)
        except redis.RedisError as error:
            raise BrokerUnavailable(f"Redis: {error}") from error
        return found[0][0] if found else ZERO

    def read_log(self, user_id, epoch, after, count=500):
        try:
            client = self.client()
            key = self.keys.stream(user_id)
            pipe = client.pipeline(transaction=False)
            pipe.get(self.keys.epoch)
            pipe.xinfo_stream(key)
            pipe.xrange(key, min="(" + after, max="+", count=count)
            current, info, entries = pipe.execute(raise_on_error=False)
        except redis.RedisError as error:
            raise BrokerUnavailable(f"Redis: {error}") from error
        if isinstance(current, Exception):
            raise BrokerUnavailable(f"Redis: {current}")
        if current != epoch:
            raise EpochChanged(f"the log's epoch is {current}, not {epoch}", current)
        if isinstance(entries, redis.ResponseError):
            # Redis refused the cursor itself (callers validate it; this is the last line): the client
            # must start again from a position we can vouch for, not wait for an outage that is not one.
            raise CursorTooOld(f"Redis refused the cursor {after!r}: {entries}")
        if isinstance(entries, Exception):
            raise BrokerUnavailable(f"Redis: {entries}")
        check_cursor(after, None if isinstance(info, Exception) else info)
        return self._events(epoch, entries)

    def _events(self, epoch, entries):
        names = list({fields["b"] for _, fields in entries})
        if not names:
            return []
        try:
            values = self.client().mget(names)
        except redis.RedisError as error:
            raise BrokerUnavailable(f"Redis: {error}") from error
        if any(v is None for v in values):
            raise CursorTooOld("the payload of a logged event has expired")
        shared = {name: Shared(loads(value), value) for name, value in zip(names, values, strict=False)}
        return [Event(f["t"], shared[f["b"]], loads(f["x"]) if f["x"] else None, epoch, entry,
                      f["c"] or None, int(f["r"]), int(f["k"])) for entry, f in entries]

    def health(self):
        try:
            self.client().ping()
            return "ok"
        except redis.RedisError:
            return "down"


def _failing(error):
    def client():
        raise redis.ConnectionError(str(error))
    return client
