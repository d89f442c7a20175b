"""The user directory."""
import sqlalchemy as sa

from ..db import transaction
from ..errors import NotFound
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
