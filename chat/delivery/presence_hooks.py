"""Presence as the streams drive it: a stream opening and closing, tokens renewed and lapsed ones reaped.

``EventStream`` calls ``stream_opened``/``stream_closed`` (in an app context of its own); the relay's upkeep
calls ``reap_lapsed`` (every ``RELAY_INTERVAL``), which also renews this process's tokens once a heartbeat. A
change of someone's status is announced, as a live-only ``presence`` event, to the people who may see it
(``chat.read.contacts``) and are online to receive it; a crowd's lapses are announced together
(``announce_many``). All of it is best effort: a broker or database hiccup is logged and skipped,
never an error for the stream.

Cheap when streams come and go in crowds (a reconnect storm, a deploy): a process holds one token per
person, however many of their streams it serves, and renews all of its tokens once a heartbeat, one script
call per 500 people, instead of a round trip per stream. A person's last stream here gives the token up with a grace
(``GRACE_SECONDS``): a stream reopened within it announces nothing, and only a person who stays away is
announced offline, by the upkeep, once the grace has passed — and not while this process's streams queue to
be set up (``admission.crowded``), when many are on their way back. Announcing "online" happens only for a
person whom others were told is offline (no live token anywhere, and no lapsed one the upkeep has yet to
report).
"""
import logging
import os
import secrets
import threading
import time

from flask import current_app

from ..db import transaction
from ..read.contacts import contacts_of
from . import admission

log = logging.getLogger(__name__)

MAX_HEARTBEAT = 20  # seconds; streams never wait longer between heartbeats (see stream.MAX_HEARTBEAT)
# A closed stream still counts this long, so one reopened meanwhile announces nothing. Reconnecting takes
# longer on a busy server: with 10 s, people back from a few seconds away were announced offline and online
# again to every contact, which made the server busier still (a day at full size: 321,000-347,000 presence
# events in runs that tipped over, none in one that did not). Zulip waits 140 s before showing anyone offline.
# A grace never outlasts the token's own life (``_ttl``): with the default heartbeat, 25-30 s after the close.
GRACE_SECONDS = 30
# While a process's streams queue to be set up, lapses wait this long after its last upkeep. A storm comes
# back in waves (each client's retry is spread over seconds): a short hold let lapses through between
# waves, and each was announced offline, then online again moments later, to every contact.
HOLD_SECONDS = 30


class LocalStreams:
    """This process's streams per person, and its one presence token (made after fork)."""

    __slots__ = ("counts", "left", "lock", "pid", "renewed", "token")

    def __init__(self):
        self.counts = {}  # user_id -> streams open here
        self.left = {}    # user_id -> when their last stream here closed, until the upkeep gives the token up
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.token = f"{self.pid}-{secrets.token_hex(6)}"
        self.renewed = time.monotonic()

    def opened(self, user_id):
        """True if this is the person's first stream here."""
        with self.lock:
            count = self.counts.get(user_id, 0)
            self.counts[user_id] = count + 1
            self.left.pop(user_id, None)
            return count == 0

    def closed(self, user_id):
        """True if that was the person's last stream here."""
        with self.lock:
            count = self.counts.get(user_id, 0) - 1
            if count > 0:
                self.counts[user_id] = count
                return False
            self.counts.pop(user_id, None)
            return count == 0

    def leave(self, user_id):
        """Note that the person's last stream here closed just now (see ``give_up_left``)."""
        with self.lock:
            if user_id not in self.counts:
                self.left[user_id] = time.time()

    def take_left(self):
        """``{user_id: when they left}`` of those noted, and forget them."""
        with self.lock:
            left, self.left = self.left, {}
            return left

    def users(self):
        with self.lock:
            return list(self.counts)


def stream_opened(user_id):
    """Count a new stream for presence; announce the person online if nobody counted them. Returns the
    token to hand back to ``stream_closed``."""
    local = _local()
    if local.opened(user_id) and quietly(_presence().connect, user_id, local.token, _ttl()) is True:
        announce(user_id)
    return local.token


