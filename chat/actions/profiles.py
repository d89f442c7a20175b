"""Your own profile: display name and bio (``accounts.update_profile``), and an uploaded avatar.

An avatar is the centre square of an uploaded picture, re-encoded as WebP without metadata
(``pictures.square``), kept in the attachments' store under a fresh key; the user row names the key and
``avatar_url`` serves it with the key in its query, so a change shows at once. The previous file is
deleted once the change has committed. Every change records ``user.updated`` (``users.write_profile``), which the
relay delivers to the person and everyone who shares a conversation with them (``chat.delivery.fanout``).

Any signed-in person may see any avatar, as they may see any profile (the directory is open to everyone
signed in); nobody signed out may.
"""
import io
import uuid
from typing import BinaryIO

import filetype
import sqlalchemy as sa
from flask import current_app
from werkzeug.datastructures import FileStorage

from ..db import transaction
from ..errors import Invalid, NotFound
from ..read.presenters import avatar_version
from ..schema import users
from ..types import Me
from . import accounts, pictures, validate
from .attachments import INLINE_IMAGES, storage, too_large
from .users import write_profile


def save_profile(user_id: str, display_name: str | None = None, bio: str | None = None,
                 picture: FileStorage | None = None) -> Me:
    """The settings page's one change: display name and bio (None leaves them), and a new avatar when
    ``picture`` is a file. Everything is checked before anything is written; a refusal (422/413 naming
    ``display_name``, ``bio`` or ``file``) changes nothing."""
    changes = accounts.profile_changes(display_name, bio)
    key = _store(picture) if picture is not None and getattr(picture, "filename", None) else None
    try:
        _write(user_id, changes, key)
    except BaseException:
        if key:
            storage().delete(key)
        raise
    return accounts.get_me(user_id)


def set_avatar(user_id: str, file_storage: FileStorage | None) -> Me:
    """Make the uploaded picture ``user_id``'s avatar; return the user. 422 naming ``file`` (nothing stored,
    the old avatar kept) for no file, one that is not a PNG, JPEG, GIF or WebP picture, or one that cannot be
    decoded or has too many pixels; 413 over ``MAX_UPLOAD_BYTES``."""
    if file_storage is None or not getattr(file_storage, "filename", None):
        raise Invalid("Choose a picture to upload.", field="file")
    return save_profile(user_id, picture=file_storage)


def remove_avatar(user_id: str) -> Me:
    """Back to initials: forget the uploaded avatar (its file is deleted) and any avatar address."""
    _write(user_id, {}, None, remove=True)
    return accounts.get_me(user_id)


def _store(file_storage):
    """The picture's centre square, stored under a fresh key; the key. Refusals name ``file``."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    data = file_storage.read(limit + 1)
    if len(data) > limit:
        raise too_large(None, what="picture")
    if not data:
        raise Invalid("This file is empty.", field="file")
    kind = filetype.guess(data)
    if kind is None or kind.mime not in INLINE_IMAGES:
        raise Invalid("An avatar must be a picture: PNG, JPEG, GIF or WebP.", field="file")
    square = pictures.square(data)
    key = f"avatar-{uuid.uuid4().hex}.webp"
    storage().save(key, io.BytesIO(square), content_type="image/webp")
    return key


def _write(user_id, changes, key, remove=False):
    """The profile ``changes`` and the avatar ``key`` (or none, when ``remove``) in one transaction."""
    if key is not None or remove:
        changes = {**changes, "avatar_key": key, "avatar_url": None}
    write_profile(user_id, changes)


def open_avatar(viewer_id: str, user_id: str) -> tuple[str, BinaryIO]:
    """``(version, open WebP file)`` of ``user_id``'s uploaded avatar, for any signed-in ``viewer_id``;
    NotFound when they have none."""
    user_id = validate.path_id(user_id, "user")
    with transaction(viewer_id) as conn:
        key = conn.execute(sa.select(users.c.avatar_key).where(users.c.id == user_id)).scalar()
    if not key:
        raise NotFound("This person has no avatar.")
    try:
        return avatar_version(key), storage().open(key)
    except FileNotFoundError:
        raise NotFound("This person has no avatar.") from None
