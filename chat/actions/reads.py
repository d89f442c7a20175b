"""Read state: a watermark per membership that never moves backwards."""
from .. import events
from ..db import transaction
from ..schema import memberships
from . import access, validate


def mark_read(actor_id: str, conversation_id: str, seq: int | str) -> int:
    """Move the actor's read mark up to ``seq`` (capped at the last message); returns the mark."""
    seq = validate.integer(seq, "seq", minimum=0)
    with transaction(actor_id) as conn:
        member = access.membership(conn, actor_id, conversation_id, lock=True)
        seq = min(seq, member.last_seq)
        if seq <= member.last_read_seq:
            return member.last_read_seq
        conn.execute(memberships.update()
                     .where(memberships.c.conversation_id == member.id, memberships.c.user_id == actor_id,
                            memberships.c.last_read_seq < seq)
                     .values(last_read_seq=seq))
        events.record(conn, "read", str(member.id),
                      {"conversation_id": str(member.id), "user_id": actor_id, "seq": seq})
        return seq
