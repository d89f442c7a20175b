"""Events as a stream carries them, and the cursor that names a place in a user's delivery log.

A cursor is ``"<epoch>:<entry>"``: the epoch names one life of the broker's log (a Redis that lost its
data starts a new one), the entry is a Redis-stream-style id ``"<ms>-<n>"`` that only grows.
"""
import re
from collections import namedtuple

from ..json_text import dumps as json_text

# One event for one user, as the relay hands it to a broker. ``base`` may be shared by many deliveries
# (the same message for every member); ``extra`` holds this user's own fields (unread count, role).
Delivery = namedtuple("Delivery", "user_id type base extra")

ZERO = "0-0"
RESYNC = "resync"  # queue marker: the live feed may have a gap; read the log from the stream's position
CLOSE = "close"    # queue marker: end the stream now (shutdown, or the client could not keep up)
REPLACED = "replaced"  # queue marker: the person opened more streams than allowed; this, the oldest, ends
SESSION = "session"    # ephemeral event type: the person's credentials changed; streams check ``alive``

# "Position unknown": a cursor for a page rendered, or a stream opened, while the broker was down. It
# carries the epoch the server last knew (if any), so the stream can tell a log that began anew (replay
# all of it) from one it cannot place itself in (``reset``). See ``stream.EventStream._start``.
BLIND = "?"

_ENTRY = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")  # ASCII digits only: Redis rejects anything else
_LIMIT = 2 ** 64                                     # each part of a Redis stream id is a 64-bit integer


class Shared:
    """A payload shared by every recipient of one event in this process, serialized at most once."""

    __slots__ = ("_json", "value")

    def __init__(self, value, json_cache=None):
        self.value = value
        self._json = json_cache

    def json(self):
        if self._json is None:
            self._json = json_text(self.value)
        return self._json


class Event:
    """One event for one user. Durable events carry their log ``entry``; typing and presence do not."""

    __slots__ = ("base", "conversation_id", "entry", "epoch", "extra", "k", "row", "type")

    def __init__(self, type, base, extra=None, epoch=None, entry=None, conversation_id=None, row=0, k=0):
        self.type = type
        self.base = base if isinstance(base, Shared) else Shared(base)
        self.extra = extra or None
        self.epoch, self.entry = epoch, entry
        self.conversation_id, self.row, self.k = conversation_id, row, k

    @property
    def id(self):
        return f"{self.epoch}:{self.entry}" if self.entry is not None else None

    @property
    def data(self):
        if self.extra:
            return {**self.base.value, **self.extra}
        return self.base.value

    def data_json(self):
        """``data`` as one line of JSON; the shared part is serialized once per process."""
        if not self.extra:
            return self.base.json()
        shared = self.base.json()
        own = json_text(self.extra)
        return own if shared == "{}" else own[:-1] + "," + shared[1:]

    def as_dict(self):
        """What a renderer receives: ``{"id", "type", "data"}``."""
        return {"id": self.id, "type": self.type, "data": self.data}

    def __repr__(self):
        return f"<Event {self.type} {self.id} row={self.row}.{self.k}>"


def entry_key(entry):
    """``"1700000000000-3"`` as ``(1700000000000, 3)``, for comparing entries."""
    ms, _, n = entry.partition("-")
    return int(ms), int(n or 0)


def valid_entry(entry):
    """Whether ``entry`` is an id Redis accepts: ``<ms>-<n>``, ASCII digits, each part below 2**64."""
    match = _ENTRY.fullmatch(entry) if isinstance(entry, str) else None
    return match is not None and all(int(part) < _LIMIT for part in match.groups())


def parse_cursor(value):
    """``(epoch, entry)`` from an SSE id, or None when it is not one of ours (then: ``reset``).

    Strict on purpose: ``int()`` would accept ``1_000``, spaces and numbers Redis refuses, and a cursor
    Redis refuses must never look like an outage.
    """
    if not value or not isinstance(value, str) or len(value) > 100:
        return None
    epoch, sep, entry = value.rpartition(":")
    if not sep or not epoch or epoch.startswith(BLIND) or not valid_entry(entry):
        return None
    return epoch, entry


def blind_cursor(known_epoch):
    """The "position unknown" cursor, remembering the epoch the server last knew (or none)."""
    return BLIND + (known_epoch or "")


def parse_blind(value):
    """For a "position unknown" cursor, the epoch it remembers (``""`` if none); else None."""
    if isinstance(value, str) and value.startswith(BLIND) and len(value) <= 100 and ":" not in value:
        return value[len(BLIND):]
    return None
