"""Live delivery: broker, outbox relay and the Server-Sent Events streams.

``app.extensions["chat.broker"]`` is the broker (Redis when ``REDIS_URL`` is set, else in-process) and
``app.extensions["chat.relay"]`` the relay that the action layer kicks after each commit. Clients and
background greenlets are made lazily, in the process that uses them, so a server may fork after
``create_app``. ``stream.sse_response`` builds the event streams.
"""
import time

from .memory import InProcessBroker
from .redis_broker import RedisBroker
from .relay import Relay


def init_app(app):
    """Make the broker and the relay for ``app``."""
    config = app.config
    broker = make_broker(config, app.extensions["chat.db"])
    # Tests publish inside the request (no background threads); servers publish from a background sweep.
    sync = config.get("DELIVERY_SYNC", bool(config.get("TESTING")))
    relay = Relay(app, app.extensions["chat.db"], broker, interval=float(config.get("RELAY_INTERVAL", 1.0)),
                  sync=sync, retention=int(config.get("OUTBOX_RETENTION_SECONDS", 86_400)))
    from ..actions import live
    relay.sweep_hooks.append(live.reap_lapsed)
    if hasattr(broker, "trim_idle"):
        relay.sweep_hooks.append(every(float(config.get("REDIS_IDLE_SECONDS", 60)), broker.trim_idle))
    app.extensions["chat.broker"] = broker
    app.extensions["chat.relay"] = relay
    if config.get("DELIVERY_STATS"):  # for tests and benchmarks only: never on in production
        from flask import jsonify

        from .stats import process_stats
        app.add_url_rule("/_delivery/stats", "delivery_stats", lambda: jsonify(process_stats(broker)))


def make_broker(config, db=None):
    """The broker ``config`` asks for; a Redis one names its keys after ``db``'s identity."""
    options = {"log_length": int(config.get("DELIVERY_LOG_LENGTH", 10_000)),
               "queue_size": int(config.get("SSE_QUEUE_SIZE", 1000)),
               "max_streams": int(config.get("MAX_STREAMS_PER_USER", 20)) or None}
    if config.get("REDIS_URL"):
        from .instance import instance_id
        return RedisBroker(config["REDIS_URL"], socket_timeout=float(config.get("REDIS_SOCKET_TIMEOUT", 2.0)),
                           pool_size=int(config.get("REDIS_POOL_SIZE", 16)),
                           namespace=(lambda: instance_id(db)) if db is not None else None,
                           blob_seconds=int(config.get("DELIVERY_REPLAY_SECONDS", 6 * 3600)),
                           big_blob_bytes=int(config.get("DELIVERY_BIG_PAYLOAD_BYTES", 8 * 1024)), **options)
    return InProcessBroker(**options)


def start(app):
    """Start this process's background work (the broker's reader, the relay's sweep). Call after fork."""
    app.extensions["chat.broker"].start()
    app.extensions["chat.relay"].start()


def stop(app):
    """Stop this process's background work and close its streams (tests, shutdown)."""
    app.extensions["chat.relay"].stop()
    broker = app.extensions["chat.broker"]
    broker.close_streams()
    broker.stop()


def every(seconds, fn):
    """A sweep hook that runs ``fn`` at most once per ``seconds``."""
    last = [time.monotonic()]

    def hook():
        if time.monotonic() - last[0] >= seconds:
            last[0] = time.monotonic()
            fn()
    hook.__name__ = getattr(fn, "__name__", "hook")
    return hook
