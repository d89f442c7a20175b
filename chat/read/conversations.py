"""Conversations as one member sees them: the list and one conversation (API, pages), and per-member views
for ``conversation.updated`` events (fan-out).

One unread count (others' live messages after the member's read mark, capped at ``UNREAD_CAP``), one
members loader and one shape: ``shared_view`` (what every member sees alike) plus ``member_view`` (the
viewer's own role and read state); ``{**shared, **own}`` is the conversation object of shared/API.md.

The fan-out runs a fixed handful of queries per batch of outbox rows, whatever the size of its
conversations: members (with read state), the conversations, their last messages, and the recent tail of
each conversation, from which every member's unread count is worked out without a query per member. Big
groups list only their first ``MEMBERS_IN_EVENT`` members in events (``member_count`` says how many
there are); ``GET /api/v1/conversations/{id}`` has them all. A view sent because of messages alone (the
members did not change) lists only the first ``MEMBERS_IN_BRIEF_VIEW``: a group's list row and header need
none of them, and a view per member per message is most of what a busy group's streams carry.
"""
import functools
from bisect import bisect_right
from types import SimpleNamespace

import sqlalchemy as sa

from .. import notify
from ..schema import UTCDateTime, conversations, memberships, messages, users
from ..types import Conversation, Member, Message
from .presenters import USER_COLUMNS, iso, messages_with_attachments, user_dict

UNREAD_CAP = 100  # the UI shows 99+; counting further is wasted work
MEMBERS_IN_EVENT = 100
MEMBERS_IN_BRIEF_VIEW = 3
TAIL = 3 * UNREAD_CAP  # recent messages read to count everyone's unread

# The unread count of membership ``m``; every unread number the app shows comes from here (or, for
# events, from the same rule applied to conversations' tails in ``unread_counts_by_conversation``).
UNREAD_COUNT = f"""(select count(*) from (select 1 from messages x
                              where x.conversation_id = m.conversation_id and x.seq > m.last_read_seq
                                and x.deleted_at is null
                                and (x.sender_id is null or x.sender_id <> m.user_id)
                              limit {UNREAD_CAP}) unread)"""

# Unread messages of others that mention the member (mentions are never of oneself), capped the same way.
MENTION_COUNT = f"""(select count(*) from (select 1 from message_mentions mm
                              where mm.user_id = m.user_id and mm.conversation_id = m.conversation_id
                                and mm.seq > m.last_read_seq
                              limit {UNREAD_CAP}) mentioned)"""

# The first message after the read mark that counts as unread (the divider goes above it).
FIRST_UNREAD = """(select min(x.seq) from messages x
                   where x.conversation_id = m.conversation_id and x.seq > m.last_read_seq
                     and x.deleted_at is null and (x.sender_id is null or x.sender_id <> m.user_id))"""

# The member's effective level (chat/notify.py): their choice, else the default for the conversation.
LEVEL = f"""coalesce(m.notify, case when c.kind = 'group' and (select count(*) from memberships k
                                  where k.conversation_id = c.id) > {notify.LARGE_GROUP}
                                  then 'mentions' else 'all' end)"""

# Archived: archived at some seq and nothing since would notify the member (chat/notify.py; system messages
# notify nobody). Worked out when reading, so a send never writes anyone else's row.
ARCHIVED = f"""(case when m.archived_seq is null then 0
     when {LEVEL} <> 'none' and exists (select 1 from message_mentions am
              where am.user_id = m.user_id and am.conversation_id = m.conversation_id
                and am.seq > m.archived_seq) then 0
     when {LEVEL} = 'all' and exists (select 1 from messages ax
              where ax.conversation_id = m.conversation_id and ax.seq > m.archived_seq
                and ax.deleted_at is null and ax.kind <> 'system'
                and (ax.sender_id is null or ax.sender_id <> m.user_id)) then 0
     else 1 end)"""

