"""Who sees a person's profile change live: the person and everyone who shares a conversation with them.

Unlike presence (``chat.read.contacts``), a direct conversation counts as soon as it exists: the other
person's name and avatar are in its row and header whether or not anyone has written yet, and a profile is
public to everyone signed in anyway. Someone who shares no conversation sees the change at their next load.
"""
import sqlalchemy as sa

from ..schema import memberships, users
from ..types import User
from .presenters import USER_COLUMNS, user_dict


def audiences(conn, user_ids) -> dict[str, tuple[User, list[str]]]:
    """``{user_id: (public profile now, [recipient ids])}`` for each of ``user_ids`` that exists, in two
    queries; the recipients are the person first, then each co-member once."""
    ids = list(dict.fromkeys(str(u) for u in user_ids))
    if not ids:
        return {}
    found = {str(r.id): (user_dict(r), [str(r.id)]) for r in conn.execute(
        sa.select(*USER_COLUMNS).where(users.c.id.in_(ids)))}
    mine, theirs = memberships.alias("mine"), memberships.alias("theirs")
    rows = conn.execute(
        sa.select(mine.c.user_id.label("person"), theirs.c.user_id.label("viewer")).distinct()
        .join(theirs, theirs.c.conversation_id == mine.c.conversation_id)
        .where(mine.c.user_id.in_(list(found)), theirs.c.user_id != mine.c.user_id)
        .order_by(mine.c.user_id, theirs.c.user_id))
    for r in rows:
        found[str(r.person)][1].append(str(r.viewer))
    return found
