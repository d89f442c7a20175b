"""Message history, paged by keyset on ``seq`` (flat cost at any depth)."""
import sqlalchemy as sa

from ..db import transaction
from ..errors import Invalid
from ..read.presenters import HAS_ATTACHMENTS, messages_with_attachments
from ..schema import memberships, messages
from ..types import MessagePage
from . import access, validate


def page_messages(viewer_id: str, conversation_id: str, before: int | str | None = None,
                  after: int | str | None = None, limit: int | str | None = 50) -> MessagePage:
    """``{messages (ascending seq), has_more}``: the newest page, or the page before/after a seq.

    404 unless the viewer is a member. The page is read with the membership check in the same statement;
    only an empty page (or a bad bound) asks separately whether the viewer is a member at all.
    """
    limit = validate.integer(limit, "limit", minimum=1, maximum=100, default=50)
    if before not in (None, "") and after not in (None, ""):
        raise Invalid("Give before or after, not both.", field="before")
    conversation_id = validate.path_id(conversation_id)
    with transaction(viewer_id) as conn:
        try:
            query = _page_query(viewer_id, conversation_id, before, after)
        except Invalid:
            access.membership(conn, viewer_id, conversation_id)  # a stranger learns nothing, not even that
            raise
        rows = conn.execute(query.limit(limit + 1)).all()
        if not rows:
            access.membership(conn, viewer_id, conversation_id)
        has_more = len(rows) > limit
        rows = rows[:limit]
        if after in (None, ""):
            rows.reverse()
        return {"messages": messages_with_attachments(conn, rows), "has_more": has_more}


def _page_query(viewer_id, conversation_id, before, after):
    member = sa.exists().where(memberships.c.conversation_id == conversation_id,
                               memberships.c.user_id == viewer_id)
    query = sa.select(messages, HAS_ATTACHMENTS).where(messages.c.conversation_id == conversation_id, member)
    if after not in (None, ""):
        after = validate.integer(after, "after", minimum=0)
        return query.where(messages.c.seq > after).order_by(messages.c.seq.asc())
    if before not in (None, ""):
        before = validate.integer(before, "before", minimum=1)
        query = query.where(messages.c.seq < before)
    return query.order_by(messages.c.seq.desc())
