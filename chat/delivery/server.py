"""Hooks for gunicorn (see ``gunicorn.conf.py``): start each worker's background work after fork, and end
its streams promptly when it is told to stop, so clients reconnect to another worker at once."""
import gc
import logging
import threading
import time

from . import presence_hooks, redis_probe, start

log = logging.getLogger(__name__)

STOP_DELAY = 1.5  # seconds: let the worker close its listening socket before its clients reconnect


def worker_started(worker):
    """gunicorn ``post_worker_init``: ``worker.wsgi`` is this worker's Flask app."""
    redis_probe.install()
    app = worker.wsgi
    if not hasattr(app, "extensions") or "chat.broker" not in app.extensions:
        return
    start(app)
    threading.Thread(target=_close_streams_on_exit, args=(worker, app), name="chat-shutdown",
                     daemon=True).start()
    freeze_startup_objects()


def freeze_startup_objects():
    """Leave what the worker has made so far (modules, the app, its tables: ~100,000 objects) out of every
    later garbage collection. They live as long as the worker, yet a full collection walked them all
    each time: 50-80 ms per collection, felt by whatever request or stream write was waiting."""
    gc.collect()
    gc.freeze()


def _close_streams_on_exit(worker, app):
    while worker.alive:
        time.sleep(0.25)
    time.sleep(STOP_DELAY)
    broker = app.extensions["chat.broker"]
    log.info("worker %s stopping: closing %d streams", worker.pid, broker.local_count())
    broker.close_streams()
    time.sleep(STOP_DELAY)  # the streams end, each noting who left; their tokens then get their grace, not a TTL
    with app.app_context():
        presence_hooks.give_up_left()
