"""Loading with access checks: a conversation you are not a member of does not exist for you."""
import sqlalchemy as sa

from ..errors import Forbidden, Invalid, NotFound
from ..schema import conversations, memberships, messages
from . import validate

MANAGER_ROLES = ("owner", "admin")


def membership(conn, user_id, conversation_id, *, lock=False):
    """The conversation joined with ``user_id``'s membership; 404 unless they are a member.

    ``lock`` takes the conversation row lock that orders every write to the conversation.
    """
    conversation_id = validate.path_id(conversation_id)
    query = (
        sa.select(conversations, memberships.c.role, memberships.c.last_read_seq)
        .join(memberships, memberships.c.conversation_id == conversations.c.id)
        .where(conversations.c.id == conversation_id, memberships.c.user_id == user_id)
    )
    if lock:
        query = query.with_for_update(of=conversations)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound("No such conversation.")
    return row


def require_manager(row, what="do that"):
    """403 unless the member is an owner or admin of a group."""
    if row.kind != "group":
        raise Invalid(f"Only group conversations can {what}.", field="conversation_id")
    if row.role not in MANAGER_ROLES:
        raise Forbidden(f"Only the group's owner or an admin can {what}.")


def message_for_member(conn, user_id, message_id, *, lock=False):
    """(message, membership) for a message in one of ``user_id``'s conversations; else 404."""
    message_id = validate.path_id(message_id, "message")
    conversation_id = conn.execute(
        sa.select(messages.c.conversation_id).where(messages.c.id == message_id)
    ).scalar()
    if conversation_id is None:
        raise NotFound("No such message.")
    try:
        member = membership(conn, user_id, str(conversation_id), lock=lock)
    except NotFound:
        raise NotFound("No such message.") from None
    message = conn.execute(sa.select(messages).where(messages.c.id == message_id)).first()
    return message, member
