"""Postgres' schema of record (supabase/migrations/*.sql) and SQLite's (chat.schema.metadata) agree.

A fresh database of each kind is migrated with ``chat.migrations.upgrade`` and inspected with
``sqlalchemy.inspect``: the same tables, columns, nullability, defaults, keys, foreign keys and indexes,
and both match ``chat.schema``. Upgrading again applies nothing.
"""
import re

import pytest
import sqlalchemy as sa

from chat import migrations
from chat.db import Database
from chat.schema import SEARCH_INDEX_COLUMNS, SEARCH_INDEX_TABLES, metadata

from .services import create_postgres_database

pytestmark = pytest.mark.postgres

TABLES = {t.name: t for t in metadata.sorted_tables}
# The search index differs by design (a generated tsvector column on Postgres, an FTS5 table with its shadow
# tables on SQLite) and is proved by tests/test_search.py instead.


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    """{"postgres": (Database, first upgrade, second upgrade), "sqlite": (...)} on fresh databases."""
    url, drop = create_postgres_database()
    dbs = {
        "postgres": Database(url.replace("postgresql://", "postgresql+psycopg://")),
        "sqlite": Database(f"sqlite:///{tmp_path_factory.mktemp('parity') / 'chat.sqlite3'}"),
    }
    try:
        yield {name: (db, migrations.upgrade(db), migrations.upgrade(db)) for name, db in dbs.items()}
    finally:
        for db in dbs.values():
            db.dispose()
        drop()


@pytest.fixture(scope="module")
def inspected(databases):
    return {name: sa.inspect(db.engine) for name, (db, _, _) in databases.items()}


def _default(text):
    """A column default as a comparable value: "'member'::text" and "'member'" are both "member"."""
    if text is None:
        return None
    text = str(text.text if hasattr(text, "text") else text)
    text = re.sub(r"::[a-z ]+$", "", text.strip()).strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


def _columns(inspector, table):
    return {c["name"]: c for c in inspector.get_columns(table)
            if c["name"] not in SEARCH_INDEX_COLUMNS.get(table, ())}


def _expected_columns(table):
    return {c.name: (c.nullable, _default(c.server_default.arg if c.server_default is not None else None))
            for c in table.columns}


# --- migrations -------------------------------------------------------------------------------------------

def test_postgres_upgrade_applies_every_migration_once(databases):
    _db, first, second = databases["postgres"]
    files = sorted(p.stem for p in migrations.MIGRATIONS_DIR.glob("*.sql"))
    assert first == files and all(re.fullmatch(r"\d{14}_[a-z0-9_]+", v) for v in files)
    assert second == []


def test_sqlite_upgrade_is_idempotent_too_for_postgres_parity(databases):
    _db, first, second = databases["sqlite"]
    assert first == list(migrations.SQLITE_VERSIONS) and second == []


def test_postgres_upgrade_records_versions_and_runs_as_one_script_each(databases):
    db, first, _ = databases["postgres"]
    with db.engine.connect() as conn:
        recorded = conn.exec_driver_sql(
            "select version || '_' || name from supabase_migrations.schema_migrations order by 1").scalars().all()
        old_table = conn.exec_driver_sql("select to_regclass('public.schema_migrations')").scalar()
    assert recorded == first and old_table is None


# --- tables and columns -------------------------------------------------------------------------------------

def test_postgres_and_sqlite_define_the_same_tables_as_the_metadata(inspected):
    for name, inspector in inspected.items():
        extra = {"schema_migrations"} if name == "sqlite" else set()  # Postgres records in supabase_migrations
        assert set(inspector.get_table_names()) - extra - set(SEARCH_INDEX_TABLES) == set(TABLES), name


def test_postgres_and_sqlite_columns_nullability_and_defaults_match_the_metadata(inspected):
    for table_name, table in TABLES.items():
        expected = _expected_columns(table)
        for name, inspector in inspected.items():
            columns = _columns(inspector, table_name)
            assert list(columns) == list(expected), (name, table_name)  # same names, same order
            for column_name, (nullable, default) in expected.items():
                found = columns[column_name]
                assert found["nullable"] == nullable, (name, table_name, column_name)
                if not found.get("identity") and found.get("autoincrement") is not True:
                    assert _default(found["default"]) == default, (name, table_name, column_name, found["default"])


