"""Messages: send (idempotent by client_id), edit (history kept), delete (tombstone).

A ``client_id`` names one send of one sender in one conversation: repeating it there returns the first
message (200); the same ``client_id`` in another conversation is a new message.
"""
import json
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import JSONB

from .. import events
from ..db import transaction
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..read.presenters import mentions_by_message, message_dict, messages_with_attachments, reply_dict
from ..schema import attachments, conversations, memberships, message_edits, messages, utcnow
from ..types import Edit, Message
from . import access, mentions, validate
from .attachments import discard_with_message

CLIENT_KINDS = ("text", "image", "file", "audio")  # "system" messages are written by the server only
MAX_METADATA_BYTES = 8192
MAX_ATTACHMENTS = 10


def send_message(actor_id, conversation_id, body, client_id=None, kind="text", metadata=None,
                 attachment_ids=None, reply_to_id=None):
    """Append a message; returns (message, created). A repeated ``client_id`` returns the first one.

    ``reply_to_id`` quotes an earlier message of the same conversation (else 422 naming the field).
    """
    fields = _check_fields(body, client_id, kind, metadata, attachment_ids)
    fields["reply_to_id"] = (None if reply_to_id in (None, "")
                             else validate.uuid_field(reply_to_id, "reply_to_id"))
    try:
        return _send(actor_id, conversation_id, **fields)
    except sa.exc.IntegrityError:
        # The same client_id raced itself: the other transaction won and holds the message.
        if fields["client_id"] is None:
            raise
        with transaction(actor_id) as conn:
            member = access.membership(conn, actor_id, conversation_id)
            existing = _by_client_id(conn, actor_id, member.id, fields["client_id"])
        if existing is None:
            # Only a database still on the older (sender, client_id) constraint gets here: the id was
            # used in another conversation. Refuse rather than answer with nothing or that other message.
            raise Conflict("This message id was already used for another message.", field="client_id",
                           code="client_id_taken") from None
        return existing, False


def _check_fields(body, client_id, kind, metadata, attachment_ids):
    if attachment_ids is None:
        attachment_ids = []
    if not isinstance(attachment_ids, (list, tuple)) or len(attachment_ids) > MAX_ATTACHMENTS:
        raise Invalid(f"A message can carry at most {MAX_ATTACHMENTS} files.", field="attachment_ids")
    attachment_ids = list(dict.fromkeys(validate.uuid_field(a, "attachment_ids") for a in attachment_ids))
    if attachment_ids and (body is None or (isinstance(body, str) and not body.strip())):
        body = ""  # a picture or file may go without a caption
    else:
        body = validate.body(body)
    if kind is None:
        kind = "text"
    if kind not in CLIENT_KINDS:
        raise Invalid(f"A message's kind is one of {', '.join(CLIENT_KINDS)}.", field="kind")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise Invalid("The message data must be a JSON object.", field="metadata")
    validate.json_value(metadata, "metadata")
    if len(json.dumps(metadata, allow_nan=False)) > MAX_METADATA_BYTES:
        raise Invalid(f"The message data is larger than the limit of {MAX_METADATA_BYTES:,} bytes.", field="metadata")
    if client_id is not None:
        client_id = validate.text(client_id, "client_id", max_len=100)
    return {"body": body, "client_id": client_id, "kind": kind, "metadata": metadata,
            "attachment_ids": attachment_ids}


def _send(actor_id, conversation_id, body, client_id, kind, metadata, attachment_ids, reply_to_id):
    database = current_app.extensions["chat.db"]
    if database.is_postgres and not attachment_ids and reply_to_id is None and "@" not in body:
        return _send_plain(database, actor_id, conversation_id, body, client_id, kind, metadata)
    with transaction(actor_id) as conn:
        member = _membership(conn, actor_id, conversation_id, client_id)
        if member.existing_id is not None:
            return _load(conn, member.existing_id), False
        quoted = None
        if reply_to_id is not None:
            quoted = conn.execute(sa.select(messages.c.id, messages.c.seq, messages.c.sender_id, messages.c.body,
                                            messages.c.deleted_at)
                                  .where(messages.c.id == reply_to_id, messages.c.conversation_id == member.id)).first()
            if quoted is None:
                raise Invalid("A reply quotes a message of the same conversation.", field="reply_to_id")
        row = _append(conn, member.id, actor_id, {
            "id": validate.new_id(), "conversation_id": member.id, "sender_id": actor_id, "kind": kind,
            "body": body, "metadata": metadata, "client_id": client_id, "reply_to_id": reply_to_id})
        attached = _attach(conn, actor_id, row.id, attachment_ids)
        mentions.record(conn, member, actor_id, str(row.id), row.seq, body)
        # Built from what was just written: a new message has no reactions yet and only these files.
        message = message_dict(row, attached, (), reply_dict(quoted) if quoted is not None else None,
                               mentions_by_message(conn, [row.id]).get(str(row.id), ()) if "@" in body else ())
        events.record(conn, "message.created", str(member.id), message)
        return message, True


