"""Attachments: upload (type read from the bytes), then attach to a message; members download."""
import io
import os
import uuid
from typing import BinaryIO

import filetype
import sqlalchemy as sa
from flask import current_app
from PIL import Image, UnidentifiedImageError
from werkzeug.datastructures import FileStorage

from ..db import transaction
from ..errors import Invalid, NotFound, TooLarge
from ..read.presenters import attachment_dict
from ..schema import attachments, memberships, messages, utcnow
from ..types import Attachment
from . import validate

# Types we accept, as detected from the content. Anything else is refused: we do not serve unknown bytes.
ALLOWED = {
    "image/png", "image/jpeg", "image/gif", "image/webp",
    "audio/mpeg", "audio/ogg", "audio/x-wav", "audio/wav", "audio/webm", "audio/mp4", "audio/x-m4a",
    "video/webm",  # browsers record voice notes as WebM
    "application/pdf", "application/zip",
}
INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


def storage():
    return current_app.extensions["chat.storage"]


def upload(actor_id: str, file_storage: FileStorage) -> Attachment:
    """Store an uploaded file (werkzeug FileStorage) for ``actor_id``; return the attachment."""
    if file_storage is None or not getattr(file_storage, "filename", None):
        raise Invalid("Choose a file to upload.", field="file")
    data = file_storage.read(current_app.config["MAX_UPLOAD_BYTES"] + 1)
    if len(data) > current_app.config["MAX_UPLOAD_BYTES"]:
        raise TooLarge(f"file must be at most {current_app.config['MAX_UPLOAD_BYTES'] // (1024 * 1024)} MB.",
                       field="file")
    if not data:
        raise Invalid("The file is empty.", field="file")
    kind = filetype.guess(data)
    content_type = kind.mime if kind else None
    if content_type not in ALLOWED:
        raise Invalid("file must be an image (PNG, JPEG, GIF, WebP), audio, PDF or ZIP.", field="file")
    if content_type == "video/webm":
        content_type = "audio/webm"
    width = height = None
    if content_type in INLINE_IMAGES:
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except (UnidentifiedImageError, OSError):
            raise Invalid("The image could not be read.", field="file") from None
    filename = _clean_filename(file_storage.filename)
    attachment_id = validate.new_id()
    key = uuid.uuid4().hex + (f".{kind.extension}" if kind else "")
    storage().save(key, io.BytesIO(data))
    try:
        with transaction(actor_id) as conn:
            conn.execute(attachments.insert().values(
                id=attachment_id, uploader_id=actor_id, message_id=None, filename=filename,
                content_type=content_type, size=len(data), storage_key=key, width=width, height=height,
                duration_ms=None, created_at=utcnow()))
            row = conn.execute(sa.select(attachments).where(attachments.c.id == attachment_id)).one()
    except BaseException:
        storage().delete(key)
        raise
    return attachment_dict(row)


def open_attachment(viewer_id: str, attachment_id: str) -> tuple[Attachment, BinaryIO]:
    """(attachment dict, open binary file) for its uploader or a member of its message's conversation."""
    attachment_id = validate.path_id(attachment_id, "attachment")
    with transaction(viewer_id) as conn:
        row = conn.execute(
            sa.select(attachments)
            .outerjoin(messages, messages.c.id == attachments.c.message_id)
            .outerjoin(memberships, sa.and_(memberships.c.conversation_id == messages.c.conversation_id,
                                            memberships.c.user_id == viewer_id))
            .where(attachments.c.id == attachment_id,
                   sa.or_(attachments.c.uploader_id == viewer_id,
                          sa.and_(memberships.c.user_id.is_not(None), messages.c.deleted_at.is_(None))))
        ).first()
    if row is None:
        raise NotFound("No such attachment.")
    try:
        return attachment_dict(row), storage().open(row.storage_key)
    except FileNotFoundError:
        raise NotFound("No such attachment.") from None


def _clean_filename(name):
    name = os.path.basename(str(name).replace("\\", "/")).strip().replace("\x00", "")
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"\r\n')
    return (name or "file")[:200]
