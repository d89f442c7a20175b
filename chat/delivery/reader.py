"""The one Pub/Sub reader of a worker process.

One greenlet (a thread outside gevent) owns the process's single Pub/Sub connection: it polls
``get_message(timeout=1)``, hands each message to the broker, pings when the channel is quiet and treats
a connection that stays silent as dead. On any error it closes the connection, backs off (with jitter,
up to 5 s) and subscribes again; once subscribed it tells every open stream to ``RESYNC`` from the
delivery log, which holds whatever was published while the connection was down.
"""
import logging
import random
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .events import RESYNC

log = logging.getLogger(__name__)

PING_AFTER = 5.0     # seconds of quiet before we ask the server whether it is still there
SILENT_LIMIT = 15.0  # seconds without a byte (not even the pong) before the connection counts as dead
MAX_BACKOFF = 5.0


class PubSubReader:
    """Reads ``channel`` for ``broker`` in a background greenlet, reconnecting for ever."""

    def __init__(self, broker, channel):
        self.broker = broker
        self.channel = channel
        self.connected = False
        self.reconnects = 0
        self._thread = None
        self._stopping = False

    def start(self):
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="chat-pubsub-reader", daemon=True)
        self._thread.start()

    def stopping(self):
        """Ask the reader to stop at its next message (or within a second)."""
        self._stopping = True

    def stop(self, wait=2.0):
        self._stopping = True
        if self._thread is not None:
            self._thread.join(wait)

    def _run(self):
        backoff = 0.1
        while not self._stopping:
            client = pubsub = None
            try:
                client = self.broker.new_client(socket_timeout=SILENT_LIMIT, retry=Retry(NoBackoff(), 0),
                                                health_check_interval=0)
                pubsub = self._subscribe(client)
                backoff = 0.1
                self.connected = True
                self.broker.broadcast_local(RESYNC)
                self._read(pubsub)
            except Exception as error:
                if not self._stopping:
                    log.warning("Redis Pub/Sub connection lost (%s); reconnecting", error)
            finally:
                self.connected = False
                _close_quietly(pubsub, client)
            if self._stopping:
                return
            self.reconnects += 1
            time.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _subscribe(self, client):
        pubsub = client.pubsub()
        pubsub.subscribe(self.channel)
        deadline = time.monotonic() + SILENT_LIMIT
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=1)
            if message is not None and message["type"] == "subscribe":
                return pubsub
        raise redis.ConnectionError("the subscription was not confirmed")

    def _read(self, pubsub):
        last_heard = last_ping = time.monotonic()
        while not self._stopping:
            message = pubsub.get_message(timeout=1)
            now = time.monotonic()
            if message is not None:
                last_heard = now
                if message["type"] == "message":
                    self._dispatch(message["data"])
            elif now - last_heard >= SILENT_LIMIT:
                raise redis.ConnectionError(f"no word from Redis for {SILENT_LIMIT:.0f} s")
            elif now - last_heard >= PING_AFTER and now - last_ping >= PING_AFTER:
                pubsub.ping()
                last_ping = now

    def _dispatch(self, data):
        try:
            self.broker.on_message(data)
        except Exception:
            log.exception("could not dispatch a live event")


def _close_quietly(pubsub, client):
    for thing in (pubsub, client):
        if thing is not None:
            try:
                thing.close()
            except Exception:
                pass
