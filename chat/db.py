"""Owns the database engine and transactions.

Every query runs inside ``transaction(user_id)``. On Postgres a transaction made for a user carries that
user's JWT claims and the ``authenticated`` role, exactly as Supabase's API does, so Row Level Security is
a second wall behind the action layer's checks; ``user_id=None`` runs as the server itself.

Some rows only the server may write, even inside a user's transaction: the outbox, whose rows become
live events, grants ``authenticated`` nothing (a Data API client holds that role too). ``server_insert``
queues such rows; they are written just before the commit, after switching back to the login role for
the rest of the transaction (``set local role none``), which only code connected as that role can do.
"""
import functools
import os
import time
from contextlib import contextmanager

import sqlalchemy as sa
from flask import current_app

from . import json_text

# A pooled connection idle this long is checked (a round trip) before use: a database restart or a dropped
# connection then costs no request. A connection in steady use skips the check; were its server to go
# away meanwhile, the one request that meets it fails and the pool starts over (SQLAlchemy invalidates
# every connection of the pool once it sees a disconnect).
IDLE_CHECK_SECONDS = 5.0


class Database:
    """One engine per process, made lazily so that it is created after a server forks."""

    def __init__(self, url, pool_size=10, pool_timeout=30.0, idle_check_seconds=IDLE_CHECK_SECONDS):
        self.url = url
        self.pool_size = pool_size
        self.pool_timeout = pool_timeout  # seconds a request waits for a connection before a 503 (chat.errors)
        self.idle_check_seconds = idle_check_seconds
        self._engine = None
        self._pid = None

    @property
    def is_postgres(self):
        return self.url.startswith("postgresql")

    @property
    def is_sqlite(self):
        return self.url.startswith("sqlite")

    @property
    def engine(self):
        if self._engine is None or self._pid != os.getpid():
            self._engine = self._create_engine()
            self._pid = os.getpid()
        return self._engine

    def _create_engine(self):
        if self.is_sqlite:
            return _sqlite_engine(self.url)
        engine = sa.create_engine(
            self.url,
            pool_size=self.pool_size,
            max_overflow=self.pool_size,
            pool_timeout=self.pool_timeout,
            pool_recycle=1800,
            json_serializer=json_text.dumps, json_deserializer=json_text.loads,
            # Supabase's transaction pooler cannot keep prepared statements between transactions.
            connect_args={"prepare_threshold": None} if ":6543" in self.url else {},
        )
        _check_idle_connections(engine, self)
        sa.event.listen(engine, "connect", _uuids_as_text)
        return engine

    def dispose(self):
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def transaction(self, user_id=None):
        """A transaction as ``user_id`` (RLS applies on Postgres) or as the server; commits on success.

        Callables registered with ``after_commit(conn, fn)`` run once the commit has succeeded; rows queued
        with ``server_insert(conn, …)`` are written by the server just before it.
        """
        conn = self.engine.connect()
        callbacks = {}
        try:
            with conn.begin():
                conn.info["after_commit"] = callbacks
                conn.info["server_inserts"] = []
                if user_id is not None and self.is_postgres:
                    claims = json_text.dumps({"sub": str(user_id), "role": "authenticated"})
                    conn.execute(_AS_USER, {"claims": claims})
                yield conn
                self._write_server_inserts(conn, as_user=user_id is not None)
        except BaseException:
            callbacks.clear()
            raise
        finally:
            conn.info.pop("after_commit", None)
            conn.info.pop("server_inserts", None)
            conn.close()
        for callback in callbacks.values():
            callback()

    @contextmanager
    def statement(self):
        """A connection whose every statement commits on its own (autocommit), as the server: for a change
        made by one statement, such as a stored procedure that checks who may make it, one round trip in
        all instead of BEGIN, the statement and COMMIT."""
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            yield conn
        finally:
            conn.close()

    def _write_server_inserts(self, conn, as_user):
        pending = conn.info["server_inserts"]
        if not pending:
            return
        if as_user and self.is_postgres:
            # Back to the login role until the commit, which follows at once: nothing else runs as it.
            conn.execute(_AS_SERVER)
        tables = {}
        for table, row in pending:  # one statement per table; rows keep the order they were queued in
            tables.setdefault(table, []).append(row)
        for table, rows in tables.items():
            conn.execute(_insert(table), rows)


# Built once, as every transaction of a user (or every change) runs them.
_AS_USER = sa.text("select set_config('request.jwt.claims', :claims, true), set_config('role', 'authenticated', true)")
_AS_SERVER = sa.text("select set_config('role', 'none', true)")


@functools.cache
def _insert(table):
    return table.insert()


def server_insert(conn, table, row):
    """Have the server insert ``row`` (a dict) into ``table`` just before ``conn``'s transaction commits.

    The row is written as the login role even in a user's transaction, so ``table`` needs no privilege
    for ``authenticated``. Rows queued in one transaction are inserted in the order they were queued.
    """
    conn.info["server_inserts"].append((table, row))


@contextmanager
def as_server(conn):
    """Run the statements of the ``with`` block as the server (the login role), even in a user's
    transaction, then as the user again: for rows only the server writes and the user reads at once (a
    system message, which its own transaction then shows)."""
    if conn.dialect.name != "postgresql" or conn.exec_driver_sql("select current_user").scalar() != "authenticated":
        yield
        return
    conn.execute(sa.text("select set_config('role', 'none', true)"))
    try:
        yield
    finally:
        conn.execute(sa.text("select set_config('role', 'authenticated', true)"))


def after_commit(conn, callback, key=None):
    """Run ``callback()`` after the transaction that ``conn`` is in commits (never if it rolls back).

    A callback registered again under the same ``key`` in one transaction runs once.
    """
    conn.info["after_commit"].setdefault(key if key is not None else object(), callback)


def _uuids_as_text(dbapi_connection, _record):
    """Read ``uuid`` values as the text Postgres sends (canonical: lowercase, hyphenated), which is what the
    app uses for ids everywhere: psycopg would make a ``uuid.UUID`` of each and SQLAlchemy a string of that
    again, ~1.5 µs an id, and a batch for a group of 200 reads over a thousand ids."""
    from psycopg.types.string import TextLoader
    dbapi_connection.adapters.register_loader("uuid", TextLoader)


def _check_idle_connections(engine, db):
    """SQLAlchemy's ``pool_pre_ping``, for connections idle over ``db.idle_check_seconds`` only: a send
    makes two checkouts, and a ping each was a sixth of its round trips."""
    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < db.idle_check_seconds:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise sa.exc.DisconnectionError("the connection was closed while idle") from error
            raise


def _sqlite_engine(url):
    path = url.split("sqlite:///", 1)[-1]
    if path and path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let the "begin" hook below issue BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
        # can fail with SQLITE_BUSY instead of waiting its turn.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def get_db():
    """The current app's Database."""
    return current_app.extensions["chat.db"]


def transaction(user_id=None):
    """Shorthand for ``get_db().transaction(user_id)``."""
    return get_db().transaction(user_id)
