"""Server-side sign-in sessions and the revocation of every credential a person holds.

A browser session is a row in ``sessions``; the session cookie and the remember-me cookie carry a random
secret of which only the SHA-256 is stored. A session is live while it is neither revoked nor expired.
``last_used_at`` (of sessions and bearer tokens) is written at most once a minute per credential, so the
per-request check stays one query plus an occasional update.
"""
import hashlib
import secrets
import threading
from contextlib import contextmanager
from datetime import timedelta
from typing import ClassVar

import sqlalchemy as sa
from flask import current_app

from ..db import get_db, transaction
from ..errors import NotFound
from ..read.presenters import USER_COLUMNS, iso, user_dict
from ..schema import accounts, api_tokens, sessions, users, utcnow
from . import validate

TOUCH_EVERY = timedelta(minutes=1)
MAX_USER_AGENT = 300


def secret_hash(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def _days(name, default):
    return int(current_app.config.get(name, default))


def create(user_id, user_agent=""):
    """Start a session for ``user_id``; return its secret (for the cookie). Only its hash is stored."""
    secret = "s_" + secrets.token_urlsafe(32)
    now = utcnow()
    with transaction() as conn:
        conn.execute(sessions.insert().values(
            id=validate.new_id(), user_id=user_id, token_hash=secret_hash(secret),
            user_agent=_clean_agent(user_agent), created_at=now, last_used_at=now,
            expires_at=now + timedelta(days=_days("SESSION_DAYS", 30))))
    return secret


def _clean_agent(user_agent):
    text = "".join(ch for ch in str(user_agent or "") if ch.isprintable())
    return text[:MAX_USER_AGENT]


def _live(table, now):
    condition = table.c.revoked_at.is_(None)
    if table is sessions:
        return sa.and_(condition, sessions.c.expires_at > now)
    return sa.and_(condition, sa.or_(table.c.expires_at.is_(None), table.c.expires_at > now))


@contextmanager
def one_read():
    """A connection for one read of a credential, on every request's path. On Postgres it runs outside a
    transaction (autocommit: a single statement is its own snapshot), one round trip instead of BEGIN, the
    query and COMMIT; on SQLite an ordinary transaction. As the server either way, like ``transaction()``."""
    db = get_db()
    if not db.is_postgres:
        with db.transaction() as conn:
            yield conn
        return
    with db.engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


# Built once: these run on every request (or stream heartbeat), so only their parameters change.
_NOW = sa.bindparam("now", type_=sessions.c.expires_at.type)
_USER_FOR_SECRET = (
    sa.select(*USER_COLUMNS, accounts.c.email, sessions.c.id.label("session_id"), sessions.c.last_used_at)
    .select_from(sessions.join(users, users.c.id == sessions.c.user_id)
                 .join(accounts, accounts.c.user_id == users.c.id))
    .where(sessions.c.token_hash == sa.bindparam("token_hash"), _live(sessions, _NOW)))
_SESSION_IS_LIVE = sa.select(sessions.c.id).where(sessions.c.id == sa.bindparam("id"), _live(sessions, _NOW))
_TOKEN_IS_LIVE = sa.select(api_tokens.c.id).where(api_tokens.c.id == sa.bindparam("id"), _live(api_tokens, _NOW))


def user_for_secret(secret):
    """``(user dict with email, session id)`` for a live session's secret, or None — in one query."""
    if not isinstance(secret, str) or not secret.startswith("s_") or len(secret) > 100:
        return None
    now = utcnow()
    with one_read() as conn:
        row = conn.execute(_USER_FOR_SECRET, {"token_hash": secret_hash(secret), "now": now}).first()
    if row is None:
        return None
    touch(sessions, row.session_id, row.last_used_at, now)
    return {**user_dict(row), "email": row.email}, str(row.session_id)


class _Uses:
    """Uses of sessions and tokens waiting to be written: ``{table name: {row id: when}}`` (this process's)."""

    lock = threading.Lock()
    pending: ClassVar[dict] = {}


def touch(table, row_id, last_used_at, now):
    """Record use of a session or token, at most once a minute (it is on every request's path).

    A server (``DELIVERY_SYNC`` off) leaves the write to its upkeep, ``write_uses``, within a second: the
    request does not wait for a transaction of its own, and a crowd of streams signing in at once (a deploy,
    a reconnect storm) writes one statement, not a transaction each. Elsewhere (tests, scripts, which run
    no upkeep) it is written at once.
    """
    if last_used_at is not None and now - last_used_at < TOUCH_EVERY:
        return
    if not current_app.config["DELIVERY_SYNC"]:
        with _Uses.lock:
            _Uses.pending.setdefault(table.name, {})[row_id] = now
        return
    _write_uses(table, {row_id: now})


def write_uses():
    """Write the uses ``touch`` left for the upkeep: one statement per table, however many there are."""
    with _Uses.lock:
        pending, _Uses.pending = _Uses.pending, {}
    for name, uses in pending.items():
        _write_uses(_TOUCHED[name], uses)


_TOUCHED = {sessions.name: sessions, api_tokens.name: api_tokens}


def _write_uses(table, uses):
    # In id order: every server's upkeep writes its own uses, often of the same people, and two transactions
    # that lock the same rows in different orders deadlock (Postgres aborts one, and its uses are lost).
    with transaction() as conn:
        conn.execute(_WRITE_USES[table.name], [{"row_id": row_id, "used_at": uses[row_id]} for row_id in sorted(uses)])


_WRITE_USES = {table.name: table.update()
               .where(table.c.id == sa.bindparam("row_id"),
                      sa.or_(table.c.last_used_at.is_(None), table.c.last_used_at < sa.bindparam("used_at")))
               .values(last_used_at=sa.bindparam("used_at"))
               for table in (sessions, api_tokens)}


def is_live(session_id):
    """Is this session neither revoked nor expired? One primary-key lookup."""
    with one_read() as conn:
        return conn.execute(_SESSION_IS_LIVE, {"id": session_id, "now": utcnow()}).first() is not None


def token_is_live(token_id):
    """Is this bearer token neither revoked nor expired? One primary-key lookup."""
    with one_read() as conn:
        return conn.execute(_TOKEN_IS_LIVE, {"id": token_id, "now": utcnow()}).first() is not None


LIVE_AMONG_CHUNK = 1000  # ids per query on SQLite, which limits a statement's parameters
_LIVE_AMONG = {table.name: sa.select(table.c.id).where(table.c.id.in_(sa.bindparam("ids", expanding=True)),
                                                       _live(table, _NOW))
               for table in (sessions, api_tokens)}


def _dead_among_query(table):
    # On Postgres the ids go as one comma-separated text and only the dead come back: a placeholder per id
    # (an expanding IN) or an array of UUIDs is adapted and parsed id by id in Python, and the answer would
    # be every live id again (5,000 ids: 13.8 ms of CPU, against 0.5 ms this way).
    asked = (sa.func.unnest(sa.func.string_to_array(sa.bindparam("ids", type_=sa.Text), sa.literal_column("','")))
             .table_valued("id").render_derived(name="asked"))
    return sa.select(asked.c.id).where(
        ~sa.exists().where(table.c.id == sa.cast(asked.c.id, table.c.id.type), _live(table, _NOW)))


_DEAD_AMONG_TEXT = {table.name: _dead_among_query(table) for table in (sessions, api_tokens)}


def dead_among(kind, ids):
    """The ids among ``ids`` of sessions (``kind`` "sessions") or bearer tokens ("api_tokens") that are
    revoked, expired or unknown: the heartbeat checks of a process's open streams, batched into one query
    (on SQLite one per thousand) instead of one per stream. ``ids`` are ids the database gave out."""
    ids, now = [str(i) for i in ids], utcnow()
    if not ids:
        return set()
    with one_read() as conn:
        if conn.dialect.name == "postgresql":
            return set(conn.execute(_DEAD_AMONG_TEXT[kind], {"ids": ",".join(ids), "now": now}).scalars())
        live = set()
        for start in range(0, len(ids), LIVE_AMONG_CHUNK):
            chunk = ids[start:start + LIVE_AMONG_CHUNK]
            live.update(str(i) for i in conn.execute(_LIVE_AMONG[kind], {"ids": chunk, "now": now}).scalars())
    return set(ids) - live


def revoke(session_id):
    """End one session (revoking twice is harmless)."""
    with transaction() as conn:
        conn.execute(sessions.update().where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
                     .values(revoked_at=utcnow()))


def revoke_token(token_id):
    """Revoke one bearer token by its id (revoking twice is harmless)."""
    with transaction() as conn:
        conn.execute(api_tokens.update().where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                     .values(revoked_at=utcnow()))


def revoke_own(user_id, session_id):
    """End one of ``user_id``'s sessions; 404 for anyone else's or an unknown id."""
    session_id = validate.path_id(session_id, "session")
    with transaction() as conn:
        found = conn.execute(sessions.update()
                             .where(sessions.c.id == session_id, sessions.c.user_id == user_id)
                             .values(revoked_at=sa.func.coalesce(sessions.c.revoked_at, utcnow())))
        if found.rowcount == 0:
            raise NotFound("No such session.")


def revoke_all(user_id, keep_session=None, keep_token=None):
    """Revoke every session and bearer token of ``user_id`` except the two named (the caller's own)."""
    with transaction() as conn:
        revoke_all_in(conn, user_id, keep_session, keep_token)


def revoke_all_in(conn, user_id, keep_session=None, keep_token=None):
    """``revoke_all`` inside the caller's (server) transaction, e.g. with a password change."""
    now = utcnow()
    query = sessions.update().where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
    if keep_session:
        query = query.where(sessions.c.id != keep_session)
    conn.execute(query.values(revoked_at=now))
    query = api_tokens.update().where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
    if keep_token:
        query = query.where(api_tokens.c.id != keep_token)
    conn.execute(query.values(revoked_at=now))


def list_active(user_id):
    """``user_id``'s live sessions, newest use first (read as that user: RLS shows only their own)."""
    now = utcnow()
    with transaction(user_id) as conn:
        rows = conn.execute(
            sa.select(sessions.c.id, sessions.c.user_agent, sessions.c.created_at, sessions.c.last_used_at,
                      sessions.c.expires_at)
            .where(sessions.c.user_id == user_id, _live(sessions, now))
            .order_by(sessions.c.last_used_at.desc())
        ).all()
    return [{"id": str(r.id), "user_agent": r.user_agent, "created_at": iso(r.created_at),
             "last_used_at": iso(r.last_used_at), "expires_at": iso(r.expires_at)} for r in rows]


def prune_ended(keep_seconds=86_400):
    """Delete sessions that expired or were revoked over ``keep_seconds`` ago; returns how many.

    A session that has ended is never live again, so its row only serves the sessions page's recent past.
    """
    cutoff = utcnow() - timedelta(seconds=keep_seconds)
    ended = sa.or_(sessions.c.expires_at < cutoff, sessions.c.revoked_at < cutoff)
    with transaction() as conn:
        old = sa.select(sessions.c.id).where(ended).limit(5000).scalar_subquery()
        return conn.execute(sessions.delete().where(sessions.c.id.in_(old))).rowcount
