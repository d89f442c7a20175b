"""Whom a message mentions (shared/API.md "Mentions"), kept with its current text in ``message_mentions``.

Written in the transaction of the send or edit (and dropped with a deletion), so unread mentions are exact
at commit. Members only; never the sender; ``@everyone`` in a group means every other member, but in a group
over ``notify.LARGE_GROUP`` members only its owners and admins may use it (anyone else's stays text).
"""
import sqlalchemy as sa

from ..notify import LARGE_GROUP
from ..read.formatting import mentioned
from ..schema import memberships, message_mentions, users
from .access import MANAGER_ROLES


def record(conn, member, sender_id: str, message_id: str, seq: int, body: str, *,
           replace: bool = False) -> list[str]:
    """Store whom ``body`` mentions for the message ``message_id`` at ``seq``, sent by ``sender_id`` whose
    ``access.membership`` row is ``member``; ``replace`` drops earlier mentions first (an edit)."""
    if replace:
        forget(conn, message_id)
    names, everyone = mentioned(body)
    if not names and not everyone:
        return []
    people = sa.select(memberships.c.user_id).where(memberships.c.conversation_id == member.id)
    if everyone and member.kind == "group" and _may_mention_everyone(conn, member):
        ids = [str(u) for u in conn.execute(people.order_by(memberships.c.joined_at)).scalars()]
    else:
        ids = [str(u) for u in conn.execute(people.join(users, users.c.id == memberships.c.user_id)
                                            .where(users.c.username.in_(names))).scalars()] if names else []
    ids = [u for u in dict.fromkeys(ids) if u != sender_id]
    if ids:
        conn.execute(message_mentions.insert(), [
            {"message_id": message_id, "user_id": u, "conversation_id": member.id, "seq": seq} for u in ids])
    return ids


def forget(conn, message_id: str) -> None:
    """Drop whom a message mentions (an edit replaces them; a deletion mentions nobody)."""
    conn.execute(message_mentions.delete().where(message_mentions.c.message_id == message_id))


def _may_mention_everyone(conn, member) -> bool:
    if member.role in MANAGER_ROLES:
        return True
    count = conn.execute(sa.select(sa.func.count()).select_from(memberships)
                         .where(memberships.c.conversation_id == member.id)).scalar()
    return count <= LARGE_GROUP

