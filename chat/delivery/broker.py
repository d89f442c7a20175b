"""The broker interface, and the per-process registry of open streams that every broker shares.

A broker does two jobs. It keeps a **delivery log** per user (durable events, in order, each with an
entry id) so a stream can resume, and it carries **live** events to the streams open in this process:
each open stream has one bounded queue; a stream whose queue fills is closed, and its client resumes.

A person may hold at most ``max_streams`` streams in one process (None: no cap). Opening one more ends
their oldest (it gets ``REPLACED``) rather than refusing the new one: the tab someone just opened is the
one they are looking at, the oldest is the likeliest to be forgotten, and EventSource gives up for good
on an error status, which would leave the new tab silently without live updates. The cap is per process
because what it protects, a worker's connection slots, is per process.
"""
import logging
import queue
import threading
import time

from .events import CLOSE, REPLACED

log = logging.getLogger(__name__)


class CursorTooOld(Exception):
    """The log no longer holds everything after the cursor: the client must reload (``reset``)."""


class EpochChanged(Exception):
    """The log started a new life (Redis lost its data) since the caller read the epoch.

    ``epoch`` is the log's epoch now, when the broker read it along (None: it has none yet).
    """

    def __init__(self, message, epoch=None):
        super().__init__(message)
        self.epoch = epoch


class BrokerUnavailable(Exception):
    """The broker cannot be reached right now; live delivery resumes when it is back.

    From ``publish``, ``published`` says how many rows went out before the failure.
    """

    def __init__(self, message, published=0):
        super().__init__(message)
        self.published = published


def _gevent_patched():
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("threading")


def make_queue(maxsize):
    """A bounded queue: a ``Mailbox`` under a gevent server (light while empty), the standard library's
    otherwise (threads)."""
    if _gevent_patched():
        from .mailbox import Mailbox
        return Mailbox(maxsize)
    return queue.Queue(maxsize)


class Subscription:
    """One open stream's queue of live events. ``on_overflow`` runs if it fills (e.g. to close the socket)."""

    __slots__ = ("closed", "on_overflow", "opened_at", "queue", "user_id")

    def __init__(self, user_id, maxsize):
        self.user_id = user_id
        self.queue = make_queue(maxsize)
        self.closed = False
        self.on_overflow = None
        self.opened_at = time.monotonic()

    def get(self, timeout):
        """The next event or marker, or None after ``timeout`` seconds."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


class Broker:
    """Base class: the registry of local subscriptions. Subclasses implement the log and transport."""

    name = "broker"

    def __init__(self, queue_size=1000, max_streams=None):
        self.queue_size = queue_size
        self.max_streams = max_streams
        self.known_epoch = None  # the newest epoch this process has seen, for streams opened blind
        self._local = {}  # user_id -> set of Subscription
        self._lock = threading.Lock()

    # --- the interface ------------------------------------------------------------------------------
    def publish(self, rows):
        """Append each row's deliveries to their users' logs and send them live, exactly once per row.

        ``rows`` is a list of ``(row_id, conversation_id, [Delivery…])`` in publishing order. Returns how
        many rows there were. Raises ``BrokerUnavailable`` (with ``published``, the count of rows from the
        start that certainly went out) when it cannot reach the broker; a retry of a row that did go out
        is a no-op.
        """
        raise NotImplementedError

    def publish_ephemeral(self, user_ids, event_type, data):
        """Send a live-only event (typing, presence) to whichever of ``user_ids`` have open streams."""
        raise NotImplementedError

    def epoch(self):
        """The name of the current life of the delivery log."""
        raise NotImplementedError

    def latest(self, user_id):
        """The entry id of the user's newest logged event (``"0-0"`` if none)."""
        raise NotImplementedError

    def read_log(self, user_id, epoch, after, count=500):
        """Up to ``count`` logged events after entry ``after``, oldest first.

        Raises ``CursorTooOld`` if the log no longer holds them all, ``EpochChanged`` if ``epoch`` is over.
        """
        raise NotImplementedError

    def health(self):
        """``"ok"`` or ``"down"``."""
        raise NotImplementedError

    def start(self):
        """Start this process's background work (idempotent; call after fork)."""

    def stop(self):
        """Stop this process's background work."""

    # --- local subscriptions ------------------------------------------------------------------------
    def subscribe(self, user_id):
        """Register a queue for ``user_id``'s live events in this process."""
        self.start()
        sub = Subscription(user_id, self.queue_size)
        replaced = []
        with self._lock:
            subs = self._local.setdefault(user_id, set())
            while self.max_streams and len(subs) >= self.max_streams:
                oldest = min(subs, key=lambda s: s.opened_at)
                subs.discard(oldest)
                replaced.append(oldest)
            subs.add(sub)
        for old in replaced:
            log.info("ending the oldest of %d streams of user %s", self.max_streams, user_id)
            self.offer(old, REPLACED)
        return sub

    def unsubscribe(self, sub):
        sub.closed = True
        with self._lock:
            subs = self._local.get(sub.user_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._local[sub.user_id]

    def has_local(self, user_id):
        return user_id in self._local

    def local_count(self):
        with self._lock:
            return sum(len(s) for s in self._local.values())

    def deliver_local(self, user_id, item):
        """Queue ``item`` for every stream of ``user_id`` in this process; never blocks."""
        subs = self._local.get(user_id)
        if subs:
            for sub in tuple(subs):
                self.offer(sub, item)

    def broadcast_local(self, item):
        """Queue a marker (``RESYNC``, ``CLOSE``) for every open stream in this process."""
        with self._lock:
            subs = [s for group in self._local.values() for s in group]
        for sub in subs:
            self.offer(sub, item)

    def close_streams(self):
        """End every open stream in this process (graceful shutdown); clients reconnect elsewhere."""
        self.broadcast_local(CLOSE)

    def offer(self, sub, item):
        """Queue ``item`` (an event or a marker) for one stream; never blocks (a full queue cuts it off)."""
        if sub.closed:
            return
        try:
            sub.queue.put_nowait(item)
        except queue.Full:
            # A client that cannot keep up is cut off rather than buffered without bound; it resumes.
            log.info("closing a stream for user %s: its queue of %d events is full", sub.user_id,
                     self.queue_size)
            self.unsubscribe(sub)
            if sub.on_overflow is not None:
                try:
                    sub.on_overflow()
                except Exception:
                    log.exception("closing an overflowing stream failed")
