"""Typing and presence: live-only events, published at once, never logged and never replayed.

Both are best effort: when the broker is unreachable they are dropped (and logged), never an error for
the person typing. Presence goes to the people who share a conversation with the person; typing to the
conversation's other members.
"""
import logging
import secrets

import sqlalchemy as sa
from flask import current_app

from ..db import transaction
from ..errors import Invalid
from ..schema import memberships
from . import access

log = logging.getLogger(__name__)

TYPING_EVERY = 2.0      # seconds: at most one typing event per person and conversation
TYPING_EXPIRES = 6      # seconds a client shows "typing…" unless another event renews it
AWAY_SECONDS = 3600     # an "away" that is never cleared lapses
STATUSES = ("online", "away")


def typing(actor_id, conversation_id):
    """Tell the other members that ``actor_id`` is typing; 404 unless a member. True if published."""
    with transaction(actor_id) as conn:
        member = access.membership(conn, actor_id, conversation_id)
        conversation_id = str(member.id)
        if not _quietly(_presence().throttle, f"typing:{conversation_id}:{actor_id}", TYPING_EVERY,
                        default=True):
            return False
        others = [u for u in _members(conn, conversation_id) if u != actor_id]
    data = {"conversation_id": conversation_id, "user_id": actor_id, "expires_in": TYPING_EXPIRES}
    return _quietly(_broker().publish_ephemeral, others, "typing", data, default=False) is not False


def set_status(actor_id, status):
    """Say whether ``actor_id`` is at the screen (``online``) or not (``away``); returns the status shown."""
    if status not in STATUSES:
        raise Invalid("status must be online or away.", field="status")
    _quietly(_presence().set_away, actor_id, status == "away", AWAY_SECONDS)
    return announce(actor_id)


def presence_of(viewer_id, user_ids):
    """``{user_id: "online"|"away"|"offline"}`` for those of ``user_ids`` the viewer shares a conversation with."""
    visible = set(contacts(viewer_id)) | {viewer_id}
    wanted = [u for u in dict.fromkeys(str(u) for u in user_ids) if u in visible]
    return _quietly(_presence().statuses, wanted, default={u: "offline" for u in wanted})


def stream_opened(user_id):
    """Count a new stream for presence; announce the person online if it is their first. Returns its token."""
    token = secrets.token_hex(8)
    if _quietly(_presence().connect, user_id, token, _ttl()) is True:
        announce(user_id)
    return token


def stream_alive(user_id, token):
    """Renew a stream's presence (at every heartbeat), so a crashed worker's streams lapse."""
    _quietly(_presence().refresh, user_id, token, _ttl())


def stream_closed(user_id, token):
    if _quietly(_presence().disconnect, user_id, token) is True:
        announce(user_id)


def reap_lapsed():
    """Announce offline the people whose streams all lapsed without closing (run by the relay sweep)."""
    for user_id in _quietly(_presence().expired_users, default=()):
        announce(user_id)


def announce(user_id):
    """Publish ``user_id``'s current status to everyone who shares a conversation with them."""
    status = _quietly(_presence().statuses, [user_id], default={user_id: "offline"})[user_id]
    recipients = _quietly(contacts, user_id, default=())
    _quietly(_broker().publish_ephemeral, recipients, "presence", {"user_id": user_id, "status": status})
    return status


def contacts(user_id):
    """Everyone who shares a conversation with ``user_id`` (not themselves)."""
    mine, theirs = memberships.alias("mine"), memberships.alias("theirs")
    with transaction() as conn:
        rows = conn.execute(
            sa.select(theirs.c.user_id).distinct()
            .join(mine, mine.c.conversation_id == theirs.c.conversation_id)
            .where(mine.c.user_id == user_id, theirs.c.user_id != user_id))
        return [str(r.user_id) for r in rows]


def _members(conn, conversation_id):
    rows = conn.execute(sa.select(memberships.c.user_id).where(memberships.c.conversation_id == conversation_id))
    return [str(r.user_id) for r in rows]


def _broker():
    return current_app.extensions["chat.broker"]


def _presence():
    return _broker().presence


def _ttl():
    """How long a stream counts as present without renewing: two heartbeats and some slack."""
    return 2 * min(float(current_app.config.get("SSE_HEARTBEAT_SECONDS", 15)), 20) + 10


def _quietly(fn, *args, default=None):
    try:
        return fn(*args)
    except Exception as error:  # noqa: BLE001 — live-only events are best effort
        log.warning("live event skipped: %s: %s", type(error).__name__, error)
        return default
