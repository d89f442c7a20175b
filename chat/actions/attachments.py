"""Attachments: upload (type read from the bytes), then attach to a message; members download.

Pictures are shown inline to every member, so one that would take too much memory to decode (a
"decompression bomb": a few bytes declaring a huge canvas) is refused: above ``MAX_IMAGE_PIXELS`` it is a 422
naming ``file``, and Pillow's own bomb warning is an error everywhere in the process.
"""
import io
import os
import re
import unicodedata
import urllib.parse
import uuid
import warnings
from datetime import timedelta
from typing import BinaryIO

import filetype
import sqlalchemy as sa
from flask import current_app, request
from PIL import Image
from werkzeug.datastructures import FileStorage

from ..db import after_commit, transaction
from ..errors import Invalid, NotFound, TooLarge
from ..read.presenters import attachment_dict
from ..schema import attachments, memberships, messages, utcnow
from ..types import Attachment
from . import audio, pictures, validate
from .pictures import MAX_IMAGE_PIXELS

# Types we accept, as detected from the content. Anything else is refused: we do not serve unknown bytes.
ALLOWED = {
    "image/png", "image/jpeg", "image/gif", "image/webp",
    "audio/mpeg", "audio/ogg", "audio/x-wav", "audio/wav", "audio/webm", "audio/mp4", "audio/x-m4a",
    "video/webm",  # browsers record voice notes as WebM
    "application/pdf", "application/zip",
}
INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
KINDS_SENTENCE = "Pictures (PNG, JPEG, GIF, WebP), audio, PDF and ZIP files can."

# Markup a browser would run if it ever sniffed the file as a page: a picture or a sound carrying it is a
# polyglot, refused. (Documents and archives are only ever downloaded, and every file is served with nosniff
# and a sandboxing CSP; a ZIP of a web site legitimately holds HTML.)
MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|body|object|embed)\b|<!doctype\s+html|<\?php",
                    re.IGNORECASE)

# Pillow warns above MAX_IMAGE_PIXELS and refuses twice that; set deliberately, and the warning made an error,
# so that no code path in the process decodes a picture bigger than we accept. Uploads also check the size
# themselves, as a test harness or a host may reset warning filters.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)


def megabytes(size):
    """``size`` bytes as a person reads it: "20.3 MB", "10 MB" (under a megabyte: "2 KB")."""
    if size < 1024 * 1024:
        return f"{size / 1024:,.1f}".removesuffix(".0") + " KB"
    return f"{size / (1024 * 1024):,.1f}".removesuffix(".0") + " MB"


def too_large(size=None, field="file", what="file"):
    """The 413 for an upload of ``size`` bytes (None when unknown) over the configured limit."""
    limit = megabytes(current_app.config["MAX_UPLOAD_BYTES"])
    if size is None:
        return TooLarge(f"This {what} is larger than the limit of {limit}.", field=field)
    return TooLarge(f"This {what} is {megabytes(size)}; the limit is {limit}.", field=field)


def storage():
    return current_app.extensions["chat.storage"]


