"""The Redis broker: the per-user delivery log in Redis Streams (``redis_log``), and live fan-out over one
Pub/Sub channel that each worker process reads on one connection (``reader.PubSubReader``).

Clients are made lazily in the process that uses them, with short timeouts: a Redis outage makes
publishing fail fast (the outbox keeps the rows), never hangs a request.
"""
import json
import os
import secrets

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .broker import Broker, BrokerUnavailable, CursorTooOld, EpochChanged
from .events import ZERO, Event, Shared, json_text
from .presence import RedisPresence
from .reader import PubSubReader
from .redis_log import CHANNEL, EPOCH_KEY, PUBLISH_ROW, check_cursor, script_args, stream_key

ROWS_PER_PIPELINE = 50

class RedisBroker(Broker):
    """Delivery log and live fan-out through Redis, shared by every worker and machine."""

    name = "redis"

    def __init__(self, url, log_length=10_000, queue_size=1000, socket_timeout=2.0, pool_size=16):
        super().__init__(queue_size)
        self.url = url
        self.log_length = log_length
        self.socket_timeout = socket_timeout
        self.pool_size = pool_size
        self.presence = RedisPresence(self.client)
        self._pid = None
        self._client = None
        self._script = None
        self.reader = None

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
        self._client = redis.Redis(connection_pool=pool)
        self._script = self._client.register_script(PUBLISH_ROW)
        self.reader = PubSubReader(self, CHANNEL)
        self._pid = os.getpid()

    def start(self):
        self.client()
        self.reader.start()

    def stop(self):
        if self._pid == os.getpid():
            self.reader.stopping()
            try:
                self._client.publish(CHANNEL, "w")  # wakes the reader (any process's: harmless) to stop now
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
                pipe = self.client().pipeline(transaction=False)
                for row in chunk:
                    self._script(*script_args(*row, log_length=self.log_length), client=pipe)
                pipe.execute()
            except redis.RedisError as error:
                raise BrokerUnavailable(f"Redis: {error}", published=done) from error
            done += len(chunk)
        return done

    def publish_ephemeral(self, user_ids, event_type, data):
        payload = json_text({"t": event_type, "d": data, "u": list(user_ids)})
        try:
            self.client().publish(CHANNEL, "e\n" + payload)
        except redis.RedisError as error:
            raise BrokerUnavailable(f"Redis: {error}") from error

    def on_message(self, message):
        """Called by the reader for each message on the channel: queue it for local streams."""
        kind, _, rest = message.partition("\n")
        if kind == "d":
            epoch, ids, template = rest.split("\n", 2)
            self._on_durable(epoch, ids.split(","), json.loads(template))
        elif kind == "e":
            payload = json.loads(rest)
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
            found = client.get(EPOCH_KEY)
            if found is None:
                client.set(EPOCH_KEY, secrets.token_hex(6), nx=True)
                found = client.get(EPOCH_KEY)
            return found
        except redis.RedisError as error:
            raise BrokerUnavailable(f"Redis: {error}") from error

    def latest(self, user_id):
        try:
            found = self.client().xrevrange(stream_key(user_id), count=1)
        except redis.RedisError as error:
            raise BrokerUnavailable(f"Redis: {error}") from error
        return found[0][0] if found else ZERO

    def read_log(self, user_id, epoch, after, count=500):
        key = stream_key(user_id)
        try:
            pipe = self.client().pipeline(transaction=False)
            pipe.get(EPOCH_KEY)
            pipe.xinfo_stream(key)
            pipe.xrange(key, min="(" + after, max="+", count=count)
            current, info, entries = pipe.execute(raise_on_error=False)
        except redis.RedisError as error:
            raise BrokerUnavailable(f"Redis: {error}") from error
        for result in (current, entries):
            if isinstance(result, Exception):
                raise BrokerUnavailable(f"Redis: {result}")
        if current != epoch:
            raise EpochChanged(f"the log's epoch is {current}, not {epoch}")
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
        shared = {name: Shared(json.loads(value), value) for name, value in zip(names, values)}
        return [Event(f["t"], shared[f["b"]], json.loads(f["x"]) if f["x"] else None, epoch, entry,
                      f["c"] or None, int(f["r"]), int(f["k"])) for entry, f in entries]

    def health(self):
        try:
            self.client().ping()
            return "ok"
        except redis.RedisError:
            return "down"
