"""Applies pending schema migrations: ``supabase/migrations/*.sql`` on Postgres, ``schema.metadata`` on SQLite.

On Postgres the record of applied migrations is the Supabase CLI's own table,
``supabase_migrations.schema_migrations (version, statements, name)``, written the way the CLI writes it
(version = the file name's timestamp, name = the rest of the stem, statements = the file split at its
top-level semicolons, trimmed). So ``flask db upgrade`` and ``supabase db push`` share one history: either
can run after the other, any number of times, and the second finds nothing to do. Databases recorded in the
app's former ``public.schema_migrations`` move over on the next upgrade (that table is then dropped).

Upgrading twice is a no-op, and on Postgres an advisory lock lets several processes (a release phase,
workers starting) upgrade at once safely. SQLite keeps its own ``schema_migrations`` table.
"""
from pathlib import Path

import sqlalchemy as sa

from . import schema

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "supabase" / "migrations"
SQLITE_VERSIONS = {"0001_initial": lambda conn: schema.metadata.create_all(conn),
                   "0002_sessions": schema.upgrade_sqlite_sessions,
                   "0003_instance_identity": lambda conn: schema.chat_instance.create(conn, checkfirst=True),
                   "0004_search": schema.upgrade_sqlite_search,
                   "0005_message_revision": schema.add_sqlite_column(
                       "messages", "revision", "revision INTEGER DEFAULT '1' NOT NULL"),
                   "0006_reactions": lambda conn: schema.message_reactions.create(conn, checkfirst=True),
                   "0007_replies": schema.upgrade_sqlite_replies,
                   "0008_attachment_thumbnails": schema.upgrade_sqlite_attachment_thumbnails,
                   "0009_keeping_up": schema.upgrade_sqlite_keeping_up,
                   "0010_profiles": schema.add_sqlite_column("users", "avatar_key", "avatar_key TEXT"),
                   "0011_integrations": schema.upgrade_sqlite_integrations,
                   "0015_push_more": schema.upgrade_sqlite_push_more}
_LOCK_KEY = 7_301_001  # arbitrary, fixed: "chat migrations"

# The CLI's own statements (supabase/cli pkg/migration/history.go), so that either tool may create the table.
HISTORY_DDL = (
    "create schema if not exists supabase_migrations",
    "create table if not exists supabase_migrations.schema_migrations (version text not null primary key)",
    "alter table supabase_migrations.schema_migrations add column if not exists statements text[]",
    "alter table supabase_migrations.schema_migrations add column if not exists name text",
)


def postgres_migrations(directory=MIGRATIONS_DIR):
    """(stem, sql) pairs in the order the Supabase CLI applies them (by file name)."""
    return [(path.stem, path.read_text()) for path in sorted(directory.glob("*.sql"))]


def version_and_name(stem):
    """``20261121000100_chat_schema`` -> ``("20261121000100", "chat_schema")``, as the CLI records it."""
    version, _, name = stem.partition("_")
    return version, name


def split_statements(sql):
    """The statements of ``sql`` as the Supabase CLI records them: split at top-level ``;`` and trimmed.

    A semicolon inside a string, a quoted identifier, a dollar-quoted body or a comment does not end a
    statement; the ``;`` itself is not kept; a comment after a ``;`` belongs to the next statement; empty
    pieces are dropped. tests/test_migration_history.py checks this against what the CLI itself writes.
    """
    statements, start, i, n = [], 0, 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif c == "/" and sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c in "'\"":
            # In an E'...' string a backslash escapes the next character; elsewhere only a doubled quote.
            escapes = c == "'" and i > 0 and sql[i - 1] in "eE" and not (i > 1 and _word_char(sql[i - 2]))
            i += 1
            while i < n:
                if (escapes and sql[i] == "\\") or sql.startswith(c * 2, i):
                    i += 2
                elif sql[i] == c:
                    i += 1
                    break
                else:
                    i += 1
        elif c == "$" and (tag := _dollar_tag(sql, i)):
            end = sql.find(tag, i + len(tag))
            i = n if end < 0 else end + len(tag)
        elif c == ";":
            statements.append(sql[start:i])
            i += 1
            start = i
        else:
            i += 1
    statements.append(sql[start:])
    return [s.strip() for s in statements if s.strip()]


def _word_char(c):
    return c.isalnum() or c == "_"


def _dollar_tag(sql, i):
    """The ``$tag$`` opening a dollar-quoted string at ``i``, or None (``$1`` is a parameter, not a tag)."""
    j = i + 1
    while j < len(sql) and _word_char(sql[j]):
        j += 1
    if j < len(sql) and sql[j] == "$" and not sql[i + 1:j][:1].isdigit():
        if i > 0 and _word_char(sql[i - 1]):
            return None  # part of an identifier such as a$b
        return sql[i:j + 1]
    return None


def upgrade(db):
    """Apply every pending migration to ``db``; return the versions applied."""
    if db.is_postgres:
        return _upgrade_postgres(db)
    return _upgrade_sqlite(db)


def _upgrade_postgres(db):
    applied_now = []
    raw = db.engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute("select pg_advisory_lock(%s)", (_LOCK_KEY,))
            for statement in HISTORY_DDL:
                cur.execute(statement)
            _move_old_history(cur)
            raw.commit()
            cur.execute("select version from supabase_migrations.schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for stem, sql in postgres_migrations():
                version, name = version_and_name(stem)
                if version in done:
                    continue
                cur.execute(sql)  # no parameters: psycopg sends the whole file as one script
                cur.execute(
                    "insert into supabase_migrations.schema_migrations (version, name, statements)"
                    " values (%s, %s, %s)", (version, name, split_statements(sql)))
                raw.commit()
                applied_now.append(stem)
            cur.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
            raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    return applied_now


def _move_old_history(cur):
    """Copy the versions recorded in the former ``public.schema_migrations`` into the CLI's table, drop it."""
    cur.execute("select to_regclass('public.schema_migrations') is not null")
    if not cur.fetchone()[0]:
        return
    sources = dict(postgres_migrations())
    cur.execute("select version from public.schema_migrations")
    for (stem,) in cur.fetchall():
        version, name = version_and_name(stem)
        statements = split_statements(sources[stem]) if stem in sources else None
        cur.execute(
            "insert into supabase_migrations.schema_migrations (version, name, statements)"
            " values (%s, %s, %s) on conflict (version) do nothing", (version, name, statements))
    cur.execute("drop table public.schema_migrations")


def _upgrade_sqlite(db):
    applied_now = []
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "create table if not exists schema_migrations (version text primary key, applied_at text not null)"
        )
        done = {row[0] for row in conn.exec_driver_sql("select version from schema_migrations")}
        for version, apply in SQLITE_VERSIONS.items():
            if version in done:
                continue
            apply(conn)
            conn.execute(
                sa.text("insert into schema_migrations (version, applied_at) values (:v, :t)"),
                {"v": version, "t": schema.utcnow().isoformat()},
            )
            applied_now.append(version)
    return applied_now
