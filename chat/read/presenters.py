"""Rows to the plain dicts of shared/API.md ("Objects"): users, messages and their attachments."""
from datetime import datetime

import sqlalchemy as sa

from ..schema import attachments, message_mentions, message_reactions, messages, users
from ..types import Attachment, Message, User
from .formatting import EVERYONE, mentioned, message_html

USER_COLUMNS = (users.c.id, users.c.username, users.c.display_name, users.c.bio, users.c.avatar_url,
                users.c.created_at, users.c.avatar_key, users.c.bot_owner_id)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def user_dict(row) -> User:
    return {
        "id": str(row.id),
        "username": row.username,
        "display_name": row.display_name,
        "bio": row.bio,
        "avatar_url": avatar_url(row.id, row.avatar_key) if row.avatar_key else row.avatar_url,
        "created_at": iso(row.created_at),
        "bot": getattr(row, "bot_owner_id", None) is not None,  # a bot, made by a person (chat.actions.bots)
    }


def avatar_url(user_id, key: str) -> str:
    """Where an uploaded avatar is served; the key's stem in the query changes with every new picture, so a
    browser that cached the old one fetches the new one at once (``chat.api.users.avatar``)."""
    return f"/api/v1/users/{user_id}/avatar?v={avatar_version(key)}"


def avatar_version(key: str) -> str:
    """The part of an avatar's store key that names this picture (a new upload, a new key)."""
    return key.split(".")[0]


def attachment_dict(row) -> Attachment:
    return {
        "id": str(row.id),
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "url": f"/api/v1/attachments/{row.id}/content",
        "width": row.width,
        "height": row.height,
        "duration_ms": row.duration_ms,
        "thumbnail_url": f"/api/v1/attachments/{row.id}/thumbnail" if row.thumbnail_key else None,
    }


MAX_REACTORS_SHOWN = 20  # user_ids per emoji (shared/API.md); count is exact


REPLY_EXCERPT = 200  # characters of the quoted message's body


def reply_dict(row) -> dict:
    """What a reply shows of the message it quotes: ``{id, seq, sender_id, body (excerpt), deleted}``."""
    deleted = row.deleted_at is not None
    return {"id": str(row.id), "seq": row.seq, "sender_id": str(row.sender_id) if row.sender_id else None,
            "body": "" if deleted else row.body[:REPLY_EXCERPT], "deleted": deleted}


def message_dict(row, attachment_rows=(), reactions=(), reply_to=None, mentions=()) -> Message:
    """``mentions`` are ``(user_id, username)`` pairs of the people the message mentions."""
    deleted = row.deleted_at is not None
    revision = row.revision or 1
    return {
        "id": str(row.id),
        "conversation_id": str(row.conversation_id),
        "seq": row.seq,
        "sender_id": str(row.sender_id) if row.sender_id else None,
        "kind": row.kind,
        "body": "" if deleted else row.body,
        "metadata": {} if deleted else (row.metadata or {}),
        "client_id": row.client_id,
        "attachments": [] if deleted else [attachment_dict(a) for a in attachment_rows],
        "created_at": iso(row.created_at),
        "edited_at": iso(row.edited_at),
        "deleted_at": iso(row.deleted_at),
        "revision": revision,
        "body_html": "" if deleted else message_html(row.id, revision, row.body, _linked(row.body, mentions)),
        "reply_to": reply_to,
        "reactions": [] if deleted else list(reactions),
        "mentions": [] if deleted else [user_id for user_id, _ in mentions],
    }


def _linked(body, mentions):
    """Usernames to link in ``body``: the people it mentions, and ``@everyone`` when it reached more people
    than were named (it counted: a group, and someone allowed to)."""
    if not mentions:
        return None
    linked = {username: user_id for user_id, username in mentions}
    if f"@{EVERYONE}" not in body.lower():  # nothing more to find: spare parsing the body again
        return linked
    names, everyone = mentioned(body)
    if everyone and len(mentions) > len(set(names) & set(linked)):
        linked[EVERYONE] = EVERYONE
    return linked