def stream_closed(user_id, token):
    """Count a stream gone. With a grace (servers), the token is given up by the upkeep, within a second
    (``give_up_left``): thousands of streams closing at once (a deploy, a network blip) would otherwise each
    take a Redis round trip and a pooled connection from the streams coming back. Without one (tests), the
    person is given up, and if it was their last stream anywhere announced offline, at once."""
    local = _local()
    if local.token != token or not local.closed(user_id):
        return  # another stream of theirs is open here (or the token is from before a fork)
    grace = _grace()
    if grace:
        local.leave(user_id)
    elif quietly(_presence().disconnect, user_id, token) is True:
        announce(user_id)


def give_up_left():
    """Give up, in one round trip, the tokens of the people whose last stream here closed since the last
    call, each with its grace counted from the close (a token renewed since, by a stream reopened here, is
    kept)."""
    local = _local()
    left = local.take_left()
    if left:
        quietly(_presence().leave_many, left, local.token, GRACE_SECONDS, _ttl())


def reap_lapsed():
    """Run by the relay's upkeep (beside its sweep, so a crowd of lapses never holds up a batch): once a
    heartbeat, renew this process's tokens in one round trip (and announce anyone whose token had lapsed
    meanwhile, e.g. across a Redis restart); announce offline the people whose tokens all lapsed (closed past
    their grace, or a crashed process's)."""
    give_up_left()
    local = _local()
    if time.monotonic() - local.renewed >= _heartbeat():
        local.renewed = time.monotonic()
        announce_many(quietly(_presence().refresh_many, local.users(), local.token, _ttl(), default=()))
    if admission.crowded():
        # Streams are queueing to come back (a deploy, a reconnect storm): those whose grace ran out while
        # they waited are announced neither offline now nor online once back in. Every process's upkeep
        # holds off (the crowd may be queueing here for people whose lapse another process would report);
        # whoever stays away is announced once the crowd is in.
        quietly(_presence().hold, HOLD_SECONDS)
        return
    if quietly(_presence().held, default=False):
        return
    announce_many(quietly(_presence().expired_users, default=()))


def announce(user_id):
    """Publish ``user_id``'s current status to everyone who may see it; returns the status."""
    return announce_many([user_id]).get(user_id, "offline")


def announce_many(user_ids):
    """``announce`` for many people in a fixed handful of round trips (a crowd's lapses after a deploy):
    their statuses, their contacts in one query, and which of those are online at all. An event names
    only online contacts (nobody else has a stream to receive it), and a person none of whose contacts is
    online is announced to nobody. Returns ``{user_id: status}``."""
    user_ids = list(dict.fromkeys(user_ids))
    if not user_ids:
        return {}
    statuses = quietly(_presence().statuses, user_ids, default={u: "offline" for u in user_ids})
    audiences = quietly(_contacts_of, user_ids, default={})
    online = quietly(_presence().online_among, {c for people in audiences.values() for c in people},
                     default=set())
    for user_id in user_ids:
        recipients = [c for c in audiences.get(user_id, ()) if c in online]
        if recipients:
            quietly(_broker().publish_ephemeral, recipients, "presence",
                    {"user_id": user_id, "status": statuses[user_id]})
    return statuses


def _contacts_of(user_ids):
    with transaction() as conn:
        return contacts_of(conn, user_ids)


def _broker():
    return current_app.extensions["chat.broker"]


def _presence():
    return _broker().presence


def _local():
    extensions = current_app.extensions
    local = extensions.get("chat.presence.local")
    if local is None or local.pid != os.getpid():
        local = extensions["chat.presence.local"] = LocalStreams()
    return local


def _heartbeat():
    return min(float(current_app.config["SSE_HEARTBEAT_SECONDS"]), MAX_HEARTBEAT)


def _ttl():
    """How long a token counts as present without renewing: two heartbeats and some slack."""
    return 2 * _heartbeat() + 10


def _grace():
    """How long a closed stream still counts: none without a background upkeep (tests publish in the
    request), since nothing would then announce the lapse; the close announces at once."""
    return 0 if current_app.extensions["chat.relay"].sync else GRACE_SECONDS


def quietly(fn, *args, default=None):
    """``fn(*args)``, or ``default`` (logged) if it fails: live-only work is best effort."""
    try:
        return fn(*args)
    except Exception as error:
        log.warning("live event skipped: %s: %s", type(error).__name__, error)
        return default
