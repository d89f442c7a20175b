"""Group membership: add, remove, leave (the last owner leaving hands ownership on)."""
import sqlalchemy as sa

from .. import events
from ..db import transaction
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..schema import memberships, users, utcnow
from ..types import Conversation
from . import access, inbox, system, validate


def add_member(actor_id: str, conversation_id: str, user_id: str, role: str = "member") -> Conversation:
    """Add a person to a group (owner or admin); return the conversation."""
    user_id = validate.uuid_field(user_id, "user_id")
    if role not in ("member", "admin"):
        raise Invalid("A new member's role is member or admin.", field="role")
    with transaction(actor_id) as conn:
        member = access.membership(conn, actor_id, conversation_id, lock=True)
        access.require_manager(member, "add members")
        added = conn.execute(sa.select(users.c.id, users.c.bot_owner_id).where(users.c.id == user_id)).first()
        if added is None:
            raise Invalid("No such user.", field="user_id")
        if added.bot_owner_id is not None and str(added.bot_owner_id) != actor_id:
            raise Forbidden("Only the person who made this bot can add it to a conversation.")
        if _role_of(conn, member.id, user_id) is not None:
            raise Conflict("That person is already a member.", field="user_id", code="already_member")
        # A newcomer starts with history already read, up to the line saying they were added (the next seq:
        # the conversation row is locked): the unread badge counts what arrives after.
        conn.execute(memberships.insert().values(conversation_id=member.id, user_id=user_id, role=role,
                                                 last_read_seq=member.last_seq + 1, joined_at=utcnow()))
        events.record(conn, "member.added", str(member.id),
                      {"conversation_id": str(member.id), "user_id": user_id, "by": actor_id})
        system.announce(conn, member.id, actor_id, "member.added", user_id=user_id)
        return inbox.conversation_for(conn, actor_id, member.id)


def remove_member(actor_id: str, conversation_id: str, user_id: str) -> None:
    """Remove ``user_id`` from a group: anyone may leave; owners and admins remove others."""
    user_id = validate.path_id(user_id, "member")
    with transaction(actor_id) as conn:
        member = access.membership(conn, actor_id, conversation_id, lock=True)
        if member.kind != "group":
            raise Invalid("People cannot leave or be removed from a direct conversation.",
                          field="conversation_id")
        target_role = member.role if user_id == actor_id else _role_of(conn, member.id, user_id)
        if target_role is None:
            raise NotFound("That person is not a member.")
        if user_id != actor_id:
            _check_may_remove(member.role, target_role)
        # Everything that needs the actor's own membership (RLS) happens before it may be deleted.
        if target_role == "owner":
            _hand_on_ownership(conn, member.id, leaving_id=user_id)
        events.record(conn, "member.removed", str(member.id),
                      {"conversation_id": str(member.id), "user_id": user_id, "by": actor_id})
        leaving = user_id == actor_id
        system.announce(conn, member.id, actor_id, "member.left" if leaving else "member.removed",
                        user_id=None if leaving else user_id, actor_stays=not leaving)
        conn.execute(memberships.delete().where(memberships.c.conversation_id == member.id,
                                                memberships.c.user_id == user_id))


def _check_may_remove(actor_role, target_role):
    if actor_role not in access.MANAGER_ROLES:
        raise Forbidden("Only the group's owner or an admin can remove other members.")
    if actor_role == "admin" and target_role != "member":
        raise Forbidden("Admins can remove members, but not the owner or other admins.")


def _hand_on_ownership(conn, conversation_id, leaving_id):
    """When the last owner leaves, the longest-standing admin (else member) becomes owner."""
    others = (memberships.c.conversation_id == conversation_id, memberships.c.user_id != leaving_id)
    if conn.execute(sa.select(sa.func.count()).select_from(memberships)
                    .where(*others, memberships.c.role == "owner")).scalar():
        return
    heir = conn.execute(
        sa.select(memberships.c.user_id)
        .where(*others)
        .order_by(sa.case((memberships.c.role == "admin", 0), else_=1), memberships.c.joined_at)
        .limit(1)
    ).scalar()
    if heir is not None:
        conn.execute(memberships.update()
                     .where(memberships.c.conversation_id == conversation_id, memberships.c.user_id == heir)
                     .values(role="owner"))


def _role_of(conn, conversation_id, user_id):
    return conn.execute(sa.select(memberships.c.role).where(
        memberships.c.conversation_id == conversation_id, memberships.c.user_id == user_id)).scalar()
