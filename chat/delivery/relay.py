"""The relay: publishes committed outbox rows to the broker and marks them published.

``kick()`` runs after every commit that recorded events; a background greenlet (a thread outside gevent)
in each process also sweeps every ``interval`` seconds for rows left unpublished, e.g. while Redis was
down, so a send never waits for the broker and nothing waits for long once it is back.

Rows of one conversation go out in id order, which is commit order: each batch publishes every
unpublished row of its conversations in id order, and the broker ignores a row it has already
published, so even two relays racing cannot put a later row first. A row published but not marked (a
crash, a lost reply) is published again as a no-op. So that relays in several processes do not do the
same work twice, a batch holds an advisory lock per conversation on Postgres (taken in a fixed order,
so they cannot deadlock); on SQLite the single writer lock serializes batches.
"""
import logging
import os
import threading
import time
from datetime import timedelta

import sqlalchemy as sa

from ..schema import outbox, utcnow
from . import fanout
from .broker import BrokerUnavailable

log = logging.getLogger(__name__)

LOCK_CLASS = 7_301_002  # advisory lock namespace: "chat relay, one conversation"
PRUNE_EVERY = 60.0


class Relay:
    """Moves outbox rows to ``broker``. ``sync=True`` publishes inside ``kick()`` (tests, scripts)."""

    def __init__(self, app, db, broker, *, interval=1.0, batch_size=500, sync=False, retention=86_400):
        self.app, self.db, self.broker = app, db, broker
        self.interval, self.batch_size, self.sync, self.retention = interval, batch_size, sync, retention
        self.sweep_hooks = []  # callables run after each sweep (presence reaping)
        self._lock = threading.Lock()        # one batch at a time in this process
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = None
        self._pid = None
        self._stopping = False
        self._last_prune = time.monotonic()
        self._last_warning = 0.0

    def kick(self):
        """Publish what was just committed: now when ``sync``, else by waking the background sweep."""
        if self.sync:
            self.publish_quietly()
            return
        self.start()
        self._wake.set()

    def start(self):
        """Start this process's sweep (idempotent; safe after fork)."""
        if self.sync or (self._pid == os.getpid() and self._thread is not None and self._thread.is_alive()):
            return
        with self._start_lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._pid, self._stopping = os.getpid(), False
            self._lock, self._wake = threading.Lock(), threading.Event()
            self._thread = threading.Thread(target=self._run, name="chat-relay", daemon=True)
            self._thread.start()

    def stop(self, wait=2.0):
        self._stopping = True
        self._wake.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(wait)

    def _run(self):
        failures = 0
        while not self._stopping:
            self._wake.wait(self.interval if not failures else min(self.interval * (failures + 1), 3.0))
            self._wake.clear()
            if self._stopping:
                return
            failures = 0 if self.publish_quietly() else failures + 1
            with self.app.app_context():
                for hook in self.sweep_hooks:
                    _run_quietly(hook)
                if time.monotonic() - self._last_prune > PRUNE_EVERY:
                    self._last_prune = time.monotonic()
                    _run_quietly(self.prune)

    def publish_quietly(self):
        """``publish_pending()``, logging instead of raising; True if everything went out."""
        try:
            self.publish_pending()
            return True
        except BrokerUnavailable as error:
            if time.monotonic() - self._last_warning > 30:
                self._last_warning = time.monotonic()
                log.warning("broker unavailable, events wait in the outbox: %s", error)
        except Exception:  # noqa: BLE001 — the sweep retries; a crash here would stop all delivery
            log.exception("publishing the outbox failed")
        return False

    def publish_pending(self):
        """Publish every committed, unpublished row; returns how many. Raises ``BrokerUnavailable``."""
        total = 0
        while True:
            count = self._publish_batch()
            total += count
            if count < self.batch_size:
                return total

    def _publish_batch(self):
        error = None
        with self._lock, self.db.transaction() as conn:
            head = conn.execute(sa.select(outbox.c.id, outbox.c.conversation_id)
                                .where(outbox.c.published_at.is_(None))
                                .order_by(outbox.c.id).limit(self.batch_size)).all()
            if not head:
                return 0
            ids = sorted({str(r.conversation_id) for r in head if r.conversation_id is not None})
            if self.db.is_postgres:
                _lock_conversations(conn, ids)
            rows = conn.execute(
                sa.select(outbox)
                .where(outbox.c.published_at.is_(None),
                       sa.or_(outbox.c.conversation_id.in_(ids),
                              sa.and_(outbox.c.conversation_id.is_(None), outbox.c.id <= head[-1].id)))
                .order_by(outbox.c.id).limit(self.batch_size)).all()
            try:
                published = self.broker.publish(fanout.expand(conn, rows))
            except BrokerUnavailable as failure:
                published, error = failure.published, failure
            if published:
                conn.execute(outbox.update().where(outbox.c.id.in_([r.id for r in rows[:published]]))
                             .values(published_at=utcnow()))
        if error is not None:
            raise error
        return len(rows)

    def prune(self):
        """Delete rows published more than ``retention`` seconds ago."""
        cutoff = utcnow() - timedelta(seconds=self.retention)
        with self.db.transaction() as conn:
            old = (sa.select(outbox.c.id).where(outbox.c.published_at.is_not(None), outbox.c.published_at < cutoff)
                   .order_by(outbox.c.id).limit(5000))
            conn.execute(outbox.delete().where(outbox.c.id.in_(old.scalar_subquery())))


def _lock_conversations(conn, conversation_ids):
    """Take each conversation's advisory lock, in key order so that two relays cannot deadlock."""
    conn.execute(sa.text("select count(pg_advisory_xact_lock(:cls, k)) from "
                         "(select distinct hashtext(c) as k from unnest(cast(:ids as text[])) c order by k) keys"),
                 {"cls": LOCK_CLASS, "ids": conversation_ids})


def _run_quietly(fn):
    try:
        fn()
    except Exception:  # noqa: BLE001
        log.exception("background task %s failed", getattr(fn, "__name__", fn))
