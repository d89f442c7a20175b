"""Rows to the plain dicts of shared/API.md ("Objects"): users, messages and their attachments."""
from datetime import datetime

import sqlalchemy as sa

from ..schema import attachments, users
from ..types import Attachment, Message, User

USER_COLUMNS = (users.c.id, users.c.username, users.c.display_name, users.c.bio, users.c.avatar_url,
                users.c.created_at)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def user_dict(row) -> User:
    return {
        "id": str(row.id),
        "username": row.username,
        "display_name": row.display_name,
        "bio": row.bio,
        "avatar_url": row.avatar_url,
        "created_at": iso(row.created_at),
    }


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


def message_dict(row, attachment_rows=()) -> Message:
    deleted = row.deleted_at is not None
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
    }


def messages_with_attachments(conn, rows) -> list[Message]:
    """``message_dict`` for each row, loading all their attachments in one query."""
    ids = [r.id for r in rows if r.deleted_at is None]
    by_message = {}
    if ids:
        found = conn.execute(
            sa.select(attachments).where(attachments.c.message_id.in_(ids)).order_by(attachments.c.created_at)
        )
        for a in found:
            by_message.setdefault(str(a.message_id), []).append(a)
    return [message_dict(r, by_message.get(str(r.id), ())) for r in rows]
