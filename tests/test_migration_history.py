"""One migration history for ``flask db upgrade`` and the Supabase CLI, proved with the real CLI.

Each test migrates fresh Postgres databases with ``chat.migrations.upgrade`` and ``supabase db push``
(the pinned CLI that ``make test`` installs; with ``CI=true`` a missing CLI fails), in both orders: the
second tool finds nothing to do, and both write the same rows to ``supabase_migrations.schema_migrations``.
``supabase db lint`` (plpgsql_check) reports nothing on the migrated schema.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from chat import migrations
from chat.db import Database

from .services import create_postgres_database, unavailable

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
CLI_VERSION = "2.117.0"  # the Makefile's SUPABASE_CLI_VERSION


def _cli():
    for candidate in (os.environ.get("SUPABASE_CLI"), ROOT / ".tools/node_modules/.bin/supabase",
                      shutil.which("supabase")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    unavailable("The Supabase CLI", f"run `make supabase-cli` (npm supabase@{CLI_VERSION}) or set SUPABASE_CLI")


@pytest.fixture(scope="module")
def cli():
    path = _cli()
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    assert version == CLI_VERSION, version
    return path


def _run(cli, *args, url):
    done = subprocess.run([cli, *args, "--db-url", f"{url}?sslmode=disable", "--workdir", str(ROOT)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "SUPABASE_TELEMETRY": "0"})
    return done.returncode, done.stdout + done.stderr


def _push(cli, url):
    code, output = _run(cli, "db", "push", "--yes", url=url)
    assert code == 0, output
    return output


def _history(url):
    with psycopg.connect(url) as conn:
        return conn.execute("select version, name, statements from supabase_migrations.schema_migrations"
                            " order by version").fetchall()


def _upgrade(url):
    db = Database(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        return migrations.upgrade(db)
    finally:
        db.dispose()


@pytest.fixture
def fresh_url():
    url, drop = create_postgres_database()
    yield url
    drop()


STEMS = [stem for stem, _ in migrations.postgres_migrations()]


def test_cli_first_then_flask_finds_nothing_to_do(cli, fresh_url):
    output = _push(cli, fresh_url)
    assert all(f"Applying migration {stem}.sql" in output for stem in STEMS), output
    cli_rows = _history(fresh_url)
    release = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],  # the Procfile's
                             cwd=ROOT, capture_output=True, text=True, timeout=120,
                             env={**os.environ, "DATABASE_URL": fresh_url, "SECRET_KEY": "x" * 32})
    assert release.returncode == 0 and "up to date" in release.stdout, release.stdout + release.stderr
    assert _upgrade(fresh_url) == []
    assert _upgrade(fresh_url) == []
    assert "Remote database is up to date" in _push(cli, fresh_url)
    assert _history(fresh_url) == cli_rows
    # What the app would have written for each file is exactly what the CLI wrote.
    assert cli_rows == [(*migrations.version_and_name(stem), migrations.split_statements(sql))
                        for stem, sql in migrations.postgres_migrations()]


def test_flask_first_then_cli_finds_nothing_to_do(cli, fresh_url):
    assert _upgrade(fresh_url) == STEMS
    app_rows = _history(fresh_url)
    output = _push(cli, fresh_url)
    assert "Remote database is up to date" in output, output
    assert _upgrade(fresh_url) == []
    assert _history(fresh_url) == app_rows
    code, listing = _run(cli, "migration", "list", url=fresh_url)
    assert code == 0, listing
    for stem in STEMS:
        version = stem.split("_")[0]
        assert f"`{version}` | `{version}`" in listing, listing  # local and remote agree


def test_the_cli_reads_the_record_the_app_wrote(cli, fresh_url):
    """Remove the app's row for the newest file: the CLI now tries to apply it, so it was reading that row."""
    assert _upgrade(fresh_url) == STEMS
    newest = migrations.version_and_name(STEMS[-1])[0]
    with psycopg.connect(fresh_url) as conn:
        conn.execute("delete from supabase_migrations.schema_migrations where version = %s", (newest,))
    _code, output = _run(cli, "db", "push", "--yes", url=fresh_url)
    # It applies that file again, and only that one: proof it reads the rows. (The file was applied behind
    # the record's back, so a second run fails or not as the file's statements can run twice or not.)
    assert f"Applying migration {STEMS[-1]}.sql" in output, output
    assert not any(stem in output for stem in STEMS[:-1]), output


def test_databases_recorded_in_the_old_table_move_over(cli, fresh_url):
    assert _upgrade(fresh_url) == STEMS
    with psycopg.connect(fresh_url) as conn:  # what an upgrade before this change left behind
        conn.execute("drop schema supabase_migrations cascade")
        conn.execute("create table public.schema_migrations (version text primary key,"
                     " applied_at timestamptz not null default now())")
        conn.execute("insert into public.schema_migrations (version) select unnest(%s::text[])", (STEMS,))
    assert _upgrade(fresh_url) == []
    with psycopg.connect(fresh_url) as conn:
        assert conn.execute("select to_regclass('public.schema_migrations')").fetchone() == (None,)
    assert [row[:2] for row in _history(fresh_url)] == [migrations.version_and_name(s) for s in STEMS]
    assert "Remote database is up to date" in _push(cli, fresh_url)


def test_db_lint_reports_nothing_and_would_report_a_broken_function(cli, fresh_url):
    assert _upgrade(fresh_url) == STEMS
    code, output = _run(cli, "db", "lint", "--level", "warning", "--fail-on", "warning", url=fresh_url)
    assert code == 0 and "No schema errors found" in output, output
    with psycopg.connect(fresh_url) as conn:
        conn.execute("create function public.broken() returns int language plpgsql as"
                     " $$ begin return (select nope from public.users limit 1); end $$")
    code, output = _run(cli, "db", "lint", "--level", "warning", "--fail-on", "warning", url=fresh_url)
    assert code != 0 and "column \\\"nope\\\" does not exist" in output, output


@pytest.mark.parametrize(("sql", "expected"), [
    ("select 1; select 2;", ["select 1", "select 2"]),
    ("select 'a;b'; select 'it''s;'", ["select 'a;b'", "select 'it''s;'"]),
    ("select E'x\\';y'; select 2", ["select E'x\\';y'", "select 2"]),
    ('select "odd;name" from t', ['select "odd;name" from t']),
    ("create function f() returns int language plpgsql as $body$ begin return 1; end $body$;\nselect $$;$$",
     ["create function f() returns int language plpgsql as $body$ begin return 1; end $body$", "select $$;$$"]),
    ("/* a; /* nested; */ still; */ select 1; -- trailing; comment\nselect 2",
     ["/* a; /* nested; */ still; */ select 1", "-- trailing; comment\nselect 2"]),
    ("select $1; select 2", ["select $1", "select 2"]),
    ("  ;\n; ", []),
])
def test_split_statements(sql, expected):
    assert migrations.split_statements(sql) == expected
