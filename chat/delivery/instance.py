"""This database's identity: a random id made once and kept in ``chat_instance``.

Everything the delivery keeps in Redis is named under it (``redis_log.Keys``), so two databases that
share one Redis (a reset development database, staging and production on one add-on) cannot collide.
Postgres' migration fills the table; a database without a row (SQLite, or one emptied by hand) gets
one here, once: concurrent first callers agree on the same row.
"""
import uuid

import sqlalchemy as sa

from ..schema import chat_instance, utcnow

LOCK_KEY = 7_301_003  # advisory lock: "chat instance identity"


def instance_id(db):
    """The database's identity (a UUID string), creating it if it has none yet."""
    first = (sa.select(chat_instance.c.id)
             .order_by(chat_instance.c.created_at, chat_instance.c.id).limit(1))
    with db.transaction() as conn:  # as the server: the table is not readable by signed-in roles
        found = conn.execute(first).scalar()
        if found is None:
            if db.is_postgres:  # SQLite's BEGIN IMMEDIATE already serializes writers
                conn.execute(sa.text("select pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
                found = conn.execute(first).scalar()
            if found is None:
                found = str(uuid.uuid4())
                conn.execute(chat_instance.insert().values(id=found, created_at=utcnow()))
    return str(found)
