"""Presence as the streams drive it: a stream opening, renewing and closing, and lapsed streams reaped.

``EventStream`` calls ``stream_opened``/``stream_alive``/``stream_closed`` (in an app context of its own);
the relay's sweep calls ``reap_lapsed``. A change of someone's status is announced, as a live-only
``presence`` event, to the people who may see it (``chat.read.contacts``). All of it is best effort: a
broker or database hiccup is logged and skipped, never an error for the stream.
"""
import logging
import secrets

from flask import current_app

from ..db import transaction
from ..read.contacts import contacts

log = logging.getLogger(__name__)

MAX_HEARTBEAT = 20  # seconds; streams never wait longer between heartbeats (see stream.MAX_HEARTBEAT)


def stream_opened(user_id):
    """Count a new stream for presence; announce the person online if it is their first. Returns its token."""
    token = secrets.token_hex(8)
    if quietly(_presence().connect, user_id, token, _ttl()) is True:
        announce(user_id)
    return token


def stream_alive(user_id, token):
    """Renew a stream's presence (at every heartbeat), so a crashed worker's streams lapse."""
    quietly(_presence().refresh, user_id, token, _ttl())


def stream_closed(user_id, token):
    if quietly(_presence().disconnect, user_id, token) is True:
        announce(user_id)


def reap_lapsed():
    """Announce offline the people whose streams all lapsed without closing (run by the relay sweep)."""
    for user_id in quietly(_presence().expired_users, default=()):
        announce(user_id)


def announce(user_id):
    """Publish ``user_id``'s current status to everyone who may see it; returns the status."""
    status = quietly(_presence().statuses, [user_id], default={user_id: "offline"})[user_id]
    recipients = quietly(_contacts, user_id, default=())
    quietly(_broker().publish_ephemeral, recipients, "presence", {"user_id": user_id, "status": status})
    return status


def _contacts(user_id):
    with transaction() as conn:
        return contacts(conn, user_id)


def _broker():
    return current_app.extensions["chat.broker"]


def _presence():
    return _broker().presence


def _ttl():
    """How long a stream counts as present without renewing: two heartbeats and some slack."""
    return 2 * min(float(current_app.config["SSE_HEARTBEAT_SECONDS"]), MAX_HEARTBEAT) + 10


def quietly(fn, *args, default=None):
    """``fn(*args)``, or ``default`` (logged) if it fails: live-only work is best effort."""
    try:
        return fn(*args)
    except Exception as error:
        log.warning("live event skipped: %s: %s", type(error).__name__, error)
        return default
