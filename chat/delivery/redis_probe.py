"""redis-py's readiness probe with the system's ``poll`` when it does not wait, under gevent.

Before each command redis-py checks the pooled connection it hands out: a ``poll`` with a timeout of 0
(is there stale data, or has the server closed it?). Under gevent ``select.poll`` is gevent's cooperative
one, which sets up and tears down watchers on the event loop even when it must not wait: about 20 µs of
CPU a command, close to half of a ``GET``'s client CPU. A zero-timeout ``poll`` never blocks, so the
system's does the same check without the loop. Probes that wait (a Pub/Sub reader's ``get_message(timeout=1)``)
keep gevent's, so the worker's other greenlets run meanwhile.

``install()`` swaps the ``select`` that redis-py's reply-parser module sees (its ``_socket_can_read`` and
``_socket_is_closed`` call ``select.poll()``) for ``ProbeSelect``; it does nothing unless gevent has patched
``select``, and nothing if redis-py no longer has that module (the probe then costs what it did).
"""
import select


class _Poll:
    """A ``poll`` object that picks, when it is asked, the system's (timeout 0) or gevent's (may wait)."""

    __slots__ = ("_registered", "_system")

    def __init__(self, system):
        self._system = system
        self._registered = []

    def register(self, fd, eventmask=select.POLLIN | select.POLLPRI | select.POLLOUT):
        self._registered.append((fd, eventmask))

    def poll(self, timeout=None):
        poller = self._system() if timeout == 0 else select.poll()
        for fd, eventmask in self._registered:
            poller.register(fd, eventmask)
        return poller.poll(timeout)


class ProbeSelect:
    """The ``select`` module as redis-py's parser sees it: the same, but ``poll()`` makes a ``_Poll``."""

    def __init__(self, system_poll):
        self._system_poll = system_poll

    def poll(self):
        return _Poll(self._system_poll)

    def __getattr__(self, name):
        return getattr(select, name)  # POLLIN, POLLHUP, ...


def install():
    """Give redis-py's parser module the zero-timeout probe without the event loop (gevent workers only).
    Returns whether it was installed."""
    try:
        from gevent import monkey
        from redis._parsers import hiredis
    except ImportError:
        return False
    if not monkey.is_module_patched("select") or not hasattr(hiredis, "select"):
        return False
    if not isinstance(hiredis.select, ProbeSelect):
        hiredis.select = ProbeSelect(monkey.get_original("select", "poll"))
    return True