# One query for a viewer's rows: membership, conversation, last message and the unread count.
# ``{filters}`` narrows it (a cursor, one conversation, archived or not) over ``m`` (the membership) and
# ``c`` (the conversation's ``id``, ``kind`` and ``updated_at``). The viewer's conversations are sorted and
# cut to ``:limit`` first, from ``{source}``; only the rows kept are joined to their conversation, last
# message and counts. On Postgres ``{source}`` is ``public.own_conversations()`` (supabase/migrations,
# 20261129003000): the viewer's conversations read without a row-level check on each, which for a person
# in 1,000 conversations is most of the query's time; the rows kept are read under RLS as ever.
CONVERSATIONS_TEMPLATE = """
select c.id, c.kind, c.name, c.last_seq, c.created_at, c.updated_at, m.role, m.last_read_seq,
       m.notify, """ + ARCHIVED + """ as archived, """ + MENTION_COUNT + """ as mention_count,
       """ + FIRST_UNREAD + """ as first_unread_seq,
       """ + UNREAD_COUNT + """ as unread_count,
       lm.id as lm_id, lm.seq as lm_seq, lm.sender_id as lm_sender_id, lm.kind as lm_kind,
       lm.body as lm_body, lm.metadata as lm_metadata, lm.client_id as lm_client_id,
       lm.created_at as lm_created_at, lm.edited_at as lm_edited_at, lm.deleted_at as lm_deleted_at,
       lm.revision as lm_revision, lm.reply_to_id as lm_reply_to_id,
       (select 1 from attachments a where a.message_id = lm.id limit 1) as lm_has_attachments
from (select c.id from memberships m join {source} c on c.id = m.conversation_id
      where m.user_id = :viewer {filters}
      order by c.updated_at desc, c.id desc
      limit :limit) kept
join memberships m on m.conversation_id = kept.id and m.user_id = :viewer
join conversations c on c.id = kept.id
left join messages lm on lm.conversation_id = c.id and lm.seq = c.last_seq
order by c.updated_at desc, c.id desc
"""
SOURCES = {"postgresql": "public.own_conversations()", "sqlite": "conversations"}
CONVERSATIONS_SQL = CONVERSATIONS_TEMPLATE.replace("{source}", SOURCES["postgresql"])

_UNREAD = sa.text(f"""
select m.user_id, {UNREAD_COUNT} as unread_count
from memberships m
where m.conversation_id = :cid and m.user_id in :users
""").bindparams(sa.bindparam("users", expanding=True))

# What members see of their own settings and mentions, for ``conversation.updated`` events (``_own_query``).
_OWN_SQL = f"""
select m.conversation_id, m.user_id, m.notify, {ARCHIVED} as archived, {MENTION_COUNT} as mention_count,
       {FIRST_UNREAD} as first_unread_seq, UNREAD as unread_count
from memberships m join conversations c on c.id = m.conversation_id
where m.conversation_id in :cids
"""


@functools.cache
def _own_query(counted: bool, some: bool):
    """``_OWN_SQL``, also counting unread messages when ``counted`` (cheap for a few people; many are
    counted from a tail instead), for some members (``:users``) or all of them: a list of a thousand ids
    makes a new statement to parse and plan for every size of group."""
    sql = _OWN_SQL.replace("UNREAD as", (UNREAD_COUNT if counted else "null") + " as")
    params = [sa.bindparam("cids", expanding=True)]
    if some:
        sql += " and m.user_id in :users"
        params.append(sa.bindparam("users", expanding=True))
    return sa.text(sql).bindparams(*params)


FEW = 10  # members whose unread counts are counted one by one in SQL rather than from the tail


# --- the shape -------------------------------------------------------------------------------------------
def shared_view(row, members: list[Member], member_count: int, last_message: Message | None) -> dict:
    """What every member sees alike; ``row`` has a conversation's columns, ``members`` are member dicts."""
    return {
        "id": str(row.id), "kind": row.kind, "name": row.name, "members": members,
        "member_count": member_count, "last_seq": row.last_seq, "last_message": last_message,
        "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
    }


