"""Applies pending schema migrations: ``supabase/migrations/*.sql`` on Postgres, ``schema.metadata`` on SQLite.

Applied versions are recorded in ``schema_migrations``; upgrading twice is a no-op, and on Postgres an
advisory lock lets several processes (a release phase, workers starting) upgrade at once safely.
"""
from pathlib import Path

import sqlalchemy as sa

from . import schema

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "supabase" / "migrations"
SQLITE_VERSIONS = {"0001_initial": lambda conn: schema.metadata.create_all(conn),
                   "0002_sessions": schema.upgrade_sqlite_sessions,
                   "0003_instance_identity": lambda conn: schema.chat_instance.create(conn, checkfirst=True),
                   "0004_attachment_thumbnails": schema.upgrade_sqlite_attachment_thumbnails}
_LOCK_KEY = 7_301_001  # arbitrary, fixed: "chat migrations"


def postgres_migrations(directory=MIGRATIONS_DIR):
    """(version, sql) pairs in the order the Supabase CLI applies them."""
    return [(path.stem, path.read_text()) for path in sorted(directory.glob("*.sql"))]


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
            cur.execute(
                "create table if not exists public.schema_migrations ("
                " version text primary key, applied_at timestamptz not null default now())"
            )
            cur.execute("alter table public.schema_migrations enable row level security")
            raw.commit()
            cur.execute("select version from public.schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for version, sql in postgres_migrations():
                if version in done:
                    continue
                cur.execute(sql)  # no parameters: psycopg sends the whole file as one script
                cur.execute("insert into public.schema_migrations (version) values (%s)", (version,))
                raw.commit()
                applied_now.append(version)
            cur.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
            raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    return applied_now


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
