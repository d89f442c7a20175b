"""Reading conversations as one user sees them: the list, one conversation, members."""
from datetime import datetime
from types import SimpleNamespace

import sqlalchemy as sa

from ..db import transaction
from ..errors import Invalid
from ..schema import UTCDateTime, memberships, messages, users
from . import access, validate
from .presenters import USER_COLUMNS, iso, messages_with_attachments, user_dict

UNREAD_CAP = 100  # the UI shows 99+; counting further is wasted work

# One query for the rows: membership, conversation, last message and a capped unread count.
_CONVERSATIONS_SQL = """
select c.id, c.kind, c.name, c.last_seq, c.created_at, c.updated_at, m.role, m.last_read_seq,
       (select count(*) from (select 1 from messages x
                              where x.conversation_id = c.id and x.seq > m.last_read_seq
                                and x.deleted_at is null
                                and (x.sender_id is null or x.sender_id <> m.user_id)
                              limit {cap}) unread) as unread_count,
       lm.id as lm_id, lm.seq as lm_seq, lm.sender_id as lm_sender_id, lm.kind as lm_kind,
       lm.body as lm_body, lm.metadata as lm_metadata, lm.client_id as lm_client_id,
       lm.created_at as lm_created_at, lm.edited_at as lm_edited_at, lm.deleted_at as lm_deleted_at
from memberships m
join conversations c on c.id = m.conversation_id
left join messages lm on lm.conversation_id = c.id and lm.seq = c.last_seq
where m.user_id = :viewer {filters}
order by c.updated_at desc, c.id desc
limit :limit
"""


def list_conversations(viewer_id, limit=50, before=None):
    """The viewer's conversations, newest activity first; ``before`` is an ``updated_at`` cursor."""
    limit = validate.integer(limit, "limit", minimum=1, maximum=200, default=50)
    params, filters = {"viewer": viewer_id, "limit": limit}, ""
    if before:
        try:
            params["before"] = datetime.fromisoformat(str(before).replace("Z", "+00:00"))
        except ValueError:
            raise Invalid("before must be an ISO 8601 timestamp (a conversation's updated_at).",
                          field="before") from None
        if params["before"].tzinfo is None:
            raise Invalid("before must include a UTC offset.", field="before")
        filters = "and c.updated_at < :before"
    with transaction(viewer_id) as conn:
        return _load(conn, viewer_id, filters, params)


def get_conversation(viewer_id, conversation_id):
    """One conversation as the viewer sees it; 404 unless they are a member."""
    with transaction(viewer_id) as conn:
        return conversation_for(conn, viewer_id, conversation_id)


def conversation_for(conn, viewer_id, conversation_id):
    """``get_conversation`` inside an open transaction."""
    access.membership(conn, viewer_id, conversation_id)
    return _load(conn, viewer_id, "and c.id = :cid", {"viewer": viewer_id, "limit": 1,
                                                      "cid": str(conversation_id)})[0]


def _load(conn, viewer_id, filters, params):
    stmt = sa.text(_CONVERSATIONS_SQL.format(cap=UNREAD_CAP, filters=filters))
    stmt = stmt.bindparams(*(
        [sa.bindparam("before", type_=UTCDateTime)] if "before" in params else []
    )).columns(created_at=UTCDateTime, updated_at=UTCDateTime, lm_created_at=UTCDateTime,
               lm_edited_at=UTCDateTime, lm_deleted_at=UTCDateTime, lm_metadata=messages.c.metadata.type)
    rows = conn.execute(stmt, params).all()
    if not rows:
        return []
    members = _members_by_conversation(conn, [str(r.id) for r in rows])
    last_rows = [_last_message_row(r) for r in rows if r.lm_id is not None]
    last_messages = {m["id"]: m for m in messages_with_attachments(conn, last_rows)}
    return [{
        "id": str(r.id),
        "kind": r.kind,
        "name": r.name,
        "members": members.get(str(r.id), []),
        "my_role": r.role,
        "last_seq": r.last_seq,
        "last_message": last_messages.get(str(r.lm_id)) if r.lm_id is not None else None,
        "unread_count": r.unread_count,
        "last_read_seq": r.last_read_seq,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
    } for r in rows]


def _last_message_row(row):
    """The ``lm_*`` columns of a conversation row, shaped like a row of ``messages``."""
    return SimpleNamespace(id=row.lm_id, conversation_id=row.id, **{
        name: getattr(row, "lm_" + name) for name in
        ("seq", "sender_id", "kind", "body", "metadata", "client_id", "created_at", "edited_at", "deleted_at")})


def _members_by_conversation(conn, conversation_ids):
    rows = conn.execute(
        sa.select(memberships.c.conversation_id, memberships.c.role, memberships.c.last_read_seq,
                  *USER_COLUMNS)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.conversation_id.in_(conversation_ids))
        .order_by(memberships.c.joined_at, users.c.username)
    )
    result = {}
    for r in rows:
        member = {**user_dict(r), "role": r.role, "last_read_seq": r.last_read_seq}
        result.setdefault(str(r.conversation_id), []).append(member)
    return result
