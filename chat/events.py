"""The action layer's one door to delivery: durable events, live-only events, presence and throttles.

Durable events (``record``) are outbox rows written in the transaction that causes them; the relay
(``chat.delivery.relay``) publishes committed rows to the broker, expanding each into per-user events for
the conversation's members at publish time. Live-only events (``send_live``: typing, presence) are
published at once, never logged and never replayed. Everything live-only is best effort: when the broker
is unreachable the event is dropped (and logged), never an error for the person acting.

A profile belongs to no conversation: ``user.updated`` is recorded with no conversation and a payload
naming only the person, and the relay sends it once to each person who shares a conversation with them
(and to themselves), whatever the number of conversations shared, with the profile as it is at publish
time. One logged event per recipient keeps exactly-once on resume as for every other event; one per
shared conversation would show the change once per conversation.

Nothing in ``chat.actions`` reaches the broker or the relay any other way (tests/test_architecture.py).
"""
from flask import current_app

from .db import after_commit, server_insert
from .delivery import presence_hooks
from .delivery.presence_hooks import quietly
from .schema import outbox, utcnow

EVENT_TYPES = (
    "message.created", "message.updated", "message.deleted",
    "conversation.updated", "member.added", "member.removed", "read",
    "reaction.added", "reaction.removed",
    "user.updated",
)


def record(conn, event_type: str, conversation_id: str | None, payload: dict) -> None:
    """Insert an outbox row for ``event_type`` and have the relay publish it once the commit succeeds.

    Call it after the conversation row has been locked (every conversation write updates that row
    first), so outbox ids within a conversation follow commit order.
    """
    assert event_type in EVENT_TYPES, event_type
    server_insert(conn, outbox, {  # only the server writes the outbox (see chat.db)
        "conversation_id": conversation_id, "event_type": event_type, "payload": payload, "created_at": utcnow(),
    })
    relay = current_app.extensions.get("chat.relay")
    if relay is not None:
        after_commit(conn, relay.kick, key="outbox.kick")


def recorded_by_statement() -> None:
    """A statement that committed on its own has written outbox rows (``public.append_message``, whose
    rows only the server can write, like ``record``'s): have the relay publish them now."""
    relay = current_app.extensions.get("chat.relay")
    if relay is not None:
        relay.kick()


def send_live(user_ids, event_type: str, data: dict) -> bool:
    """Publish a live-only event to ``user_ids`` now; False (never an error) if it could not be sent."""
    return quietly(_broker().publish_ephemeral, list(user_ids), event_type, data, default=False) is not False


def throttle(key: str, seconds: float) -> bool:
    """True at most once per ``seconds`` for ``key`` (across processes); True if the broker cannot tell."""
    return quietly(_broker().presence.throttle, key, seconds, default=True)


def set_away(user_id: str, away: bool, seconds: float) -> None:
    """Mark ``user_id`` away (for at most ``seconds``) or back at the screen."""
    quietly(_broker().presence.set_away, user_id, away, seconds)


def statuses(user_ids) -> dict[str, str]:
    """``{user_id: "online"|"away"|"offline"}``; everyone offline if the broker cannot tell."""
    user_ids = list(user_ids)
    return quietly(_broker().presence.statuses, user_ids, default={u: "offline" for u in user_ids})


def announce_presence(user_id: str) -> str:
    """Publish ``user_id``'s current status to the people who may see it; returns that status."""
    return presence_hooks.announce(user_id)


def _broker():
    return current_app.extensions["chat.broker"]

