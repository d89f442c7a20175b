"""Conversations as each member sees them, for ``conversation.updated`` events.

A fixed handful of queries per batch of outbox rows, whatever the number and size of its conversations:
the members (with their people), the conversations, their last messages, and every wanted member's own
part (role, read mark, capped unread count). Big groups list only their first ``MEMBERS_IN_EVENT``
members in events (``member_count`` says how many there are); ``GET /api/v1/conversations/{id}`` has
them all.
"""
import sqlalchemy as sa

from ..actions.inbox import UNREAD_CAP
from ..actions.presenters import USER_COLUMNS, iso, messages_with_attachments, user_dict
from ..schema import conversations, memberships, messages, users

MEMBERS_IN_EVENT = 100

_OWN_PARTS = sa.text(f"""
select m.conversation_id, m.user_id, m.role, m.last_read_seq,
       (select count(*) from (select 1 from messages x
                              where x.conversation_id = m.conversation_id and x.seq > m.last_read_seq
                                and x.deleted_at is null
                                and (x.sender_id is null or x.sender_id <> m.user_id)
                              limit {UNREAD_CAP}) unread) as unread_count
from memberships m
where m.conversation_id in :cids and m.user_id in :users
""").bindparams(sa.bindparam("cids", expanding=True), sa.bindparam("users", expanding=True))


def members_by_conversation(conn, conversation_ids):
    """``{conversation_id: [member…]}``: user dicts with ``role`` and ``last_read_seq``, oldest first."""
    if not conversation_ids:
        return {}
    rows = conn.execute(
        sa.select(memberships.c.conversation_id, memberships.c.role, memberships.c.last_read_seq, *USER_COLUMNS)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.conversation_id.in_(conversation_ids))
        .order_by(memberships.c.conversation_id, memberships.c.joined_at, users.c.username))
    found = {}
    for r in rows:
        found.setdefault(str(r.conversation_id), []).append(
            {**user_dict(r), "role": r.role, "last_read_seq": r.last_read_seq})
    return found


def conversations_by_id(conn, conversation_ids):
    if not conversation_ids:
        return {}
    rows = conn.execute(sa.select(conversations).where(conversations.c.id.in_(conversation_ids)))
    return {str(r.id): r for r in rows}


def conversation_views(conn, wanted, found, members):
    """``{conversation_id: (shared, {user_id: own})}`` for ``wanted = {conversation_id: user ids}``.

    ``found`` and ``members`` come from ``conversations_by_id`` and ``members_by_conversation``.
    ``{**shared, **own}`` is the conversation object of shared/API.md as that user sees it; people who
    are no longer members are left out.
    """
    wanted = {cid: people for cid, people in wanted.items() if people and cid in found}
    if not wanted:
        return {}
    last_messages = _last_messages(conn, [found[cid] for cid in wanted])
    own = _own_parts(conn, wanted)
    views = {}
    for cid in wanted:
        row, people = found[cid], members.get(cid, [])
        shared = {
            "id": cid, "kind": row.kind, "name": row.name, "members": people[:MEMBERS_IN_EVENT],
            "member_count": len(people), "last_seq": row.last_seq, "last_message": last_messages.get(cid),
            "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
        }
        views[cid] = (shared, own.get(cid, {}))
    return views


def _last_messages(conn, rows):
    wanted = [sa.and_(messages.c.conversation_id == r.id, messages.c.seq == r.last_seq)
              for r in rows if r.last_seq]
    if not wanted:
        return {}
    found = conn.execute(sa.select(messages).where(sa.or_(*wanted))).all()
    return {m["conversation_id"]: m for m in messages_with_attachments(conn, found)}


def _own_parts(conn, wanted):
    people = sorted({u for group in wanted.values() for u in group})
    rows = conn.execute(_OWN_PARTS, {"cids": list(wanted), "users": people})
    own = {}
    for r in rows:
        cid, user_id = str(r.conversation_id), str(r.user_id)
        if user_id in wanted[cid]:
            own.setdefault(cid, {})[user_id] = {"my_role": r.role, "unread_count": r.unread_count,
                                               "last_read_seq": r.last_read_seq}
    return own
