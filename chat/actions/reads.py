"""Read state: a watermark per membership that never moves backwards."""
import sqlalchemy as sa

from .. import events
from ..db import transaction
from ..schema import memberships
from . import access, validate

# Built once (read marks are among the commonest writes); never moves a mark backwards.
_MOVE_MARK = (memberships.update()
              .where(memberships.c.conversation_id == sa.bindparam("cid"), memberships.c.user_id == sa.bindparam("uid"),
                     memberships.c.last_read_seq < sa.bindparam("seq"))
              .values(last_read_seq=sa.bindparam("seq")))


def mark_read(actor_id: str, conversation_id: str, seq: int | str) -> int:
    """Move the actor's read mark up to ``seq`` (capped at the last message); returns the mark."""
    seq = validate.integer(seq, "seq", minimum=0)
    with transaction(actor_id) as conn:
        member = access.membership(conn, actor_id, conversation_id, lock=True)
        seq = min(seq, member.last_seq)
        if seq <= member.last_read_seq:
            return member.last_read_seq
        conn.execute(_MOVE_MARK, {"cid": str(member.id), "uid": actor_id, "seq": seq})
        events.record(conn, "read", str(member.id),
                      {"conversation_id": str(member.id), "user_id": actor_id, "seq": seq})
        return seq
