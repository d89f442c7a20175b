"""System messages (kind ``system``): the timeline's record of membership and name changes.

Written by the server in the transaction of the change, at the conversation's next seq, with
``metadata = {event, user_id?, by, name?}`` (shared/API.md) and a sentence for a body, so that a late joiner
reads what happened and clients that know nothing of them still show something true. They arrive as
``message.created``; they count as unread but notify nobody (chat/notify.py ``notifies``).
"""
import sqlalchemy as sa

from .. import events
from ..db import as_server
from ..read.presenters import messages_with_attachments
from ..schema import conversations, memberships, messages, users, utcnow
from ..types import Message
from . import validate


def announce(conn, conversation_id: str, actor_id: str, event: str, *, user_id: str | None = None,
             name: str | None = None, actor_stays: bool = True) -> Message:
    """Append the system message for ``event`` by ``actor_id`` (about ``user_id``; a new ``name``).

    Call it with the conversation row locked and while the actor is still a member. ``actor_stays``: the
    actor has read it (they did it), unless they are leaving.
    """
    now, message_id = utcnow(), validate.new_id()
    seq = conn.execute(conversations.update().where(conversations.c.id == conversation_id)
                       .values(last_seq=conversations.c.last_seq + 1, updated_at=now)
                       .returning(conversations.c.last_seq)).scalar_one()
    metadata = {"event": event, "by": actor_id}
    if user_id is not None:
        metadata["user_id"] = user_id
    if name is not None:
        metadata["name"] = name
    body = _sentence(conn, event, actor_id, user_id, name)
    with as_server(conn):  # "system" messages are the server's (RLS refuses them to members)
        conn.execute(messages.insert().values(
            id=message_id, conversation_id=conversation_id, seq=seq, sender_id=actor_id, kind="system",
            body=body, metadata=metadata, client_id=None, created_at=now))
    if actor_stays:
        conn.execute(memberships.update().where(memberships.c.conversation_id == conversation_id,
                                                memberships.c.user_id == actor_id)
                     .values(last_read_seq=seq))
    row = conn.execute(sa.select(messages).where(messages.c.id == message_id)).one()
    message = messages_with_attachments(conn, [row])[0]
    events.record(conn, "message.created", str(conversation_id), message)
    return message


def _sentence(conn, event, actor_id, user_id, name):
    ids = [i for i in (actor_id, user_id) if i]
    names = {str(r.id): r.display_name or r.username
             for r in conn.execute(sa.select(users.c.id, users.c.display_name, users.c.username)
                                   .where(users.c.id.in_(ids)))}
    actor, person = names.get(actor_id, "Someone"), names.get(user_id or "", "someone")
    if event == "member.added":
        return f"{actor} added {person}."
    if event == "member.removed":
        return f"{actor} removed {person}."
    if event == "member.left":
        return f"{actor} left."
    return f"{actor} renamed the group to “{name}”."
