"""Records events in the outbox inside the transaction that causes them.

The relay (``chat.delivery.relay``) publishes committed rows to the broker and marks them published;
it expands each row into per-user events for the conversation's members at publish time.
"""
from flask import current_app

from .db import after_commit, server_insert
from .schema import outbox, utcnow

EVENT_TYPES = (
    "message.created", "message.updated", "message.deleted",
    "conversation.updated", "member.added", "member.removed", "read",
)


def record(conn, event_type, conversation_id, payload):
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