def member_view(role: str, unread_count: int, last_read_seq: int, own=None, kind: str = "direct",
                member_count: int = 2) -> dict:
    """What only the viewing member sees: their role, read state, level, archive and mentions.

    ``own`` is a row with ``notify, archived, mention_count, first_unread_seq`` (``_own_query``, or the list's).
    """
    return {"my_role": role, "unread_count": unread_count, "last_read_seq": last_read_seq,
            "notify": notify.level(own.notify if own else None, kind, member_count),
            "archived": bool(own.archived) if own else False,
            "mention_count": own.mention_count if own else 0,
            "first_unread_seq": own.first_unread_seq if own else None}


# --- members -----------------------------------------------------------------------------------------------
class Members:
    """One conversation's members: every id with its role and read mark, and the first few in full."""

    __slots__ = ("ids", "shown", "state")

    def __init__(self):
        self.ids, self.state, self.shown = [], {}, []


# Built once (as are the other statements run for every event or list): building one costs about as much
# CPU as running it.
_MEMBERS = (sa.select(memberships.c.conversation_id, memberships.c.role, memberships.c.last_read_seq,
                      memberships.c.joined_at, *USER_COLUMNS)
            .join(users, users.c.id == memberships.c.user_id)
            .where(memberships.c.conversation_id.in_(sa.bindparam("ids", expanding=True)))
            .order_by(memberships.c.conversation_id, memberships.c.joined_at, users.c.username))


def members_by_conversation(conn, conversation_ids, shown: int | None = MEMBERS_IN_EVENT) -> dict[str, Members]:
    """``{conversation_id: Members}``, members in the order they joined; ``shown=None`` lists all in full."""
    found = {}
    if not conversation_ids:
        return found
    rows = conn.execute(_MEMBERS, {"ids": list(conversation_ids)}).all()
    profiles = {}  # someone in many of these conversations (the viewer of a list) is presented once
    for r in rows:
        group = found.get(str(r.conversation_id)) or found.setdefault(str(r.conversation_id), Members())
        user_id = str(r.id)
        group.ids.append(user_id)
        group.state[user_id] = (r.role, r.last_read_seq)
        if shown is None or len(group.shown) < shown:
            profile = profiles.get(user_id) or profiles.setdefault(user_id, user_dict(r))
            group.shown.append({**profile, "role": r.role, "last_read_seq": r.last_read_seq,
                                "joined_at": iso(r.joined_at)})
    return found


# --- for one viewer (API, pages) -----------------------------------------------------------------------------
def for_viewer(conn, viewer_id: str, filters: str = "", **params) -> list[Conversation]:
    """The viewer's conversations (objects of shared/API.md), newest activity first.

    ``filters`` is SQL appended to the where clause over ``m`` (membership) and ``c`` (the conversation's
    ``id``, ``kind`` and ``updated_at`` only), one of a few constants: each is built into a statement once.
    ``params`` binds it and must include ``limit``. Access is the caller's to check.
    """
    params = {"viewer": viewer_id, **params}
    # One conversation by id needs no sorting: it is read under RLS directly.
    source = "conversations" if "cid" in params else SOURCES.get(conn.dialect.name, "conversations")
    rows = conn.execute(_for_viewer_statement(source, filters, "before" in params), params).all()
    if not rows:
        return []
    members = members_by_conversation(conn, [str(r.id) for r in rows], shown=None)
    first = rows[0]._fields.index("lm_seq")
    last_rows = [_last_message_row(r, first) for r in rows if r.lm_id is not None]
    last_messages = {m["id"]: m for m in messages_with_attachments(conn, last_rows)}
    found = []
    for r in rows:
        group = members.get(str(r.id)) or Members()
        last_message = last_messages.get(str(r.lm_id)) if r.lm_id is not None else None
        found.append({**shared_view(r, group.shown, len(group.ids), last_message),
                      **member_view(r.role, r.unread_count, r.last_read_seq, r, r.kind, len(group.ids))})
    return found