def _send_plain(database, actor_id, conversation_id, body, client_id, kind, metadata):
    """The send of a message without attachments, reply or mentions, on Postgres: one statement
    (``public.append_message``, which checks membership and writes the message, the seq, the read mark and
    the outbox row as the transaction below would) instead of a transaction of eight round trips."""
    conversation_id = validate.path_id(conversation_id)
    now = utcnow()
    row = SimpleNamespace(id=validate.new_id(), conversation_id=conversation_id, seq=None, sender_id=actor_id,
                          kind=kind, body=body, metadata=metadata, client_id=client_id, created_at=now,
                          edited_at=None, deleted_at=None, revision=1)
    message = message_dict(row)
    del message["seq"]  # the statement adds the seq it takes
    with database.statement() as conn:
        try:
            outcome, message_id, seq = conn.execute(APPEND_MESSAGE, {
                "sender": actor_id, "conversation": conversation_id, "id": row.id, "kind": kind, "body": body,
                "metadata": metadata, "client_id": client_id, "created_at": now, "event": message}).one()
        except sa.exc.DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == "P0002":  # removed while sending: as for a stranger
                raise NotFound("No such conversation.") from None
            raise
    if outcome == "not_member":
        raise NotFound("No such conversation.")
    if outcome == "existing":
        with transaction(actor_id) as conn:
            return _load(conn, message_id), False
    events.recorded_by_statement()
    return {**message, "seq": seq}, True


APPEND_MESSAGE = sa.text(
    "select outcome, message_id, message_seq from public.append_message("
    ":sender, :conversation, :id, :kind, :body, :metadata, :client_id, :created_at, :event)"
).bindparams(sa.bindparam("metadata", type_=JSONB), sa.bindparam("event", type_=JSONB),
             sa.bindparam("created_at", type_=sa.DateTime(timezone=True)))


def _membership(conn, actor_id, conversation_id, client_id):
    """``access.membership`` plus ``existing_id``: the message this ``client_id`` already sent here, if any."""
    conversation_id = validate.path_id(conversation_id)
    existing = (sa.select(messages.c.id)
                .where(messages.c.sender_id == actor_id, messages.c.conversation_id == conversation_id,
                       messages.c.client_id == client_id).scalar_subquery()
                if client_id is not None else sa.null())
    row = conn.execute(
        sa.select(conversations, memberships.c.role, memberships.c.last_read_seq, existing.label("existing_id"))
        .join(memberships, memberships.c.conversation_id == conversations.c.id)
        .where(conversations.c.id == conversation_id, memberships.c.user_id == actor_id)).first()
    if row is None:
        raise NotFound("No such conversation.")
    return row


def _append(conn, conversation_id, actor_id, values):
    """Insert a message at the conversation's next seq, read by its sender; returns the stored row.

    Taking the next seq locks the conversation row until commit: seqs are gap-free, in commit order.
    Writing a message means having read everything up to it: on Postgres the read mark rides in the
    insert's statement (a round trip is much of a send's cost); SQLite has no writing CTEs. The seq is a
    statement of its own because the insert policy checks it against the conversation row, which a
    statement sees as it was before the statement began.
    """
    now = utcnow()
    seq = conn.execute(conversations.update().where(conversations.c.id == conversation_id)
                       .values(last_seq=conversations.c.last_seq + 1, updated_at=now)
                       .returning(conversations.c.last_seq)).scalar_one()
    read_mark = (memberships.update().where(memberships.c.conversation_id == conversation_id,
                                            memberships.c.user_id == actor_id).values(last_read_seq=seq))
    insert = messages.insert().values(seq=seq, created_at=now, **values).returning(*messages.c)
    if conn.dialect.name != "postgresql":
        conn.execute(read_mark)
        return conn.execute(insert).one()
    return conn.execute(insert.add_cte(read_mark.returning(memberships.c.user_id).cte("read_mark"))).one()


