"""Reactions: a person toggles their own emoji on a message of a conversation they are a member of.

Adding is idempotent (adding again changes nothing and records nothing), as is removing. An emoji is one
grapheme cluster that is an emoji (skin tones, variation selectors, ZWJ sequences, flags and keycaps
allowed); a message carries at most ``MAX_DISTINCT`` distinct emoji. Each change records
``reaction.added``/``reaction.removed`` with ``{conversation_id, message_id, seq, emoji, user_id, revision}``
(the database moves the message's revision on in the same statement).
"""
import unicodedata

import regex
import sqlalchemy as sa

from .. import events
from ..db import transaction
from ..errors import Conflict, Invalid
from ..read.presenters import messages_with_attachments
from ..schema import message_reactions, messages, utcnow
from ..types import Message
from . import access

MAX_DISTINCT = 20
MAX_EMOJI_LENGTH = 32  # code points: the longest family ZWJ sequences are 11
_EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|[0-9#*]\uFE0F?\u20E3")


def check_emoji(value) -> str:
    """``value`` as a stored emoji (NFC), or Invalid naming the field."""
    if not isinstance(value, str) or not value or len(value) > MAX_EMOJI_LENGTH:
        raise Invalid("A reaction is one emoji.", field="emoji")
    value = unicodedata.normalize("NFC", value)
    if not regex.fullmatch(r"\X", value) or not _EMOJI.match(value):
        raise Invalid("A reaction is one emoji.", field="emoji")
    return value


def add_reaction(actor_id: str, message_id: str, emoji) -> bool:
    """React with ``emoji``; True when it was new."""
    emoji = check_emoji(emoji)
    with transaction(actor_id) as conn:
        message, _member = access.message_for_member(conn, actor_id, message_id, lock=True)
        if message.deleted_at is not None:
            raise Conflict("A deleted message takes no reactions.", code="message_deleted")
        mine = sa.and_(message_reactions.c.message_id == message.id, message_reactions.c.user_id == actor_id,
                       message_reactions.c.emoji == emoji)
        if conn.execute(sa.select(sa.literal(1)).where(mine)).first():
            return False
        distinct = conn.execute(sa.select(message_reactions.c.emoji).distinct()
                                .where(message_reactions.c.message_id == message.id)).scalars().all()
        if emoji not in distinct and len(distinct) >= MAX_DISTINCT:
            raise Invalid(f"A message takes at most {MAX_DISTINCT} different reactions.", field="emoji")
        conn.execute(message_reactions.insert().values(message_id=message.id, user_id=actor_id, emoji=emoji,
                                                       created_at=utcnow()))
        _record(conn, "reaction.added", message, actor_id, emoji)
        return True


def remove_reaction(actor_id: str, message_id: str, emoji) -> bool:
    """Take back your ``emoji``; True when there was one."""
    emoji = check_emoji(emoji)
    with transaction(actor_id) as conn:
        message, _member = access.message_for_member(conn, actor_id, message_id, lock=True)
        removed = conn.execute(message_reactions.delete().where(
            message_reactions.c.message_id == message.id, message_reactions.c.user_id == actor_id,
            message_reactions.c.emoji == emoji)).rowcount
        if removed:
            _record(conn, "reaction.removed", message, actor_id, emoji)
        return bool(removed)


def toggle_reaction(actor_id: str, message_id: str, emoji) -> bool:
    """Add ``emoji`` unless you reacted with it already, else remove it; True when it is now on."""
    if add_reaction(actor_id, message_id, emoji):
        return True
    remove_reaction(actor_id, message_id, emoji)
    return False


def get_message(viewer_id: str, message_id: str) -> Message:
    """One message as its members see it (404 for anyone else), with the viewer's own reactions marked."""
    with transaction(viewer_id) as conn:
        message, _member = access.message_for_member(conn, viewer_id, message_id)
        found = messages_with_attachments(conn, [message])
    return mark_mine(viewer_id, found)[0]


def mark_mine(viewer_id: str, found: list[Message]) -> list[Message]:
    """``found`` with ``me`` set on the reactions the viewer made (one query)."""
    ids = [m["id"] for m in found if m.get("reactions")]
    if not ids:
        return found
    with transaction(viewer_id) as conn:
        mine = {(str(r.message_id), r.emoji) for r in conn.execute(
            sa.select(message_reactions.c.message_id, message_reactions.c.emoji)
            .where(message_reactions.c.message_id.in_(ids), message_reactions.c.user_id == viewer_id))}
    return [{**m, "reactions": [{**r, "me": (m["id"], r["emoji"]) in mine} for r in m["reactions"]]}
            if m.get("reactions") else m for m in found]


def _record(conn, event_type, message, actor_id, emoji):
    revision = conn.execute(sa.select(messages.c.revision).where(messages.c.id == message.id)).scalar_one()
    cid = str(message.conversation_id)
    events.record(conn, event_type, cid, {"conversation_id": cid, "message_id": str(message.id),
                                          "seq": message.seq, "emoji": emoji, "user_id": actor_id,
                                          "revision": revision})
