"""Direct conversations and groups: open, create, rename."""
from collections.abc import Iterable

import sqlalchemy as sa

from .. import events
from ..db import transaction
from ..errors import Invalid, NotFound
from ..schema import conversations, memberships, users, utcnow
from ..types import Conversation
from . import access, inbox, system, validate


def open_direct(actor_id: str, other_user_id: str) -> tuple[Conversation, bool]:
    """Get or create the direct conversation between two people; returns (conversation, created)."""
    other_id = validate.uuid_field(other_user_id, "user_id")
    if other_id == actor_id:
        raise Invalid("You cannot start a direct conversation with yourself.", field="user_id")
    key = ":".join(sorted((actor_id, other_id)))
    try:
        with transaction(actor_id) as conn:
            existing = _direct_by_key(conn, key)
            if existing:
                return inbox.conversation_for(conn, actor_id, existing), False
            if conn.execute(sa.select(users.c.id).where(users.c.id == other_id)).first() is None:
                raise NotFound("No such user.", field="user_id")
            now, conversation_id = utcnow(), validate.new_id()
            conn.execute(conversations.insert().values(
                id=conversation_id, kind="direct", name=None, direct_key=key, created_by=actor_id,
                last_seq=0, created_at=now, updated_at=now))
            _add_memberships(conn, conversation_id, [(actor_id, "member"), (other_id, "member")], now)
            return inbox.conversation_for(conn, actor_id, conversation_id), True
    except sa.exc.IntegrityError:
        # Both people opened it at the same moment: the other transaction made it.
        with transaction(actor_id) as conn:
            return inbox.conversation_for(conn, actor_id, _direct_by_key(conn, key)), False


def _direct_by_key(conn, key):
    found = conn.execute(sa.select(conversations.c.id).where(conversations.c.direct_key == key)).scalar()
    return str(found) if found else None


def create_group(actor_id: str, name: str, member_ids: Iterable[str] = ()) -> Conversation:
    """Create a group with the actor as owner and ``member_ids`` as members; return it."""
    name = group_name(name)
    if member_ids is None:
        member_ids = []
    if not isinstance(member_ids, (list, tuple)):
        raise Invalid("The member list must be a list of people's ids.", field="member_ids")
    ids = list(dict.fromkeys(validate.uuid_field(m, "member_ids") for m in member_ids))
    ids = [m for m in ids if m != actor_id]
    if len(ids) > 5000:
        raise Invalid("A group can start with at most 5000 members.", field="member_ids")
    now, conversation_id = utcnow(), validate.new_id()
    with transaction(actor_id) as conn:
        known = {str(r.id) for r in conn.execute(sa.select(users.c.id).where(users.c.id.in_(ids)))} if ids else set()
        if unknown := [m for m in ids if m not in known]:
            raise Invalid(f"No such user: {unknown[0]}.", field="member_ids")
        conn.execute(conversations.insert().values(
            id=conversation_id, kind="group", name=name, direct_key=None, created_by=actor_id,
            last_seq=0, created_at=now, updated_at=now))
        _add_memberships(conn, conversation_id, [(actor_id, "owner")] + [(m, "member") for m in ids], now)
        for user_id in [actor_id, *ids]:
            events.record(conn, "member.added", conversation_id,
                          {"conversation_id": conversation_id, "user_id": user_id, "by": actor_id})
        return inbox.conversation_for(conn, actor_id, conversation_id)


def rename_group(actor_id: str, conversation_id: str, name: str) -> Conversation:
    """Rename a group (owner or admin); return it."""
    name = group_name(name)
    with transaction(actor_id) as conn:
        member = access.membership(conn, actor_id, conversation_id, lock=True)
        access.require_manager(member, "rename it")
        if member.name == name:
            return inbox.conversation_for(conn, actor_id, member.id)
        conn.execute(conversations.update().where(conversations.c.id == member.id)
                     .values(name=name, updated_at=utcnow()))
        system.announce(conn, member.id, actor_id, "conversation.renamed", name=name)
        events.record(conn, "conversation.updated", str(member.id), {"conversation_id": str(member.id)})
        return inbox.conversation_for(conn, actor_id, member.id)


def group_name(value: object) -> str:
    return validate.text(value, "name", max_len=100)


def _add_memberships(conn, conversation_id, members, now):
    # The creator's own row goes first: RLS lets them add others only once they are a member.
    conn.execute(memberships.insert(), [
        {"conversation_id": conversation_id, "user_id": user_id, "role": role, "last_read_seq": 0,
         "joined_at": now}
        for user_id, role in members
    ])