@functools.cache
def _for_viewer_statement(source, filters, before):
    """``CONVERSATIONS_TEMPLATE`` over ``source`` narrowed by ``filters``, built once for each (a handful)."""
    stmt = sa.text(CONVERSATIONS_TEMPLATE.replace("{source}", source).format(filters=filters))
    return stmt.bindparams(*([sa.bindparam("before", type_=UTCDateTime)] if before else [])).columns(
        created_at=UTCDateTime, updated_at=UTCDateTime, lm_created_at=UTCDateTime, lm_edited_at=UTCDateTime,
        lm_deleted_at=UTCDateTime, lm_metadata=messages.c.metadata.type)


_LAST_MESSAGE = ("seq", "sender_id", "kind", "body", "metadata", "client_id", "created_at", "edited_at",
                 "deleted_at", "revision", "reply_to_id", "has_attachments")


def _last_message_row(row, first):
    """The ``lm_*`` columns of a conversation row (``lm_seq`` at index ``first``, then the rest in the order of
    ``_LAST_MESSAGE``), shaped like a row of ``messages``. By position: a column by name costs ~0.7 µs."""
    return SimpleNamespace(id=row.lm_id, conversation_id=row.id,
                           **dict(zip(_LAST_MESSAGE, row[first:first + len(_LAST_MESSAGE)], strict=True)))


# --- for every member at once (events) -------------------------------------------------------------------------
def conversations_by_id(conn, conversation_ids) -> dict:
    if not conversation_ids:
        return {}
    rows = conn.execute(_CONVERSATIONS, {"ids": list(conversation_ids)}).all()
    return {str(r.id): r for r in rows}


_CONVERSATIONS = sa.select(conversations).where(conversations.c.id.in_(sa.bindparam("ids", expanding=True)))


def member_views(conn, wanted: dict[str, set[str]], found: dict, members: dict[str, Members],
                 last_messages: dict[str, Message] | None = None,
                 brief=frozenset()) -> dict[str, tuple[dict, dict[str, dict]]]:
    """``{conversation_id: (shared, {user_id: own})}`` for ``wanted = {conversation_id: user ids}``.

    ``found`` and ``members`` come from ``conversations_by_id`` and ``members_by_conversation``;
    people who are no longer members are left out. ``last_messages`` may hold conversations' last messages
    already at hand (a batch's newest ``message.created``), keyed by conversation; the rest are read. The
    conversations in ``brief`` list only their first ``MEMBERS_IN_BRIEF_VIEW`` members. A fixed handful of
    queries, however many conversations.
    """
    wanted = {cid: people for cid, people in wanted.items() if people and cid in found and cid in members}
    if not wanted:
        return {}
    known = {cid: m for cid, m in (last_messages or {}).items()
             if cid in wanted and m.get("seq") == found[cid].last_seq}
    known.update(_last_messages(conn, [found[cid] for cid in wanted if cid not in known]))
    present = {cid: {u: members[cid].state[u] for u in people if u in members[cid].state}
               for cid, people in wanted.items()}
    few = [cid for cid, marks in present.items() if len(marks) <= FEW]
    many = [cid for cid in present if cid not in few]
    unread = unread_counts_by_conversation(conn, {cid: (found[cid], {u: read for u, (_, read) in present[cid].items()})
                                                  for cid in many})
    own = {}
    for cids, counted in ((few, True), (many, False)):
        if not cids:
            continue
        some = any(len(present[cid]) < len(members[cid].ids) for cid in cids)
        params = {"cids": cids, "users": list({u for cid in cids for u in present[cid]})} if some else {"cids": cids}
        for r in conn.execute(_own_query(counted, some), params).all():
            own[(str(r.conversation_id), str(r.user_id))] = r
            if counted:
                unread.setdefault(str(r.conversation_id), {})[str(r.user_id)] = r.unread_count
    views = {}
    for cid, marks in present.items():
        row, group = found[cid], members[cid]
        shown = group.shown[:MEMBERS_IN_BRIEF_VIEW] if cid in brief else group.shown
        shared = shared_view(row, shown, len(group.ids), known.get(cid))
        counts = unread.get(cid, {})
        views[cid] = (shared, {u: member_view(role, counts.get(u, 0), read, own.get((cid, u)), row.kind,
                                              len(group.ids))
                               for u, (role, read) in marks.items()})
    return views


