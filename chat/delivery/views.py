"""Conversations as each member sees them, for ``conversation.updated`` events.

A fixed handful of queries per batch of outbox rows, whatever the size of its conversations: members
(with read state), the conversations, their last messages, and the recent tail of each conversation,
from which every member's capped unread count is worked out without a query per member. Big groups list
only their first ``MEMBERS_IN_EVENT`` members in events (``member_count`` says how many there are);
``GET /api/v1/conversations/{id}`` has them all.
"""
from bisect import bisect_right

import sqlalchemy as sa

from ..actions.inbox import UNREAD_CAP
from ..actions.presenters import USER_COLUMNS, iso, messages_with_attachments, user_dict
from ..schema import conversations, memberships, messages, users

MEMBERS_IN_EVENT = 100
TAIL = 3 * UNREAD_CAP  # recent messages read to count everyone's unread

_UNREAD = sa.text(f"""
select m.user_id,
       (select count(*) from (select 1 from messages x
                              where x.conversation_id = m.conversation_id and x.seq > m.last_read_seq
                                and x.deleted_at is null
                                and (x.sender_id is null or x.sender_id <> m.user_id)
                              limit {UNREAD_CAP}) unread) as unread_count
from memberships m
where m.conversation_id = :cid and m.user_id in :users
""").bindparams(sa.bindparam("users", expanding=True))


class Members:
    """One conversation's members: every id with its role and read mark, and the first few in full."""

    __slots__ = ("ids", "state", "shown")

    def __init__(self):
        self.ids, self.state, self.shown = [], {}, []


def members_by_conversation(conn, conversation_ids):
    """``{conversation_id: Members}``, members in the order they joined."""
    found = {}
    if not conversation_ids:
        return found
    rows = conn.execute(
        sa.select(memberships.c.conversation_id, memberships.c.role, memberships.c.last_read_seq, *USER_COLUMNS)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.conversation_id.in_(conversation_ids))
        .order_by(memberships.c.conversation_id, memberships.c.joined_at, users.c.username))
    for r in rows:
        group = found.get(str(r.conversation_id)) or found.setdefault(str(r.conversation_id), Members())
        user_id = str(r.id)
        group.ids.append(user_id)
        group.state[user_id] = (r.role, r.last_read_seq)
        if len(group.shown) < MEMBERS_IN_EVENT:
            group.shown.append({**user_dict(r), "role": r.role, "last_read_seq": r.last_read_seq})
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
    wanted = {cid: people for cid, people in wanted.items() if people and cid in found and cid in members}
    if not wanted:
        return {}
    last_messages = _last_messages(conn, [found[cid] for cid in wanted])
    views = {}
    for cid, people in wanted.items():
        row, group = found[cid], members[cid]
        shared = {
            "id": cid, "kind": row.kind, "name": row.name, "members": group.shown,
            "member_count": len(group.ids), "last_seq": row.last_seq, "last_message": last_messages.get(cid),
            "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
        }
        present = {u: group.state[u] for u in people if u in group.state}
        unread = _unread_counts(conn, row, {u: read for u, (_, read) in present.items()})
        views[cid] = (shared, {u: {"my_role": role, "unread_count": unread[u], "last_read_seq": read}
                               for u, (role, read) in present.items()})
    return views


def _last_messages(conn, rows):
    wanted = [sa.and_(messages.c.conversation_id == r.id, messages.c.seq == r.last_seq)
              for r in rows if r.last_seq]
    if not wanted:
        return {}
    found = conn.execute(sa.select(messages).where(sa.or_(*wanted))).all()
    return {m["conversation_id"]: m for m in messages_with_attachments(conn, found)}


def _unread_counts(conn, conversation, read_marks):
    """``{user_id: unread}`` (others' live messages after the read mark, capped) from the conversation's
    last ``TAIL`` messages; only someone whose mark is older and whose count there stays under the cap
    needs a query of their own."""
    start = max(0, conversation.last_seq - TAIL)
    tail = conn.execute(sa.select(messages.c.seq, messages.c.sender_id)
                        .where(messages.c.conversation_id == conversation.id, messages.c.seq > start,
                               messages.c.deleted_at.is_(None))
                        .order_by(messages.c.seq)).all()
    seqs, by_sender = [m.seq for m in tail], {}
    for m in tail:
        if m.sender_id is not None:
            by_sender.setdefault(str(m.sender_id), []).append(m.seq)
    counts, older = {}, []
    for user_id, read in read_marks.items():
        own = by_sender.get(user_id, ())
        count = len(seqs) - bisect_right(seqs, read) - (len(own) - bisect_right(own, read))
        if read >= start or count >= UNREAD_CAP:
            counts[user_id] = min(count, UNREAD_CAP)
        else:
            older.append(user_id)
    if older:
        rows = conn.execute(_UNREAD, {"cid": str(conversation.id), "users": older})
        counts.update({str(r.user_id): r.unread_count for r in rows})
    return counts
