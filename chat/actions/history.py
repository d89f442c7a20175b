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
            query, params = _page_query(viewer_id, conversation_id, before, after)
        except Invalid:
            access.membership(conn, viewer_id, conversation_id)  # a stranger learns nothing, not even that
            raise
        rows = conn.execute(query, {**params, "limit": limit + 1}).all()
        if not rows:
            access.membership(conn, viewer_id, conversation_id)
        has_more = len(rows) > limit
        rows = rows[:limit]
        if after in (None, ""):
            rows.reverse()
        return {"messages": messages_with_attachments(conn, rows), "has_more": has_more}


def _page_query(viewer_id, conversation_id, before, after):
    """The page's statement (built once, ``_PAGES``) and its parameters but ``limit``."""
    params = {"viewer": viewer_id, "cid": conversation_id}
    if after not in (None, ""):
        return _PAGES["after"], {**params, "bound": validate.integer(after, "after", minimum=0)}
    if before not in (None, ""):
        return _PAGES["before"], {**params, "bound": validate.integer(before, "before", minimum=1)}
    return _PAGES["newest"], params


def _page(bound=None, ascending=False):
    member = sa.exists().where(memberships.c.conversation_id == sa.bindparam("cid"),
                               memberships.c.user_id == sa.bindparam("viewer"))
    query = sa.select(messages, HAS_ATTACHMENTS).where(messages.c.conversation_id == sa.bindparam("cid"), member)
    if bound is not None:
        query = query.where(bound)
    return query.order_by(messages.c.seq.asc() if ascending else messages.c.seq.desc()).limit(sa.bindparam("limit"))


# Built once: building a statement costs about as much CPU as running it, and pages are read all the time.
_PAGES = {"newest": _page(), "before": _page(messages.c.seq < sa.bindparam("bound")),
          "after": _page(messages.c.seq > sa.bindparam("bound"), ascending=True)}
