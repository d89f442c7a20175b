"""The Redis broker: a per-user delivery log in Redis Streams, and live fan-out over one Pub/Sub channel.

Publishing one outbox row is one Lua script, so it is atomic: it claims ``outbox:{row}`` with ``SET NX``
(a retry of the same row does nothing), appends one entry per recipient to ``user:{id}:events``
(``XADD … MAXLEN ~ N``), and ``PUBLISH``es the entry ids with the payload to ``chat:events``. Each worker
process reads that channel on one connection (``reader.PubSubReader``) and queues each event for the
streams it holds. Payloads shared by many recipients (the message, the conversation) are stored once per
row under ``outbox:{row}:{n}`` and referenced from the entries.
"""
import json
import os
import secrets

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .broker import Broker, BrokerUnavailable, CursorTooOld, EpochChanged
from .events import ZERO, Event, Shared, entry_key, json_text
from .presence import RedisPresence
from .reader import PubSubReader

CHANNEL = "chat:events"
EPOCH_KEY = "chat:epoch"
DEDUPE_SECONDS = 7 * 24 * 3600
BLOB_SECONDS = 7 * 24 * 3600  # older entries cannot be replayed: a client that far behind gets ``reset``
ROWS_PER_PIPELINE = 50

PUBLISH_ROW = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then return false end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[2], epoch)
end
local i = 10
for _ = 1, tonumber(ARGV[9]) do
  redis.call('SET', ARGV[i], ARGV[i + 1], 'EX', ARGV[5])
  i = i + 2
end
if #KEYS == 2 then return epoch end
local ids = {}
for j = 3, #KEYS do
  ids[#ids + 1] = redis.call('XADD', KEYS[j], 'MAXLEN', '~', ARGV[4], '*', 't', ARGV[i], 'b', ARGV[i + 1],
                             'x', ARGV[i + 2], 'k', ARGV[i + 3], 'r', ARGV[1], 'c', ARGV[7])
  i = i + 4
end
redis.call('PUBLISH', ARGV[6], 'd\\n' .. epoch .. '\\n' .. table.concat(ids, ',') .. '\\n' .. ARGV[8])
return epoch
"""


def stream_key(user_id):
    return f"user:{user_id}:events"


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
                    self._script(*self._script_args(*row), client=pipe)
                pipe.execute()
            except redis.RedisError as error:
                raise BrokerUnavailable(f"Redis: {error}", published=done) from error
            done += len(chunk)
        return done

    def _script_args(self, row_id, conversation_id, deliveries):
        blob_names, blob_args, blob_json = {}, [], []
        for d in deliveries:
            if id(d.base) not in blob_names:
                name = f"outbox:{row_id}:{len(blob_names)}"
                blob_names[id(d.base)] = name
                text = json_text(d.base)
                blob_args += [name, text]
                blob_json.append(f"{json_text(name)}:{text}")
        keys = [f"outbox:{row_id}", EPOCH_KEY]
        entry_args, events, ks = [], [], {}
        for d in deliveries:
            k = ks[d.user_id] = ks.get(d.user_id, -1) + 1
            extra = json_text(d.extra) if d.extra else ""
            keys.append(stream_key(d.user_id))
            entry_args += [d.type, blob_names[id(d.base)], extra, k]
            events.append([d.user_id, d.type, blob_names[id(d.base)], d.extra or None, k])
        template = '{"r":%d,"c":%s,"b":{%s},"e":%s}' % (
            row_id, json_text(conversation_id), ",".join(blob_json), json_text(events))
        args = [row_id, secrets.token_hex(6), DEDUPE_SECONDS, self.log_length, BLOB_SECONDS, CHANNEL,
                conversation_id or "", template, len(blob_names)] + blob_args + entry_args
        return keys, args

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

    def _on_durable(self, epoch, ids, template):
        shared = {}
        row, conversation_id, blobs = template["r"], template["c"], template["b"]
        for (user_id, event_type, blob, extra, k), entry in zip(template["e"], ids):
            if not self.has_local(user_id):
                continue
            base = shared.get(blob)
            if base is None:
                base = shared[blob] = Shared(blobs[blob])
            self.deliver_local(user_id, Event(event_type, base, extra, epoch, entry, conversation_id, row, k))

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
        _check_cursor(after, None if isinstance(info, Exception) else info)
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


def _check_cursor(after, info):
    """Raise ``CursorTooOld`` unless the log still holds every entry after ``after``."""
    after_key = entry_key(after)
    if info is None:  # no log at all: fine only for a cursor from before the user's first event
        if after_key != (0, 0):
            raise CursorTooOld("no delivery log for this user")
        return
    if after_key > entry_key(info["last-generated-id"]):
        raise CursorTooOld(f"entry {after} was never written")
    first = info.get("first-entry")
    trimmed = int(info.get("entries-added", 0)) > int(info["length"])
    if trimmed and (first is None or after_key < entry_key(first[0])):
        raise CursorTooOld(f"entries after {after} were trimmed from the log")
