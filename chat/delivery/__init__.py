"""Live delivery: broker, outbox relay and the Server-Sent Events streams.

``app.extensions["chat.broker"]`` is the broker (Redis when ``REDIS_URL`` is set, else in-process) and
``app.extensions["chat.relay"]`` the relay kicked after each commit. Only this package and ``chat.events``
(the action layer's door) touch them; this package reads the database through ``chat.read`` and never
imports ``chat.actions``. Clients and background greenlets are made lazily, in the process that uses them,
so a server may fork after ``create_app``. ``stream.sse_response`` builds the event streams;
``presence_hooks`` keeps presence as streams come and go.
"""
import time

from . import presence_hooks
from .memory import InProcessBroker
from .redis_broker import RedisBroker
from .relay import Relay


def init_app(app):
    """Make the broker and the relay for ``app``."""
    config = app.config
    broker = make_broker(config, app.extensions["chat.db"])
    # Tests publish inside the request (no background threads); servers publish from a background sweep.
    relay = Relay(app, app.extensions["chat.db"], broker, interval=float(config["RELAY_INTERVAL"]),
                  sync=config["DELIVERY_SYNC"], retention=int(config["OUTBOX_RETENTION_SECONDS"]))
    relay.upkeep_hooks.append(presence_hooks.reap_lapsed)
    if hasattr(broker, "trim_idle"):
        relay.upkeep_hooks.append(every(float(config["REDIS_IDLE_SECONDS"]), broker.trim_idle))
    app.extensions["chat.broker"] = broker
    app.extensions["chat.relay"] = relay
    from . import webhooks
    webhooks.init_app(app, relay)  # outgoing webhooks: queued from the relay's batches
    from . import push
    push.init_app(app, relay)  # Web Push: work rows as messages are published, sent by the sweep
    if config["DELIVERY_STATS"]:
        from flask import jsonify

        from .stats import process_stats
        app.add_url_rule("/_delivery/stats", "delivery_stats", lambda: jsonify(process_stats(broker)))


def make_broker(config, db=None):
    """The broker ``config`` asks for; a Redis one names its keys after ``db``'s identity."""
    options = {"log_length": int(config["DELIVERY_LOG_LENGTH"]), "queue_size": int(config["SSE_QUEUE_SIZE"]),
               "max_streams": int(config["MAX_STREAMS_PER_USER"]) or None}
    if config["REDIS_URL"]:
        from .instance import instance_id
        return RedisBroker(config["REDIS_URL"], socket_timeout=float(config["REDIS_SOCKET_TIMEOUT"]),
                           pool_size=int(config["REDIS_POOL_SIZE"]),
                           namespace=(lambda: instance_id(db)) if db is not None else None,
                           blob_seconds=int(config["DELIVERY_REPLAY_SECONDS"]),
                           big_blob_bytes=int(config["DELIVERY_BIG_PAYLOAD_BYTES"]), **options)
    return InProcessBroker(**options)


def health(app):
    """The broker's health for ``/healthz``: "ok", "down", or "none" before ``init_app``."""
    broker = app.extensions.get("chat.broker")
    return broker.health() if broker is not None else "none"


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


def add_upkeep_hook(app, seconds, fn):
    """Run ``fn`` (in an app context) from ``app``'s relay upkeep at most once per ``seconds``; the door for
    upkeep that lives outside this package (it may not import the actions that do it)."""
    relay = app.extensions.get("chat.relay")
    if relay is not None:
        relay.upkeep_hooks.append(every(seconds, fn))
