"""gunicorn settings for production: ``gunicorn app:app -c gunicorn.conf.py`` (see Procfile).

Every setting can be overridden from the environment (``WEB_CONCURRENCY``, ``PORT``, ...) or on the
command line. Keep this file free of app imports: the master process must not load the app (no preload),
because gevent patches the standard library in each worker after fork, and psycopg, Redis clients and
database pools must be created after that, in the worker.

Streams: each open Server-Sent Events stream holds one greenlet and one socket in a worker, about
20-30 KB. One gevent worker holds up to ``worker_connections`` streams (default 10,000 here); a box with
2 cores runs 2 workers (WEB_CONCURRENCY=2). The limit is file descriptors: raise ``ulimit -n`` to
comfortably more than ``workers * worker_connections``.
"""
import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gevent"
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "10000"))  # gunicorn's default is 1000
# Connections the kernel holds until a worker accepts them (gunicorn's default is 2048; the kernel caps it
# at net.core.somaxconn). A reconnect storm brings every stream back at once: connections beyond the queue
# are dropped or reset and come back seconds later.
backlog = int(os.environ.get("GUNICORN_BACKLOG", "4096"))
preload_app = False  # gevent patches after fork; clients and pools are made in each worker

# With async workers `timeout` is a liveness check, not a request timeout: the master restarts a worker
# that has not notified it for this long, i.e. whose event loop is blocked. Long-lived streams are fine.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM a worker stops accepting, ends its streams (clients resume on another worker with their
# Last-Event-ID) and finishes ordinary requests; Heroku sends SIGKILL 30 s after SIGTERM.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# gunicorn >= 25 opens a control socket at ~/.gunicorn/gunicorn.ctl by default, which several servers on
# one box would fight over; opt in with GUNICORN_CONTROL_SOCKET=<path>.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True


def on_starting(server):
    """Refuse several workers without Redis (the in-process broker cannot reach across processes) and, in
    production, without S3 (each machine's local disk holds only its own uploads)."""
    count = server.cfg.workers
    if count > 1 and not os.environ.get("REDIS_URL"):
        raise RuntimeError(
            f"REDIS_URL is not set, so live delivery would use the in-process broker, which lives inside "
            f"one process: with {count} workers, a message sent through one worker would never reach "
            f"streams held by another. Set REDIS_URL, or run one worker (WEB_CONCURRENCY=1)."
        )
    production = os.environ.get("FLASK_DEBUG") != "1" and os.environ.get("CHAT_ENV", "development") == "production"
    local_disk = not os.environ.get("S3_BUCKET") and os.environ.get("UPLOAD_FOLDER_SHARED") != "1"
    if count > 1 and production and local_disk:
        raise RuntimeError(
            f"S3_BUCKET is not set, so attachments would be stored on this machine's local disk: with {count} "
            f"workers in production, a file uploaded through one machine would be missing on the others and "
            f"lost at the next deploy. Set S3_BUCKET (see the README), or run one worker (WEB_CONCURRENCY=1); on "
            f"one machine whose disk every worker shares and deploys keep, set UPLOAD_FOLDER_SHARED=1."
        )
    os.environ["CHAT_SERVER_WORKERS"] = str(count)  # the app checks both too (chat.delivery.memory, chat.storage)


def post_worker_init(worker):
    """Start this worker's relay sweep and Pub/Sub reader; end its streams promptly when it stops."""
    from chat.delivery.server import worker_started
    worker_started(worker)