def upload(actor_id: str, file_storage: FileStorage) -> Attachment:
    """Store an uploaded file (werkzeug FileStorage) for ``actor_id``; return the attachment.

    Refused with a 422 naming ``file`` (and nothing stored): no file, an empty one, a name with a path or
    control characters, a type we do not accept (read from the bytes, never from the name), a file claiming
    to be a picture that is not one, markup or script hidden in it (a polyglot), an unreadable or too large
    picture. Pictures are stored cleaned (see ``pictures.clean``) with a WebP thumbnail beside them."""
    if file_storage is None or not getattr(file_storage, "filename", None):
        raise Invalid("Choose a file to upload.", field="file")
    filename = _clean_filename(file_storage.filename)
    data = file_storage.read(current_app.config["MAX_UPLOAD_BYTES"] + 1)
    if len(data) > current_app.config["MAX_UPLOAD_BYTES"]:
        raise too_large(_stream_size(file_storage))
    if not data:
        raise Invalid("This file is empty.", field="file")
    kind = filetype.guess(data)
    content_type = kind.mime if kind else None
    declared = (file_storage.mimetype or "").lower()
    if content_type not in ALLOWED:
        raise Invalid("This kind of file can't be sent. " + KINDS_SENTENCE, field="file")
    if declared.startswith("image/") and content_type not in INLINE_IMAGES:
        raise Invalid(f"This file is sent as a picture ({declared}) but holds {content_type}, so it can't be "
                      f"sent.", field="file")
    if content_type.startswith(("image/", "audio/", "video/")) and MARKUP.search(data):
        raise Invalid("This file has web page or script code hidden inside it, so it can't be sent.",
                      field="file")
    if content_type == "video/webm":
        content_type = "audio/webm"
    width = height = thumbnail = duration = None
    if content_type.startswith("audio/"):
        duration = audio.duration_ms(data, content_type)
    if content_type in INLINE_IMAGES:
        picture = pictures.clean(data, content_type)
        data, width, height, thumbnail = picture
    attachment_id = validate.new_id()
    key = uuid.uuid4().hex + (f".{kind.extension}" if kind else "")
    thumbnail_key = key.split(".")[0] + "-thumb.webp" if thumbnail else None
    storage().save(key, io.BytesIO(data), content_type=content_type)
    try:
        if thumbnail:
            storage().save(thumbnail_key, io.BytesIO(thumbnail), content_type="image/webp")
        with transaction(actor_id) as conn:
            conn.execute(attachments.insert().values(
                id=attachment_id, uploader_id=actor_id, message_id=None, filename=filename,
                content_type=content_type, size=len(data), storage_key=key, width=width, height=height,
                duration_ms=duration, created_at=utcnow(), thumbnail_key=thumbnail_key))
            row = conn.execute(sa.select(attachments).where(attachments.c.id == attachment_id)).one()
    except BaseException:
        _delete_files(key, thumbnail_key)
        raise
    return attachment_dict(row)


def upload_many(actor_id: str, files) -> list[Attachment]:
    """Store several uploaded files (the composer's form without JavaScript: ``file`` given up to
    ``MAX_ATTACHMENTS`` times) for ``actor_id``; all or none. A refusal names the file it is about when there
    are several, and the files already stored by this call are removed before it is raised."""
    from .messages import MAX_ATTACHMENTS

    files = [f for f in files if f is not None and getattr(f, "filename", None)]
    if len(files) > MAX_ATTACHMENTS:
        raise Invalid(f"A message can carry at most {MAX_ATTACHMENTS} files; {len(files)} were chosen.",
                      field="file")
    stored = []
    try:
        for file_storage in files:
            try:
                stored.append(upload(actor_id, file_storage))
            except (Invalid, TooLarge) as error:
                if len(files) > 1:
                    error.message = f"{_display_name(file_storage.filename)}: {error.message}"
                raise
    except BaseException:
        discard_uploads(stored)
        raise
    return stored


def discard_uploads(uploaded: list[Attachment]) -> None:
    """Remove these uploads (rows and files) while they are still unattached: a send that was refused."""
    if uploaded:
        _remove(current_app._get_current_object(), [a["id"] for a in uploaded])


def _display_name(name):
    """A file's name for an error sentence: without a folder or characters that would garble it."""
    name = os.path.basename(str(name).replace("\\", "/"))
    return "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")[:80] or "A file"


def _delete_files(*keys):
    for key in keys:
        if key:
            storage().delete(key)


def discard_with_message(conn, message_id) -> None:
    """Inside the transaction that deletes message ``message_id``: detach its attachments and, once that
    deletion has committed, delete their rows and their files from the store, so that every download
    (the uploader's too) is a 404. The rows go first: a file left behind by a failing store is unreachable."""
    ids = [r.id for r in conn.execute(sa.select(attachments.c.id).where(attachments.c.message_id == message_id))]
    conn.execute(attachments.update().where(attachments.c.message_id == message_id).values(message_id=None))
    if ids:
        app = current_app._get_current_object()
        after_commit(conn, lambda: _remove(app, ids), key=f"attachments.discard.{message_id}")


def _remove(app, ids):
    """Delete these unattached attachments, rows then files, as the server (their uploader may be someone
    else than the person deleting the message)."""
    with app.app_context(), transaction() as conn:
        gone = conn.execute(attachments.delete()
                            .where(attachments.c.id.in_([str(i) for i in ids]), attachments.c.message_id.is_(None))
                            .returning(attachments.c.storage_key, attachments.c.thumbnail_key)).all()
    for row in gone:
        _delete_files(row.storage_key, row.thumbnail_key)
    return len(gone)


