"""The in-process broker: the embedded default when ``REDIS_URL`` is unset.

It keeps each user's delivery log in a ring buffer in this process's memory, so it only works when one
process serves every stream and every send. Under gunicorn with more than one worker it refuses to start.
"""
import os
import secrets
import threading
from collections import OrderedDict, deque

from ..config import ConfigError
from .broker import Broker, CursorTooOld, EpochChanged
from .events import ZERO, Event, Shared, entry_key
from .presence import MemoryPresence

REMEMBERED_ROWS = 100_000  # outbox rows already published, so a retry is a no-op


def refuse_multiple_workers(env=None):
    """Raise ``ConfigError`` when a multi-worker server would split streams across separate logs."""
    env = os.environ if env is None else env
    workers = env.get("CHAT_SERVER_WORKERS", "1")
    if workers.isdigit() and int(workers) > 1:
        raise ConfigError(
            f"REDIS_URL is not set, so live delivery uses the in-process broker, which lives inside one "
            f"process; with {workers} worker processes a message sent through one worker would never reach "
            f"streams held by another. Set REDIS_URL, or run a single worker (WEB_CONCURRENCY=1)."
        )


class InProcessBroker(Broker):
    """Delivery log and live fan-out inside this process."""

    name = "in-process"

    def __init__(self, log_length=10_000, queue_size=1000, max_streams=None):
        refuse_multiple_workers()
        super().__init__(queue_size, max_streams=max_streams)
        self.log_length = log_length
        self.presence = MemoryPresence()
        self._epoch = self.known_epoch = secrets.token_hex(6)
        self._logs = {}      # user_id -> deque of Event, oldest first
        self._trimmed = {}   # user_id -> entry of the newest event dropped from the ring
        self._counter = 0
        self._done = OrderedDict()
        self._log_lock = threading.Lock()

    def publish(self, rows):
        for row_id, conversation_id, deliveries in rows:
            self._publish_row(row_id, conversation_id, deliveries)
        return len(rows)

    def _publish_row(self, row_id, conversation_id, deliveries):
        with self._log_lock:  # held while delivering, so live order is log order
            if row_id in self._done:
                return
            self._done[row_id] = True
            if len(self._done) > REMEMBERED_ROWS:
                self._done.popitem(last=False)
            shared, ks = {}, {}
            for d in deliveries:
                base = shared.get(id(d.base))
                if base is None:
                    base = shared[id(d.base)] = Shared(d.base)
                k = ks[d.user_id] = ks.get(d.user_id, -1) + 1
                self._counter += 1
                event = Event(d.type, base, d.extra, self._epoch, f"{self._counter}-0",
                              conversation_id, row_id, k)
                self._append(d.user_id, event)
                self.deliver_local(d.user_id, event)

    def _append(self, user_id, event):
        ring = self._logs.get(user_id)
        if ring is None:
            ring = self._logs[user_id] = deque(maxlen=self.log_length)
        if len(ring) == ring.maxlen:
            self._trimmed[user_id] = ring[0].entry
        ring.append(event)

    def publish_ephemeral(self, user_ids, event_type, data):
        event = Event(event_type, data)
        for user_id in user_ids:
            self.deliver_local(user_id, event)

    def epoch(self):
        return self._epoch

    def latest(self, user_id):
        with self._log_lock:
            ring = self._logs.get(user_id)
            return ring[-1].entry if ring else ZERO

    def read_log(self, user_id, epoch, after, count=500):
        if epoch != self._epoch:
            raise EpochChanged(f"the log's epoch is {self._epoch}, not {epoch}", self._epoch)
        after_key = entry_key(after)
        with self._log_lock:
            if after_key > (self._counter, 0):
                raise CursorTooOld(f"entry {after} was never written")
            trimmed = self._trimmed.get(user_id)
            if trimmed is not None and entry_key(trimmed) > after_key:
                raise CursorTooOld(f"entries after {after} were dropped from the log")
            ring = self._logs.get(user_id, ())
            found = [e for e in ring if entry_key(e.entry) > after_key]
        return found[:count]

    def health(self):
        return "ok"