def _last_messages(conn, rows):
    wanted = [r for r in rows if r.last_seq]
    if not wanted:
        return {}
    params = {}
    for i, r in enumerate(wanted):
        params[f"cid{i}"], params[f"seq{i}"] = str(r.id), r.last_seq
    found = conn.execute(_at_seqs(len(wanted)), params).all()
    return {m["conversation_id"]: m for m in messages_with_attachments(conn, found)}


# The two fan-out statements whose shape follows how many conversations a batch holds (``cid0``, ``seq0``/
# ``start0``, …), built once for each count: most batches hold one or a few.
@functools.lru_cache(maxsize=64)
def _at_seqs(n):
    """The messages at ``seq0`` of ``cid0``, …: ``n`` conversations' last messages."""
    return sa.select(messages).where(sa.or_(*[
        sa.and_(messages.c.conversation_id == sa.bindparam(f"cid{i}"), messages.c.seq == sa.bindparam(f"seq{i}"))
        for i in range(n)]))


@functools.lru_cache(maxsize=64)
def _tails(n):
    """The live messages after ``start0`` of ``cid0``, …, in order: ``n`` conversations' tails."""
    return (sa.select(messages.c.conversation_id, messages.c.seq, messages.c.sender_id)
            .where(sa.or_(*[sa.and_(messages.c.conversation_id == sa.bindparam(f"cid{i}"),
                                    messages.c.seq > sa.bindparam(f"start{i}")) for i in range(n)]),
                   messages.c.deleted_at.is_(None))
            .order_by(messages.c.conversation_id, messages.c.seq))


def unread_counts_by_conversation(conn, wanted) -> dict[str, dict[str, int]]:
    """``{conversation_id: {user_id: unread}}`` for ``wanted = {conversation_id: (conversation row,
    {user_id: last_read_seq})}``, in one query over the conversations' tails."""
    starts = {cid: _tail_start(row, marks) for cid, (row, marks) in wanted.items()}
    tails = {cid: [] for cid in wanted}
    reading = [(cid, start) for cid, start in starts.items() if start < wanted[cid][0].last_seq]
    if reading:
        params = {}
        for i, (cid, start) in enumerate(reading):
            params[f"cid{i}"], params[f"start{i}"] = cid, start
        for m in conn.execute(_tails(len(reading)), params).all():
            tails[str(m.conversation_id)].append(m)
    return {cid: _count_unread(conn, row, marks, starts[cid], tails[cid]) for cid, (row, marks) in wanted.items()}


def _tail_start(conversation, read_marks):
    """The seq after which a conversation's tail is read: no further back than the oldest read mark
    (usually a few messages), nor than ``TAIL`` messages."""
    oldest = min(read_marks.values(), default=conversation.last_seq)
    return max(0, conversation.last_seq - TAIL, min(oldest, conversation.last_seq))


def _count_unread(conn, conversation, read_marks, start, tail):
    """Unread counts from the conversation's messages after ``start``; only someone whose mark is older and
    whose count there stays under the cap needs ``UNREAD_COUNT`` itself."""
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
        rows = conn.execute(_UNREAD, {"cid": str(conversation.id), "users": older}).all()
        counts.update({str(r.user_id): r.unread_count for r in rows})
    return counts
