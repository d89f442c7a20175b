"""gunicorn settings of the null insert app: every plain setting of the project's ``gunicorn.conf.py``
(so the same workers, worker class, worker_connections, keepalive, timeouts and access log), without its
hooks (they start the app's relay and Pub/Sub reader); its own hook closes the worker's pool on exit."""
import os
import runpy

_settings = runpy.run_path(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                        "gunicorn.conf.py"))
for _name, _value in _settings.items():
    if not _name.startswith("_") and isinstance(_value, (str, int, float, bool)):
        globals()[_name] = _value


def worker_exit(server, worker):
    """Close the worker's pool while its hub still runs (a pool left to the collector complains)."""
    from bench import nullinsert
    if nullinsert._pool is not None:
        nullinsert._pool.close(timeout=2)