def test_postgres_and_sqlite_column_types_match_the_metadata(inspected, databases):
    for name, inspector in inspected.items():
        dialect = databases[name][0].engine.dialect
        for table_name, table in TABLES.items():
            columns = _columns(inspector, table_name)
            for column in table.columns:
                assert columns[column.name]["type"].compile(dialect=dialect) == column.type.compile(dialect=dialect), \
                    (name, table_name, column.name)


def test_postgres_identity_columns(inspected):
    for table_name in ("message_edits", "outbox"):
        identity = _columns(inspected["postgres"], table_name)["id"].get("identity")
        assert identity and identity["always"] is False, table_name  # generated by default as identity


# --- keys, constraints, indexes --------------------------------------------------------------------------------

def test_postgres_and_sqlite_keys_match_the_metadata(inspected):
    for table_name, table in TABLES.items():
        primary = [c.name for c in table.primary_key.columns]
        uniques = {tuple(c.name for c in u.columns) for u in table.constraints
                   if isinstance(u, sa.UniqueConstraint)}
        uniques |= {(c.name,) for c in table.columns if c.unique}
        foreign = {(tuple(fk.parent.name for fk in f.elements), f.referred_table.name,
                    tuple(fk.column.name for fk in f.elements), (f.ondelete or "").upper() or None)
                   for f in table.foreign_key_constraints}
        for name, inspector in inspected.items():
            assert inspector.get_pk_constraint(table_name)["constrained_columns"] == primary, (name, table_name)
            found_uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table_name)}
            assert found_uniques == uniques, (name, table_name)
            found_foreign = {(tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]),
                              (f.get("options") or {}).get("ondelete"))
                             for f in inspector.get_foreign_keys(table_name)}
            assert found_foreign == foreign, (name, table_name)


def test_postgres_named_unique_constraints(inspected):
    names = {u["name"] for u in inspected["postgres"].get_unique_constraints("messages")}
    assert names == {"messages_conversation_id_seq_key", "messages_sender_id_conversation_id_client_id_key"}


def test_postgres_and_sqlite_have_every_metadata_index(inspected):
    for table_name, table in TABLES.items():
        for index in table.indexes:
            columns = [c.name for c in index.columns]
            for name, inspector in inspected.items():
                found = {i["name"]: i for i in inspector.get_indexes(table_name)}
                assert index.name in found, (name, table_name, index.name)
                assert found[index.name]["column_names"] == columns, (name, index.name)
    outbox_index = {i["name"]: i for i in inspected["postgres"].get_indexes("outbox")}["outbox_unpublished_idx"]
    assert "published_at is null" in outbox_index["dialect_options"]["postgresql_where"].lower()


def test_postgres_enum_check_constraints(databases):
    db = databases["postgres"][0]
    checks = {("conversations", "kind"): ["'direct'", "'group'"],
              ("memberships", "role"): ["'owner'", "'admin'", "'member'"],
              ("messages", "kind"): ["'text'", "'image'", "'file'", "'audio'", "'system'"]}
    inspector = sa.inspect(db.engine)
    for (table_name, column), values in checks.items():
        found = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table_name)}
        text = found[f"{table_name}_{column}_check"]
        assert all(v in text for v in values), (table_name, text)
    with db.engine.connect() as conn:
        with pytest.raises(sa.exc.IntegrityError, match="conversations_kind_check"):
            conn.exec_driver_sql("insert into public.conversations (id, kind, created_at, updated_at) "
                                 "values (gen_random_uuid(), 'channel', now(), now())")
        conn.rollback()


def test_postgres_every_policy_column_and_foreign_key_is_indexed(inspected):
    """Each foreign key's columns lead some index (policies and ON DELETE both look rows up by them)."""
    inspector = inspected["postgres"]
    for table_name in TABLES:
        leading = [tuple(i["column_names"]) for i in inspector.get_indexes(table_name)]
        leading += [tuple(inspector.get_pk_constraint(table_name)["constrained_columns"])]
        leading += [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table_name)]
        for fk in inspector.get_foreign_keys(table_name):
            columns = tuple(fk["constrained_columns"])
            assert any(index[:len(columns)] == columns for index in leading), (table_name, columns)
