"""Loading with access checks: a conversation you are not a member of does not exist for you."""
import sqlalchemy as sa

from ..errors import Forbidden, Invalid, NotFound
from ..schema import conversations, memberships, messages
from . import validate

MANAGER_ROLES = ("owner", "admin")


# Built once: nearly every action runs one of these, and building a statement costs about as much CPU as
# running it.
_MEMBER_OF = (sa.select(conversations, memberships.c.role, memberships.c.last_read_seq)
              .join(memberships, memberships.c.conversation_id == conversations.c.id)
              .where(conversations.c.id == sa.bindparam("cid"), memberships.c.user_id == sa.bindparam("uid")))
_MEMBERSHIP = {False: _MEMBER_OF, True: _MEMBER_OF.with_for_update(of=conversations)}
_CONVERSATION_OF = sa.select(messages.c.conversation_id).where(messages.c.id == sa.bindparam("id"))
_MESSAGE = sa.select(messages).where(messages.c.id == sa.bindparam("id"))


def membership(conn, user_id, conversation_id, *, lock=False):
    """The conversation joined with ``user_id``'s membership; 404 unless they are a member.

    ``lock`` takes the conversation row lock that orders every write to the conversation.
    """
    conversation_id = validate.path_id(conversation_id)
    row = conn.execute(_MEMBERSHIP[lock], {"cid": conversation_id, "uid": user_id}).first()
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
    conversation_id = conn.execute(_CONVERSATION_OF, {"id": message_id}).scalar()
    if conversation_id is None:
        raise NotFound("No such message.")
    try:
        member = membership(conn, user_id, str(conversation_id), lock=lock)
    except NotFound:
        raise NotFound("No such message.") from None
    message = conn.execute(_MESSAGE, {"id": message_id}).first()
    return message, member