def prune_unattached(older_than_seconds: int | None = None) -> int:
    """Delete uploads never attached to a message (or detached) that are older than ``older_than_seconds``
    (default ``ATTACHMENT_UNATTACHED_SECONDS``, a day): rows, then files. Returns how many. An upload attached
    meanwhile is left alone: the delete only matches rows that are still unattached."""
    if older_than_seconds is None:
        older_than_seconds = current_app.config["ATTACHMENT_UNATTACHED_SECONDS"]
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    with transaction() as conn:
        gone = conn.execute(attachments.delete()
                            .where(attachments.c.message_id.is_(None), attachments.c.created_at < cutoff)
                            .returning(attachments.c.storage_key, attachments.c.thumbnail_key)).all()
    for row in gone:
        _delete_files(row.storage_key, row.thumbnail_key)
    return len(gone)


def open_attachment(viewer_id: str, attachment_id: str) -> tuple[Attachment, BinaryIO]:
    """(attachment dict, open binary file) for its uploader or a member of its message's conversation."""
    attachment_id = validate.path_id(attachment_id, "attachment")
    row = _readable_row(viewer_id, attachment_id)
    try:
        return attachment_dict(row), storage().open(row.storage_key)
    except FileNotFoundError:
        raise NotFound("No such attachment.") from None


def open_thumbnail(viewer_id: str, attachment_id: str) -> BinaryIO:
    """The WebP thumbnail of a picture, for whoever may read the picture; NotFound when it has none."""
    attachment_id = validate.path_id(attachment_id, "attachment")
    row = _readable_row(viewer_id, attachment_id)
    if not row.thumbnail_key:
        raise NotFound("This attachment has no thumbnail.")
    try:
        return storage().open(row.thumbnail_key)
    except FileNotFoundError:
        raise NotFound("No such attachment.") from None


def _readable_row(viewer_id, attachment_id):
    """The attachment row if ``viewer_id`` may read it (the uploader while it is not sent, then the members of
    the conversation of its message while that is not deleted), else NotFound."""
    with transaction(viewer_id) as conn:
        row = conn.execute(
            sa.select(attachments)
            .outerjoin(messages, messages.c.id == attachments.c.message_id)
            .outerjoin(memberships, sa.and_(memberships.c.conversation_id == messages.c.conversation_id,
                                            memberships.c.user_id == viewer_id))
            .where(attachments.c.id == attachment_id,
                   sa.or_(sa.and_(attachments.c.uploader_id == viewer_id, attachments.c.message_id.is_(None)),
                          sa.and_(memberships.c.user_id.is_not(None), messages.c.deleted_at.is_(None))))
        ).first()
    if row is None:
        raise NotFound("No such attachment.")
    return row


def signed_download(viewer_id: str, attachment_id: str, seconds: int) -> str | None:
    """A presigned URL of the store valid for ``seconds``, after the same membership check as
    ``open_attachment``; None when the store cannot sign (local disk). Pictures and audio are served
    inline, anything else as a download, as the app itself does."""
    attachment_id = validate.path_id(attachment_id, "attachment")
    row = _readable_row(viewer_id, attachment_id)
    if row.content_type.startswith(("image/", "audio/")):
        disposition = "inline"
    else:
        disposition = "attachment; filename*=UTF-8''" + urllib.parse.quote(row.filename, safe="")
    return storage().signed_url(row.storage_key, seconds, content_type=row.content_type,
                                disposition=disposition)


def _stream_size(file_storage):
    """The uploaded file's full size in bytes, when its stream can tell without reading it all."""
    try:
        stream = file_storage.stream
        here = stream.tell()
        size = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return size
    except (AttributeError, OSError, ValueError):
        return request.content_length


def _clean_filename(name):
    """The name as the uploader gave it, without a folder part; 422 for ``..`` or control characters (a name
    that tries to be a path, or to break a header or the page), which are refused rather than silently fixed."""
    name = str(name)
    # Format characters too (right-to-left overrides disguise "gpj.exe"), except the joiner emoji use.
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != "\u200d" for ch in name):
        raise Invalid("This file's name contains control characters; rename it and try again.", field="file")
    if ".." in name.replace("\\", "/").split("/"):
        raise Invalid("This file's name contains \"..\" as a folder; rename it and try again.", field="file")
    name = os.path.basename(name.replace("\\", "/")).strip().replace('"', "")
    return (name or "file")[:200]
