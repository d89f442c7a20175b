"""Typing and presence: live-only events, sent through ``chat.events`` at once, never logged or replayed.

Both are best effort: when the broker is unreachable they are dropped (and logged), never an error for
the person typing. Presence goes to the people who may see it (``chat.read.contacts``: a shared group,
or a direct conversation both have written in); typing to the conversation's other members.
"""
import sqlalchemy as sa
from flask import current_app

from .. import events
from ..db import get_db, transaction
from ..errors import Invalid, NotFound
from ..read import contacts as read_contacts
from ..schema import memberships
from . import validate

TYPING_EVERY = 2.0      # seconds: at most one typing event per person and conversation
TYPING_EXPIRES = 6      # seconds a client shows "typing…" unless another event renews it
AWAY_SECONDS = 3600     # an "away" that is never cleared lapses
STATUSES = ("online", "away")


def typing(actor_id: str, conversation_id: str) -> bool:
    """Tell the other members that ``actor_id`` is typing; 404 unless a member. True if published; never in a
    group of more than ``TYPING_MAX_MEMBERS`` (there the web UI does not send it either).

    Everyone typing sends this every two seconds, so it is one statement as the server, not a transaction as
    the user: the conversation's member ids, among whom the actor must be. Nothing read is shown to anyone;
    the ids address the event. As the user, Row Level Security would check the reader's membership once per
    member row (1.8 ms of Postgres for a group of 200, against 0.05 ms), in five round trips, not one."""
    conversation_id = validate.path_id(conversation_id)
    with get_db().statement() as conn:
        members = _members(conn, conversation_id)
    if actor_id not in members:
        raise NotFound("No such conversation.")
    if not typing_shown(len(members)):
        return False
    if not events.throttle(f"typing:{conversation_id}:{actor_id}", TYPING_EVERY):
        return False
    data = {"conversation_id": conversation_id, "user_id": actor_id, "expires_in": TYPING_EXPIRES}
    return events.send_live([u for u in members if u != actor_id], "typing", data)


def typing_shown(member_count: int) -> bool:
    """Whether a conversation of ``member_count`` members shows who is typing."""
    return member_count <= int(current_app.config["TYPING_MAX_MEMBERS"])


def set_status(actor_id: str, status: str | None) -> str:
    """Say whether ``actor_id`` is at the screen (``online``) or not (``away``); returns the status shown."""
    if status not in STATUSES:
        raise Invalid("status must be online or away.", field="status")
    events.set_away(actor_id, status == "away", AWAY_SECONDS)
    return events.announce_presence(actor_id)


def presence_of(viewer_id: str, user_ids) -> dict[str, str]:
    """``{user_id: "online"|"away"|"offline"}`` for those of ``user_ids`` whose presence the viewer may see."""
    visible = set(contacts(viewer_id)) | {viewer_id}
    wanted = [u for u in dict.fromkeys(str(u) for u in user_ids) if u in visible]
    return events.statuses(wanted)


def contacts(user_id: str) -> list[str]:
    """The people whose presence ``user_id`` may see (and who may see theirs), not themselves."""
    with transaction() as conn:
        return read_contacts.contacts(conn, user_id)


_MEMBER_IDS = sa.select(memberships.c.user_id).where(memberships.c.conversation_id == sa.bindparam("cid"))


def _members(conn, conversation_id):
    rows = conn.execute(_MEMBER_IDS, {"cid": conversation_id}).all()
    return [str(r.user_id) for r in rows]
