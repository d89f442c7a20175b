"""Conversations as each member sees them, for ``conversation.updated`` events.

A handful of queries per conversation, whatever its size: the shared part (name, members, last message)
once, and every wanted member's own part (role, read mark, capped unread count) in one query.
Big groups list only the first ``MEMBERS_IN_EVENT`` members in events (``member_count`` says how many
there are); ``GET /api/v1/conversations/{id}`` has them all.
"""
import sqlalchemy as sa

from ..actions.inbox import UNREAD_CAP
from ..actions.presenters import USER_COLUMNS, iso, messages_with_attachments, user_dict
from ..schema import conversations, memberships, messages, users

MEMBERS_IN_EVENT = 100

_MEMBER_STATE = sa.text(f"""
select m.user_id, m.role, m.last_read_seq,
       (select count(*) from (select 1 from messages x
                              where x.conversation_id = m.conversation_id and x.seq > m.last_read_seq
                                and x.deleted_at is null
                                and (x.sender_id is null or x.sender_id <> m.user_id)
                              limit {UNREAD_CAP}) unread) as unread_count
from memberships m
where m.conversation_id = :cid and m.user_id in :users
""").bindparams(sa.bindparam("users", expanding=True))


def conversation_views(conn, wanted):
    """``{conversation_id: (shared, {user_id: own})}`` for ``wanted = {conversation_id: user ids}``.

    ``{**shared, **own}`` is the conversation object of shared/API.md as that user sees it. Users who are
    no longer members are left out.
    """
    ids = [cid for cid, people in wanted.items() if people]
    if not ids:
        return {}
    found = {str(r.id): r for r in conn.execute(sa.select(conversations).where(conversations.c.id.in_(ids)))}
    last_messages = _last_messages(conn, list(found.values()))
    views = {}
    for cid, row in found.items():
        members, count = _members(conn, cid)
        shared = {
            "id": cid, "kind": row.kind, "name": row.name, "members": members, "member_count": count,
            "last_seq": row.last_seq, "last_message": last_messages.get(cid),
            "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
        }
        views[cid] = (shared, _own_parts(conn, cid, wanted[cid]))
    return views


def _last_messages(conn, rows):
    wanted = [sa.and_(messages.c.conversation_id == r.id, messages.c.seq == r.last_seq)
              for r in rows if r.last_seq]
    if not wanted:
        return {}
    found = conn.execute(sa.select(messages).where(sa.or_(*wanted))).all()
    return {m["conversation_id"]: m for m in messages_with_attachments(conn, found)}


def _members(conn, conversation_id):
    rows = conn.execute(
        sa.select(memberships.c.role, memberships.c.last_read_seq, *USER_COLUMNS)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.conversation_id == conversation_id)
        .order_by(memberships.c.joined_at, users.c.username)
        .limit(MEMBERS_IN_EVENT)
    ).all()
    count = len(rows)
    if count == MEMBERS_IN_EVENT:
        count = conn.execute(sa.select(sa.func.count()).select_from(memberships)
                             .where(memberships.c.conversation_id == conversation_id)).scalar_one()
    return [{**user_dict(r), "role": r.role, "last_read_seq": r.last_read_seq} for r in rows], count


def _own_parts(conn, conversation_id, user_ids):
    rows = conn.execute(_MEMBER_STATE, {"cid": conversation_id, "users": list(user_ids)})
    return {str(r.user_id): {"my_role": r.role, "unread_count": r.unread_count,
                             "last_read_seq": r.last_read_seq} for r in rows}
