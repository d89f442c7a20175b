"""A member's own settings for one conversation: notification level and archive; and "mark as unread".

Each change is the member's alone: it reaches only their tabs, as ``conversation.updated`` with the
conversation as they now see it (recorded with their ``user_id``, so fan-out sends it to them only).
"""
from .. import events
from ..db import transaction
from ..errors import Invalid
from ..notify import LEVELS
from ..schema import memberships
from ..types import Conversation
from . import access, inbox, validate

UNCHANGED = object()


def update_settings(actor_id: str, conversation_id: str, notify=UNCHANGED, archived=UNCHANGED) -> Conversation:
    """Set the actor's level (``"all"|"mentions"|"none"``, or None for the default) and/or archive the
    conversation (``archived=True``: as of its last message) or bring it back; return it."""
    values = {}
    if notify is not UNCHANGED:
        if notify is not None and notify not in LEVELS:
            raise Invalid("Notifications are one of all, mentions or none.", field="notify")
        values["notify"] = notify
    if archived is not UNCHANGED and not isinstance(archived, bool):
        raise Invalid("archived is true or false.", field="archived")
    with transaction(actor_id) as conn:
        member = access.membership(conn, actor_id, conversation_id, lock=True)
        if archived is not UNCHANGED:
            values["archived_seq"] = member.last_seq if archived else None
        if values:
            _update_own(conn, member.id, actor_id, values)
        return inbox.conversation_for(conn, actor_id, member.id)


def mark_unread(actor_id: str, conversation_id: str, seq: int | str) -> int:
    """Mark message ``seq`` and everything after it unread (the read mark moves back to ``seq - 1``, never
    forward); returns the read mark."""
    seq = validate.integer(seq, "seq", minimum=1)
    with transaction(actor_id) as conn:
        member = access.membership(conn, actor_id, conversation_id, lock=True)
        if seq > member.last_seq:
            raise Invalid(f"There is no message {seq} in this conversation (the last is {member.last_seq}).",
                          field="seq")
        if seq - 1 >= member.last_read_seq:
            return member.last_read_seq
        _update_own(conn, member.id, actor_id, {"last_read_seq": seq - 1})
        return seq - 1


def _update_own(conn, conversation_id, user_id, values):
    conn.execute(memberships.update()
                 .where(memberships.c.conversation_id == conversation_id, memberships.c.user_id == user_id)
                 .values(**values))
    events.record(conn, "conversation.updated", str(conversation_id),
                  {"conversation_id": str(conversation_id), "user_id": user_id})