# Selected beside a page of ``messages`` rows: a page without a single attachment then costs no attachments
# query (``messages_with_attachments``). Under RLS it sees exactly what that query would. A scalar subquery
# with a limit, not EXISTS, so that it stays an index probe per row: Postgres may turn an EXISTS into a hash
# of the whole attachments table (each row checked by its policy).
HAS_ATTACHMENTS = (sa.select(sa.literal_column("1")).where(attachments.c.message_id == messages.c.id).limit(1)
                   .scalar_subquery().label("has_attachments"))


# What a page of messages may need besides its rows, built once (building a statement costs about as much
# CPU as running it): attachments, quoted messages, mentions and reactions of some messages.
_IDS = sa.bindparam("ids", expanding=True)
_ATTACHMENTS_OF = sa.select(attachments).where(attachments.c.message_id.in_(_IDS)).order_by(attachments.c.created_at)
_QUOTED = (sa.select(messages.c.id, messages.c.seq, messages.c.sender_id, messages.c.body, messages.c.deleted_at)
           .where(messages.c.id.in_(_IDS)))
_MENTIONED = (sa.select(message_mentions.c.message_id, users.c.id, users.c.username)
              .join(users, users.c.id == message_mentions.c.user_id)
              .where(message_mentions.c.message_id.in_(_IDS))
              .order_by(message_mentions.c.message_id, users.c.username))
_REACTIONS = (sa.select(message_reactions.c.message_id, message_reactions.c.emoji, message_reactions.c.user_id)
              .where(message_reactions.c.message_id.in_(_IDS))
              .order_by(message_reactions.c.created_at, message_reactions.c.user_id))


def messages_with_attachments(conn, rows) -> list[Message]:
    """``message_dict`` for each row, loading all their attachments in one query — none when every row
    says it has none (a ``has_attachments`` column, ``HAS_ATTACHMENTS``)."""
    ids = [r.id for r in rows if r.deleted_at is None and getattr(r, "has_attachments", True)]
    by_message = {}
    if ids:
        found = conn.execute(_ATTACHMENTS_OF, {"ids": ids}).all()
        for a in found:
            by_message.setdefault(str(a.message_id), []).append(a)
    # Every reaction moves its message's revision on: a message at revision 1 has none (most messages, and
    # every message just sent), so it costs no query.
    reactions = reactions_by_message(conn, [r.id for r in rows if r.deleted_at is None and (r.revision or 1) > 1])
    quoted_ids = {r.reply_to_id for r in rows if getattr(r, "reply_to_id", None) is not None}
    quoted = {}
    if quoted_ids:
        found = conn.execute(_QUOTED, {"ids": list(quoted_ids)}).all()
        quoted = {str(q.id): reply_dict(q) for q in found}
    # Only a body with an "@" can mention anyone: most messages cost no query.
    mentions = mentions_by_message(conn, [r.id for r in rows if r.deleted_at is None and "@" in (r.body or "")])
    return [message_dict(r, by_message.get(str(r.id), ()), reactions.get(str(r.id), ()),
                         quoted.get(str(getattr(r, "reply_to_id", None) or "")), mentions.get(str(r.id), ()))
            for r in rows]


def mentions_by_message(conn, message_ids) -> dict[str, list[tuple[str, str]]]:
    """``{message_id: [(user_id, username)]}`` of the people each message mentions."""
    if not message_ids:
        return {}
    rows = conn.execute(_MENTIONED, {"ids": list(message_ids)}).all()
    found: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        found.setdefault(str(r.message_id), []).append((str(r.id), r.username))
    return found


def reactions_by_message(conn, message_ids) -> dict[str, list[dict]]:
    """``{message_id: [{emoji, count, user_ids, me}]}``, emoji in order of first use, people in order of use.

    ``me`` is False here: the same dict goes to every viewer (events, cached fragments); the API marks a
    viewer's own (``chat.actions.reactions.mark_mine``).
    """
    if not message_ids:
        return {}
    rows = conn.execute(_REACTIONS, {"ids": list(message_ids)}).all()
    found: dict[str, dict[str, dict]] = {}
    for r in rows:
        entry = found.setdefault(str(r.message_id), {}).setdefault(
            r.emoji, {"emoji": r.emoji, "count": 0, "user_ids": [], "me": False})
        entry["count"] += 1
        if len(entry["user_ids"]) < MAX_REACTORS_SHOWN:
            entry["user_ids"].append(str(r.user_id))
    return {mid: list(by_emoji.values()) for mid, by_emoji in found.items()}
