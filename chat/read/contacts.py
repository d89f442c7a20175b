"""Who may see whose presence: the people one shares a conversation with.

A group counts as soon as both are members. A direct conversation counts only once both people have
written in it: anyone may open a DM with anyone, and that alone must not let a stranger watch when
someone is online.
"""
import sqlalchemy as sa

from ..schema import conversations, memberships, messages


def contacts(conn, user_id: str) -> list[str]:
    """Everyone who shares a conversation with ``user_id`` (not themselves), as id strings."""
    return contacts_of(conn, [user_id]).get(str(user_id), [])


def contacts_of(conn, user_ids) -> dict[str, list[str]]:
    """``{user_id: contacts}`` for each of ``user_ids`` in one query (see ``contacts``); people with none are
    left out."""
    ids = list(dict.fromkeys(str(u) for u in user_ids))
    if not ids:
        return {}
    mine, theirs = memberships.alias("mine"), memberships.alias("theirs")

    def wrote(person):
        return sa.exists().where(messages.c.conversation_id == conversations.c.id, messages.c.sender_id == person)

    rows = conn.execute(
        sa.select(mine.c.user_id.label("person"), theirs.c.user_id).distinct()
        .join(mine, mine.c.conversation_id == theirs.c.conversation_id)
        .join(conversations, conversations.c.id == theirs.c.conversation_id)
        .where(mine.c.user_id.in_(ids), theirs.c.user_id != mine.c.user_id,
               sa.or_(conversations.c.kind != "direct",
                      sa.and_(wrote(mine.c.user_id), wrote(theirs.c.user_id)))))
    found = {}
    for r in rows:
        found.setdefault(str(r.person), []).append(str(r.user_id))
    return found
