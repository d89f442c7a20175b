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


def _wrote(person):
    return sa.exists().where(messages.c.conversation_id == conversations.c.id, messages.c.sender_id == person)


_mine, _theirs = memberships.alias("mine"), memberships.alias("theirs")
# Built once: announcing presence runs it on every first stream a person opens, and building the statement
# (its aliases and subqueries) cost more CPU than running it.
_CONTACTS_OF = (
    sa.select(_mine.c.user_id.label("person"), _theirs.c.user_id).distinct()
    .join(_mine, _mine.c.conversation_id == _theirs.c.conversation_id)
    .join(conversations, conversations.c.id == _theirs.c.conversation_id)
    .where(_mine.c.user_id.in_(sa.bindparam("ids", expanding=True)), _theirs.c.user_id != _mine.c.user_id,
           sa.or_(conversations.c.kind != "direct", sa.and_(_wrote(_mine.c.user_id), _wrote(_theirs.c.user_id)))))


def contacts_of(conn, user_ids) -> dict[str, list[str]]:
    """``{user_id: contacts}`` for each of ``user_ids`` in one query (see ``contacts``); people with none are
    left out."""
    ids = list(dict.fromkeys(str(u) for u in user_ids))
    if not ids:
        return {}
    found = {}
    for r in conn.execute(_CONTACTS_OF, {"ids": ids}).all():
        found.setdefault(str(r.person), []).append(str(r.user_id))
    return found
