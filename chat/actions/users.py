"""The user directory, what a profile's avatar may point at, and the event a profile change records."""
from urllib.parse import urlsplit

import sqlalchemy as sa

from .. import events
from ..db import transaction
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


def announce(conn, user_id: str) -> None:
    """Record ``user.updated`` for ``user_id`` in this transaction. The payload names only the person: the
    relay reads their public profile as it is when it publishes (``chat.delivery.fanout``)."""
    events.record(conn, "user.updated", None, {"user_id": str(user_id)})
