"""Settings the migrations give the database's sessions (Postgres only): no JIT compilation.

A query whose estimated cost passes `jit_above_cost` is compiled with LLVM first; the fan-out's query of
members' own views for a batch of many conversations took ~700 ms of compiling for ~10 ms of work.
"""
import secrets

import psycopg
import pytest

from chat.db import Database
from chat.migrations import MIGRATIONS_DIR

pytestmark = pytest.mark.postgres

JIT_OFF = MIGRATIONS_DIR / "20261207100000_jit_off.sql"


def test_the_apps_sessions_run_without_jit_as_the_server_and_as_a_user(postgres_url):
    db = Database(postgres_url)
    try:
        with db.transaction() as conn:
            assert conn.exec_driver_sql("show jit").scalar() == "off"
        with db.transaction(user_id="00000000-0000-0000-0000-000000000001") as conn:
            assert conn.exec_driver_sql("select current_user").scalar() == "authenticated"
            assert conn.exec_driver_sql("show jit").scalar() == "off"
    finally:
        db.dispose()


def test_the_setting_belongs_to_the_database_so_every_client_has_it(postgres_url):
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        found = conn.execute("select s.setconfig from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase "
                             "where d.datname = current_database() and s.setrole = 0").fetchone()
        assert found is not None and "jit=off" in found[0]
        # A client other than the app (any role, any pooler) opens its session without JIT too.
        assert conn.execute("show jit").fetchone() == ("off",)


def test_whoever_does_not_own_the_database_turns_jit_off_for_their_own_role(postgres_url):
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    role = f"chat_jit_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'create role "{role}"')
        try:
            conn.execute(f'set role "{role}"')
            conn.execute(JIT_OFF.read_text())  # the migration, as a role that may not alter the database
            conn.execute("reset role")
            found = conn.execute("select s.setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole "
                                 "where r.rolname = %s and s.setdatabase = 0", (role,)).fetchone()
            assert found == (["jit=off"],)
        finally:
            conn.execute("reset role")
            conn.execute(f'drop role "{role}"')  # its settings go with it