def _attach(conn, actor_id, message_id, attachment_ids):
    """Attach the sender's unsent uploads to ``message_id``; returns their rows, oldest first."""
    if not attachment_ids:
        return []
    attached = conn.execute(
        attachments.update()
        .where(attachments.c.id.in_(attachment_ids), attachments.c.uploader_id == actor_id,
               attachments.c.message_id.is_(None))
        .values(message_id=message_id).returning(*attachments.c)
    ).all()
    if len(attached) != len(attachment_ids):
        raise Invalid("Only files you uploaded and have not sent yet can be attached.",
                      field="attachment_ids")
    return sorted(attached, key=lambda a: a.created_at)


def edit_message(actor_id: str, message_id: str, body: str) -> Message:
    """Replace the body of your own message, keeping the earlier version; return the message."""
    body = validate.body(body)
    with transaction(actor_id) as conn:
        message, member = access.message_for_member(conn, actor_id, message_id, lock=True)
        if str(message.sender_id) != actor_id:
            raise Forbidden("Only the sender can edit a message.")
        if message.deleted_at is not None:
            raise Conflict("A deleted message cannot be edited.", code="message_deleted")
        if message.body == body:
            return _load(conn, message.id)
        now = utcnow()
        conn.execute(message_edits.insert().values(message_id=message.id, body=message.body, edited_at=now))
        conn.execute(messages.update().where(messages.c.id == message.id)
                     .values(body=body, edited_at=now, revision=messages.c.revision + 1))
        mentions.record(conn, member, actor_id, str(message.id), message.seq, body, replace=True)
        updated = _load(conn, message.id)
        events.record(conn, "message.updated", str(message.conversation_id), updated)
        return updated


def delete_message(actor_id: str, message_id: str) -> Message:
    """Delete a message (its sender, or a group's owner/admin), leaving a tombstone; idempotent."""
    with transaction(actor_id) as conn:
        message, member = access.message_for_member(conn, actor_id, message_id, lock=True)
        is_sender = str(message.sender_id) == actor_id
        if not is_sender and not (member.kind == "group" and member.role in access.MANAGER_ROLES):
            raise Forbidden("Only the sender or a group's owner or admin can delete a message.")
        if message.deleted_at is not None:
            return _load(conn, message.id)
        # Deleted means gone: the body, its earlier versions and its attachments are dropped.
        conn.execute(message_edits.delete().where(message_edits.c.message_id == message.id))
        discard_with_message(conn, message.id)  # files too, once the deletion has committed
        conn.execute(messages.update().where(messages.c.id == message.id)
                     .values(body="", metadata={}, deleted_at=utcnow(), revision=messages.c.revision + 1))
        mentions.forget(conn, str(message.id))
        deleted = _load(conn, message.id)
        events.record(conn, "message.deleted", str(message.conversation_id), deleted)
        return deleted


def edit_history(viewer_id: str, message_id: str) -> list[Edit]:
    """Earlier versions of a message, oldest first: ``[{body, edited_at}]`` (members only)."""
    with transaction(viewer_id) as conn:
        message, _member = access.message_for_member(conn, viewer_id, message_id)
        rows = conn.execute(sa.select(message_edits.c.body, message_edits.c.edited_at)
                            .where(message_edits.c.message_id == message.id).order_by(message_edits.c.id))
        return [{"body": r.body, "edited_at": r.edited_at.isoformat()} for r in rows]


def _load(conn, message_id):
    row = conn.execute(sa.select(messages).where(messages.c.id == str(message_id))).one()
    return messages_with_attachments(conn, [row])[0]


def _by_client_id(conn, sender_id, conversation_id, client_id):
    row = conn.execute(sa.select(messages).where(messages.c.sender_id == sender_id,
                                                 messages.c.conversation_id == conversation_id,
                                                 messages.c.client_id == client_id)).first()
    return messages_with_attachments(conn, [row])[0] if row else None
