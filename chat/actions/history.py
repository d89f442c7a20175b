"""Message history, paged by keyset on ``seq`` (flat cost at any depth)."""
import sqlalchemy as sa

from ..db import transaction
from ..errors import Invalid
from ..read.presenters import HAS_ATTACHMENTS, messages_with_attachments
from ..schema import messages
from ..types import MessagePage
from . import access, validate


def page_messages(viewer_id: str, conversation_id: str, before: int | str | None = None,
                  after: int | str | None = None, limit: int | str | None = 50) -> MessagePage:
    """``{messages (ascending seq), has_more}``: the newest page, or the page before/after a seq."""
    limit = validate.integer(limit, "limit", minimum=1, maximum=100, default=50)
    if before not in (None, "") and after not in (None, ""):
        raise Invalid("Give before or after, not both.", field="before")
    with transaction(viewer_id) as conn:
        member = access.membership(conn, viewer_id, conversation_id)
        query = sa.select(messages, HAS_ATTACHMENTS).where(messages.c.conversation_id == member.id)
        if after not in (None, ""):
            after = validate.integer(after, "after", minimum=0)
            query = query.where(messages.c.seq > after).order_by(messages.c.seq.asc())
        else:
            if before not in (None, ""):
                before = validate.integer(before, "before", minimum=1)
                query = query.where(messages.c.seq < before)
            query = query.order_by(messages.c.seq.desc())
        rows = conn.execute(query.limit(limit + 1)).all()
        has_more = len(rows) > limit
        rows = rows[:limit]
        if after in (None, ""):
            rows.reverse()
        return {"messages": messages_with_attachments(conn, rows), "has_more": has_more}
