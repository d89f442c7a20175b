"""Reading conversations as one user sees them: the list and one conversation (shapes in ``chat.read``)."""
from datetime import datetime

from ..db import transaction
from ..errors import Invalid
from ..read import conversations as read
from ..types import Conversation
from . import access, validate


def list_conversations(viewer_id: str, limit: int | str | None = 50,
                       before: str | None = None, archived: bool = False) -> list[Conversation]:
    """The viewer's conversations, newest activity first; ``before`` is an ``updated_at`` cursor.
    Archived ones are left out, or (``archived``) only they are listed."""
    limit = validate.integer(limit, "limit", minimum=1, maximum=200, default=50)
    params, filters = {"limit": limit}, f"and {read.ARCHIVED} = {1 if archived else 0}"
    if before:
        try:
            params["before"] = datetime.fromisoformat(str(before).replace("Z", "+00:00"))
        except ValueError:
            raise Invalid("before must be an ISO 8601 timestamp (a conversation's updated_at).",
                          field="before") from None
        if params["before"].tzinfo is None:
            raise Invalid("before must include a UTC offset.", field="before")
        filters += " and c.updated_at < :before"
    with transaction(viewer_id) as conn:
        return read.for_viewer(conn, viewer_id, filters, **params)


def get_conversation(viewer_id: str, conversation_id: str) -> Conversation:
    """One conversation as the viewer sees it; 404 unless they are a member."""
    with transaction(viewer_id) as conn:
        return conversation_for(conn, viewer_id, conversation_id)


def conversation_for(conn, viewer_id: str, conversation_id: str) -> Conversation:
    """``get_conversation`` inside an open transaction."""
    access.membership(conn, viewer_id, conversation_id)
    return read.for_viewer(conn, viewer_id, "and c.id = :cid", limit=1, cid=str(conversation_id))[0]
