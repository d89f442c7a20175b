"""The user directory, what a profile's avatar may point at, and the event a profile change records."""
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from .. import events
from ..db import after_commit, transaction
from ..errors import Invalid, NotFound
from ..read.presenters import USER_COLUMNS, user_dict
from ..schema import users
from ..types import User
from . import validate


def get_user(viewer_id: str, id_or_username: str) -> User:
    """A user by id or username; 404 when there is none."""
    key = validate.path_key(id_or_username).strip()
    with transaction(viewer_id) as conn:
        try:
            condition = users.c.id == validate.path_id(key, "user")
        except NotFound:
            condition = users.c.username == key.lower()
        row = conn.execute(sa.select(*USER_COLUMNS).where(condition)).first()
    if row is None:
        raise NotFound("No such user.")
    return user_dict(row)


def search_users(viewer_id: str, q: str = "", limit: int | str | None = 20) -> list[User]:
    """Users whose username or display name contains ``q`` (case-insensitive), by username."""
    limit = validate.integer(limit, "limit", minimum=1, maximum=100, default=20)
    q = validate.text(q or "", "q", max_len=100, min_len=0)
    query = sa.select(*USER_COLUMNS).order_by(users.c.username).limit(limit)
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(users.c.username.like(pattern, escape="\\"),
                                   sa.func.lower(users.c.display_name).like(pattern, escape="\\")))
    with transaction(viewer_id) as conn:
        return [user_dict(r) for r in conn.execute(query)]


def avatar_url(value):
    """An avatar must be an absolute ``https://`` URL; None or "" clears it.

    Never a path on this site: an ``<img src>`` that every viewer's browser fetches with their cookies
    must not be able to reach our own routes (S15). Relative and ``//host`` paths are refused too.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid("avatar_url must be an https:// address, or null to remove it.", field="avatar_url")
    value = value.strip()
    if len(value) > 2000:
        raise Invalid("avatar_url must be at most 2000 characters.", field="avatar_url")
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme != "https" or not parts.hostname or not value.startswith("https://")
            or any(ord(ch) < 33 or ch in '\\"<>' for ch in value)):
        raise Invalid("avatar_url must be an https:// address, or null to remove it.", field="avatar_url")
    return value


def write_profile(user_id: str, changes: dict) -> None:
    """Write checked profile ``changes`` (columns of ``users``) in one transaction, only those that differ,
    and record ``user.updated`` if any did. A change of ``avatar_key`` is written as the server (the column
    is not the person's to write: a key names bytes in the store) and deletes the old file once committed."""
    as_server = "avatar_key" in changes
    with transaction(None if as_server else user_id) as conn:
        # Locked, so that of two uploads at once the later one sees, and deletes, the earlier one's file.
        old = conn.execute(sa.select(users).where(users.c.id == user_id).with_for_update()).first()
        if old is None:
            raise NotFound("No such user.")
        changes = {name: value for name, value in changes.items() if getattr(old, name) != value}
        if not changes:
            return
        conn.execute(users.update().where(users.c.id == user_id).values(**changes))
        announce(conn, user_id)
        if "avatar_key" in changes and old.avatar_key:
            store, old_key = current_app.extensions["chat.storage"], old.avatar_key
            after_commit(conn, lambda: store.delete(old_key), key=f"avatar.delete.{user_id}")


def announce(conn, user_id: str) -> None:
    """Record ``user.updated`` for ``user_id`` in this transaction. The payload names only the person: the
    relay reads their public profile as it is when it publishes (``chat.delivery.fanout``)."""
    events.record(conn, "user.updated", None, {"user_id": str(user_id)})
