"""Admission control for event streams: how many of this process's streams are being set up at once.

In a reconnect storm (a deploy, a network blip) thousands of streams come back within seconds. Each set-up
signs the person in, reads what they missed and counts their presence; let in all at once, they all wait
on the database and Redis pools, whose timeouts end in errors. Let in ``SETUPS`` at a time, those in
finish quickly and the rest wait their turn.
"""
import os
import random
import threading
from functools import wraps

from flask import current_app, g

from ..errors import busy_response
from .broker import _gevent_patched

SETUPS = 16         # streams being set up at once in one process (auth, catch-up, presence); others queue
# Seconds a stream waits for its turn before a 503 (come back later, Retry-After). Waiting is cheaper than
# coming back (a new connection, request and set-up), so it waits as long as a router lets a response
# start: Heroku's ends a request that has sent nothing for 30 s.
SETUP_WAIT = 25.0


def admission(view):
    """Admission control for a stream route (outermost, so that it also bounds the sign-in's queries).

    At most ``SETUPS`` streams of this process are being set up at once: in a reconnect storm those let in
    finish quickly rather than all waiting on the database and Redis pools (whose timeouts end in errors).
    One that waits longer than ``SETUP_WAIT`` gets 503 with ``Retry-After``; EventSource clients come back.
    A stream holds its turn from the request until it is set up (see ``EventStream.run``).
    """
    @wraps(view)
    def admitted(*args, **kwargs):
        turn = _setups().enter(SETUP_WAIT)
        if turn is None:
            return _busy()
        g.stream_turn = turn
        try:
            response = view(*args, **kwargs)
        except BaseException:
            turn.release()
            raise
        if g.pop("stream_turn", None) is not None:  # no stream took it (401, 429, …)
            turn.release()
        return response
    admitted.opens_stream = True  # see ``setup_aside``
    return admitted


class Turn:
    """A place among the stream set-ups in progress; ``release`` gives it back (once, however often called)."""

    __slots__ = ("_gate",)

    def __init__(self, gate):
        self._gate = gate

    def release(self):
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.release()

    __del__ = release  # a response dropped before its body ever ran (an error after the view) gives it back


class Setups:
    """This process's gate for stream set-ups (made after fork, so that it is gevent's under gevent)."""

    def __init__(self, limit):
        self.pid = os.getpid()
        self.gate = make_semaphore(limit)
        self.waiting = 0  # set-ups waiting for a turn right now

    def enter(self, wait):
        """A ``Turn``, or None if none came free within ``wait`` seconds."""
        if self.gate.acquire(blocking=False):
            return Turn(self.gate)
        self.waiting += 1
        try:
            return Turn(self.gate) if self.gate.acquire(timeout=wait) else None
        finally:
            self.waiting -= 1


def make_semaphore(limit):
    if _gevent_patched():
        import gevent.lock
        return gevent.lock.BoundedSemaphore(limit)
    return threading.BoundedSemaphore(limit)


def _setups():
    setups = current_app.extensions.get("chat.stream.setups")
    if setups is None or setups.pid != os.getpid():
        setups = current_app.extensions["chat.stream.setups"] = Setups(SETUPS)
    return setups


def _busy():
    return busy_response(random.randint(1, 5))  # spread, so that those turned away do not return together


def crowded():
    """Whether streams of this process are waiting for their turn to be set up (a reconnect storm)."""
    setups = current_app.extensions.get("chat.stream.setups")
    return setups is not None and setups.pid == os.getpid() and setups.waiting > 0
