"""Row Level Security, proved directly in SQL (Postgres only).

The data is made through the real actions; then each check opens a raw psycopg transaction and becomes
a user exactly as chat.db does (and as Supabase's Data API does):
``select set_config('request.jwt.claims', '{"sub": …}', true); set local role authenticated``.
Every policy has a check that it admits what the actions need and a check that it refuses the rest.
"""
import io
import json
from contextlib import contextmanager

import psycopg
import pytest
import sqlalchemy as sa
from PIL import Image
from psycopg import errors
from werkzeug.datastructures import FileStorage

from chat.actions import accounts, attachments, conversations, members, messages
from chat.db import transaction
from chat.schema import metadata

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("backend", ["postgres"], indirect=True),
]

TABLES = [t.name for t in metadata.sorted_tables]
HELPERS = ["is_member", "conversation_role", "created_conversation", "has_other_members", "can_see_attachment",
           "moderates_message", "own_conversations"]


# --- helpers -----------------------------------------------------------------------------------------

def png(color="red"):
    out = io.BytesIO()
    Image.new("RGB", (2, 2), color).save(out, "PNG")
    return out.getvalue()


def upload(user, name="photo.png"):
    return attachments.upload(user["id"], FileStorage(stream=io.BytesIO(png()), filename=name))


@pytest.fixture
def pg(app):
    """Opens raw transactions on the app's database: ``with pg.as_user(id) as cur: …`` (always rolled back)."""
    return Raw(app.config["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://"))


class Raw:
    def __init__(self, url):
        self.url = url

    @contextmanager
    def as_role(self, role, user_id=None):
        with psycopg.connect(self.url) as conn:
            try:
                with conn.cursor() as cur:
                    if user_id is not None:
                        cur.execute("select set_config('request.jwt.claims', %s, true)",
                                    (json.dumps({"sub": str(user_id), "role": role}),))
                    cur.execute(f"set local role {role}")
                    yield cur
            finally:
                conn.rollback()

    def as_user(self, user_id):
        return self.as_role("authenticated", user_id)

    def as_server(self):
        @contextmanager
        def server():
            with psycopg.connect(self.url) as conn:
                try:
                    with conn.cursor() as cur:
                        yield cur
                finally:
                    conn.rollback()
        return server()

    def rows(self, user_id, sql, params=()):
        with self.as_user(user_id) as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def scalar(self, user_id, sql, params=()):
        rows = self.rows(user_id, sql, params)
        return rows[0][0] if rows else None

    def rowcount(self, user_id, sql, params=()):
        """Rows a write touched (0 when RLS filtered every row out)."""
        with self.as_user(user_id) as cur:
            cur.execute(sql, params)
            return cur.rowcount

    def refused(self, user_id, sql, params=(), error=errors.InsufficientPrivilege):
        """True when the statement raises ``error`` (an RLS violation or a missing privilege: 42501)."""
        with self.as_user(user_id) as cur:
            try:
                cur.execute(sql, params)
            except error:
                return True
        return False

    def count_as_server(self, sql, params=()):
        with self.as_server() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]


@pytest.fixture
def world(alice, bob, carol):
    return make_world(alice, bob, carol)


def make_world(alice, bob, carol):
    """Alice and Bob's direct conversation, Bob and Carol's, Bob's group with Carol, and their contents."""
    ab = conversations.open_direct(alice["id"], bob["id"])[0]
    bc = conversations.open_direct(bob["id"], carol["id"])[0]
    group = conversations.create_group(bob["id"], "Bob's club", [carol["id"]])

    ab_bob, _ = messages.send_message(bob["id"], ab["id"], "hi alice")
    ab_alice, _ = messages.send_message(alice["id"], ab["id"], "hi bob")
    messages.edit_message(bob["id"], ab_bob["id"], "hi alice!")

    bc_photo = upload(bob)
    bc_msg, _ = messages.send_message(bob["id"], bc["id"], "secret", kind="image", attachment_ids=[bc_photo["id"]])
    messages.edit_message(bob["id"], bc_msg["id"], "secret!")
    group_msg, _ = messages.send_message(carol["id"], group["id"], "club business")

    ab_photo = upload(alice)
    ab_pic, _ = messages.send_message(alice["id"], ab["id"], "", kind="image", attachment_ids=[ab_photo["id"]])
    bob_pending = upload(bob, "unsent.png")  # uploaded, not yet attached to anything

    return {
        "alice": alice["id"], "bob": bob["id"], "carol": carol["id"],
        "ab": ab["id"], "bc": bc["id"], "group": group["id"],
        "ab_bob": ab_bob["id"], "ab_alice": ab_alice["id"], "ab_pic": ab_pic["id"],
        "bc_msg": bc_msg["id"], "group_msg": group_msg["id"],
        "bc_photo": bc_photo["id"], "ab_photo": ab_photo["id"], "bob_pending": bob_pending["id"],
    }


# --- the bootstrap and the lock-down ----------------------------------------------------------------

def test_app_transactions_run_as_authenticated_with_the_users_claims(app, alice):
    with transaction(alice["id"]) as conn:
        assert conn.execute(sa.text("select current_user")).scalar() == "authenticated"
        assert str(conn.execute(sa.text("select auth.uid()")).scalar()) == alice["id"]
    with transaction() as conn:
        # A later server transaction on the same pooled connection carries no claims: '' is not an error.
        assert conn.execute(sa.text("select current_user")).scalar() != "authenticated"
        assert conn.execute(sa.text("select auth.uid()")).scalar() is None


def test_compat_roles_and_auth_functions(pg, alice):
    with pg.as_server() as cur:
        cur.execute("select rolname, rolcanlogin, rolbypassrls from pg_roles "
                    "where rolname in ('anon', 'authenticated', 'service_role') order by rolname")
        assert cur.fetchall() == [("anon", False, False), ("authenticated", False, False),
                                  ("service_role", False, True)]
        cur.execute("select auth.uid()")
        assert cur.fetchone()[0] is None
        cur.execute("select set_config('request.jwt.claims', '', true)")
        cur.execute("select auth.uid(), auth.role()")
        assert cur.fetchone() == (None, None)
    with pg.as_user(alice["id"]) as cur:
        cur.execute("select auth.uid()::text, auth.role()")
        assert cur.fetchone() == (alice["id"], "authenticated")


def test_rls_is_enabled_on_every_table(pg):
    with pg.as_server() as cur:
        cur.execute("select c.relname, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                    "where n.nspname = 'public' and c.relkind in ('r', 'p')")
        tables = dict(cur.fetchall())
    assert set(tables) == set(TABLES)  # the migration history lives in supabase_migrations, below
    assert all(tables.values()), [name for name, on in tables.items() if not on]


def test_anon_has_no_privilege_and_no_policy(pg):
    with pg.as_server() as cur:
        for table in [*TABLES, "supabase_migrations.schema_migrations"]:
            table = table if "." in table else f"public.{table}"
            for privilege in ("select", "insert", "update", "delete"):
                cur.execute("select has_table_privilege('anon', %s, %s)", (table, privilege))
                assert cur.fetchone()[0] is False, (table, privilege)
        cur.execute("select distinct unnest(roles)::text from pg_policies where schemaname = 'public'")
        assert [r[0] for r in cur.fetchall()] == ["authenticated"]


def test_authenticated_has_no_privilege_on_private_tables(pg):
    with pg.as_server() as cur:
        for table in ("public.accounts", "public.api_tokens", "supabase_migrations.schema_migrations"):
            cur.execute("select has_table_privilege('authenticated', %s, 'select,insert,update,delete')",
                        (table,))
            assert cur.fetchone()[0] is False, table


def test_policy_helpers_are_pinned_and_not_for_anon(pg):
    with pg.as_server() as cur:
        cur.execute("select p.proname, p.prosecdef, p.provolatile, p.proconfig, "
                    "has_function_privilege('anon', p.oid, 'execute'), "
                    "has_function_privilege('authenticated', p.oid, 'execute') "
                    "from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
                    "where n.nspname = 'public' and p.proname = any(%s)", (HELPERS,))
        found = {r[0]: r[1:] for r in cur.fetchall()}
    assert set(found) == set(HELPERS)
    for name, (definer, volatility, config, anon, authenticated) in found.items():
        assert definer and volatility == "s", name
        assert config == ['search_path=""'], (name, config)
        assert anon is False and authenticated is True, name


def test_anon_sees_nothing_at_all(pg, world):
    for table in [*(f"public.{t}" for t in TABLES), "supabase_migrations.schema_migrations"]:
        with pg.as_role("anon") as cur, pytest.raises(errors.InsufficientPrivilege):
            cur.execute(f"select * from {table}")
    with pg.as_role("authenticated") as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute("select * from supabase_migrations.schema_migrations")
    for table in ("users", "conversations", "messages"):
        with pg.as_role("anon", world["alice"]) as cur, \
                pytest.raises(errors.InsufficientPrivilege):  # claims do not help anon either
            cur.execute(f"select count(*) from public.{table}")
    for helper in ("is_member", "conversation_role", "created_conversation"):
        with pg.as_role("anon") as cur, pytest.raises(errors.InsufficientPrivilege):
            cur.execute(f"select public.{helper}(%s)", (world["bc"],))


# --- what alice sees ------------------------------------------------------------------------------------

def test_alice_sees_her_own_conversation_with_bob(pg, world):
    a = world["alice"]
    assert {str(r[0]) for r in pg.rows(a, "select id from conversations")} == {world["ab"]}
    assert {str(r[0]) for r in pg.rows(a, "select user_id from memberships")} == {world["alice"], world["bob"]}
    assert {str(r[0]) for r in pg.rows(a, "select id from messages")} == {world["ab_bob"], world["ab_alice"],
                                                                          world["ab_pic"]}
    assert pg.scalar(a, "select count(*) from message_edits") == 1  # bob's edit in their conversation
    assert {str(r[0]) for r in pg.rows(a, "select id from attachments")} == {world["ab_photo"]}
    assert pg.scalar(a, "select count(*) from users") == 3  # the directory


def test_bob_and_carols_conversation_is_invisible_to_alice(pg, world):
    a, bc = world["alice"], world["bc"]
    assert pg.rows(a, "select * from conversations where id = %s", (bc,)) == []
    assert pg.rows(a, "select * from conversations where id = %s", (world["group"],)) == []
    assert pg.rows(a, "select * from memberships where conversation_id = %s", (bc,)) == []
    assert pg.rows(a, "select * from messages where conversation_id = %s", (bc,)) == []
    assert pg.rows(a, "select * from messages where id = %s", (world["group_msg"],)) == []
    assert pg.rows(a, "select * from message_edits where message_id = %s", (world["bc_msg"],)) == []
    assert pg.rows(a, "select * from attachments where id in (%s, %s)", (world["bc_photo"], world["bob_pending"])) == []
    # ... while they are there, and visible to its members.
    assert pg.count_as_server("select count(*) from messages where conversation_id = %s", (bc,)) == 1
    assert pg.scalar(world["carol"], "select count(*) from messages where conversation_id = %s", (bc,)) == 1
    assert pg.scalar(world["carol"], "select count(*) from attachments where id = %s", (world["bc_photo"],)) == 1
    assert pg.scalar(world["carol"], "select count(*) from message_edits where message_id = %s",
                     (world["bc_msg"],)) == 1
    assert pg.scalar(a, "select public.is_member(%s)", (bc,)) is False
    assert pg.scalar(a, "select public.conversation_role(%s)", (world["group"],)) is None


def test_the_lists_helper_answers_with_the_callers_own_conversations_only(pg, world):
    def own(user_id):
        return {str(r[0]) for r in pg.rows(user_id, "select id from public.own_conversations()")}
    assert own(world["alice"]) == {world["ab"]}
    assert own(world["bob"]) == {world["ab"], world["bc"], world["group"]}
    assert own(world["carol"]) == {world["bc"], world["group"]}
    members.remove_member(world["carol"], world["group"], world["carol"])
    assert own(world["carol"]) == {world["bc"]}  # a conversation left is not listed
    with pg.as_role("authenticated") as cur:  # no claims: nobody's
        cur.execute("select count(*) from public.own_conversations()")
        assert cur.fetchone()[0] == 0
    with pg.as_role("anon") as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute("select * from public.own_conversations()")


def test_private_tables_are_unreadable(pg, world):
    a = world["alice"]
    accounts.issue_token(a)  # so that api_tokens has a row
    for table in ("accounts", "api_tokens"):
        assert pg.count_as_server(f"select count(*) from {table}") > 0
        assert pg.refused(a, f"select * from {table}")
        assert pg.refused(a, f"select count(*) from {table}")
    assert pg.count_as_server("select count(*) from outbox") > 0
    assert pg.refused(a, "select * from outbox")  # the server's alone (tests/test_rls_wall.py)
    assert pg.refused(a, "select id from outbox")


# --- users ----------------------------------------------------------------------------------------------

def test_users_update_only_your_own_profile(pg, world):
    a, b = world["alice"], world["bob"]
    assert pg.rowcount(a, "update users set display_name = 'Al' where id = %s", (a,)) == 1
    assert pg.rowcount(a, "update users set display_name = 'Bobby' where id = %s", (b,)) == 0
    assert pg.refused(a, "update users set username = 'root' where id = %s", (a,))  # column not granted
    assert pg.refused(a, "insert into users (id, username, display_name, created_at) "
                         "values (gen_random_uuid(), 'mallory', 'M', now())")
    assert pg.refused(a, "delete from users where id = %s", (b,))


# --- conversations --------------------------------------------------------------------------------------

def test_creator_sees_a_new_conversation_before_its_memberships(pg, world):
    a = world["alice"]
    with pg.as_user(a) as cur:
        cur.execute("insert into conversations (id, kind, name, created_by, created_at, updated_at) "
                    "values (gen_random_uuid(), 'group', 'New', %s, now(), now()) returning id", (a,))
        new_id = cur.fetchone()[0]
        cur.execute("select count(*) from conversations where id = %s", (new_id,))
        assert cur.fetchone()[0] == 1
        # All the first members in one multi-row statement, which does not see its own rows.
        cur.execute("insert into memberships (conversation_id, user_id, role, joined_at) values "
                    "(%s, %s, 'owner', now()), (%s, %s, 'member', now()), (%s, %s, 'member', now())",
                    (new_id, a, new_id, world["bob"], new_id, world["carol"]))
        cur.execute("select count(*) from memberships where conversation_id = %s", (new_id,))
        assert cur.fetchone()[0] == 3


def test_conversations_cannot_be_created_for_someone_else(pg, world):
    a = world["alice"]
    insert = ("insert into conversations (id, kind, name, direct_key, created_by, last_seq, created_at, updated_at) "
              "values (gen_random_uuid(), %s, %s, %s, %s, %s, now(), now())")
    assert pg.refused(a, insert, ("group", "x", None, world["bob"], 0))
    # Squatting the key of someone else's direct conversation would lock them out of it.
    key = ":".join(sorted([world["bob"], world["carol"]]))
    assert pg.refused(a, insert, ("direct", None, key + "x", a, 0))
    assert pg.refused(a, insert, ("direct", None, "x:y", a, 0))
    assert pg.refused(a, insert, ("group", "x", None, a, 42))  # starts empty


def test_conversations_update_members_only(pg, world):
    a = world["alice"]
    assert pg.rowcount(a, "update conversations set updated_at = now() where id = %s", (world["ab"],)) == 1
    assert pg.rowcount(a, "update conversations set updated_at = now() where id = %s", (world["bc"],)) == 0
    assert pg.rowcount(a, "update conversations set last_seq = last_seq + 1 where id = %s", (world["group"],)) == 0
    assert pg.refused(a, "update conversations set created_by = %s where id = %s", (a, world["ab"]))
    assert pg.refused(a, "update conversations set kind = 'group' where id = %s", (world["ab"],))


def test_conversation_guard_rename_and_seq(pg, world):
    b, c, g = world["bob"], world["carol"], world["group"]
    assert pg.rowcount(b, "update conversations set name = 'Renamed' where id = %s", (g,)) == 1  # owner
    assert pg.refused(c, "update conversations set name = 'Mine' where id = %s", (g,))  # a member
    assert pg.refused(b, "update conversations set name = 'Ours' where id = %s", (world["ab"],))  # direct
    assert pg.refused(b, "update conversations set last_seq = last_seq + 5 where id = %s", (g,),
                      error=errors.CheckViolation)
    assert pg.refused(b, "update conversations set last_seq = 0 where id = %s", (g,), error=errors.CheckViolation)


# --- memberships ----------------------------------------------------------------------------------------

def test_alice_cannot_add_herself_to_their_conversation(pg, world):
    a = world["alice"]
    insert = "insert into memberships (conversation_id, user_id, role, joined_at) values (%s, %s, %s, now())"
    assert pg.refused(a, insert, (world["bc"], a, "member"))
    assert pg.refused(a, insert, (world["group"], a, "owner"))
    assert pg.refused(a, insert, (world["ab"], world["carol"], "member"))  # not a manager of a direct one


def test_membership_insert_by_role(pg, world, dave):
    b, c, g, d = world["bob"], world["carol"], world["group"], dave["id"]
    insert = "insert into memberships (conversation_id, user_id, role, joined_at) values (%s, %s, %s, now())"
    assert not pg.refused(b, insert, (g, d, "admin"))  # the owner
    assert pg.refused(c, insert, (g, d, "member"))  # a member
    members.add_member(b, g, world["alice"], role="admin")
    assert not pg.refused(world["alice"], insert, (g, d, "member"))  # an admin ...
    assert pg.refused(world["alice"], insert, (g, d, "owner"))  # ... but never an owner


def test_creator_who_left_cannot_let_themselves_back_in(pg, world):
    b, g = world["bob"], world["group"]
    members.remove_member(b, g, b)  # the owner leaves; Carol becomes owner
    insert = "insert into memberships (conversation_id, user_id, role, joined_at) values (%s, %s, 'owner', now())"
    assert pg.refused(b, insert, (g, b))
    assert pg.rows(b, "select * from conversations where id = %s", (g,)) == []
    assert pg.scalar(world["carol"], "select role from memberships where conversation_id = %s and user_id = %s",
                     (g, world["carol"])) == "owner"


def test_membership_update_own_read_mark_but_not_own_role(pg, world):
    a, ab = world["alice"], world["ab"]
    assert pg.rowcount(a, "update memberships set last_read_seq = 1 where conversation_id = %s and user_id = %s",
                       (ab, a)) == 1
    assert pg.refused(a, "update memberships set role = 'owner' where conversation_id = %s and user_id = %s",
                      (ab, a))
    assert pg.rowcount(a, "update memberships set last_read_seq = 0 where conversation_id = %s and user_id = %s",
                       (ab, world["bob"])) == 0  # bob's mark
    assert pg.rowcount(a, "update memberships set last_read_seq = 0 where conversation_id = %s",
                       (world["bc"],)) == 0
    assert pg.refused(a, "update memberships set joined_at = now() where user_id = %s", (a,))  # column not granted


def test_membership_update_and_delete_by_role(pg, world, dave):
    b, c, g = world["bob"], world["carol"], world["group"]
    members.add_member(b, g, dave["id"], role="admin")
    d = dave["id"]
    where = "where conversation_id = %s and user_id = %s"
    # A member changes no one else's row and removes no one.
    assert pg.rowcount(c, f"update memberships set role = 'admin' {where}", (g, d)) == 0
    assert pg.rowcount(c, f"delete from memberships {where}", (g, d)) == 0
    # An admin cannot touch the owner, nor make anyone owner; removes members.
    assert pg.rowcount(d, f"update memberships set role = 'member' {where}", (g, b)) == 0
    assert pg.rowcount(d, f"delete from memberships {where}", (g, b)) == 0
    assert pg.refused(d, f"update memberships set role = 'owner' {where}", (g, c))
    assert pg.rowcount(d, f"delete from memberships {where}", (g, c)) == 1
    # The owner hands ownership on; anyone leaves.
    assert pg.rowcount(b, f"update memberships set role = 'owner' {where}", (g, c)) == 1
    assert pg.rowcount(c, f"delete from memberships {where}", (g, c)) == 1


# --- messages -------------------------------------------------------------------------------------------

def _send_sql(conversation_id, sender_id, kind="text"):
    return ("insert into messages (id, conversation_id, seq, sender_id, kind, body, metadata, created_at) "
            "select gen_random_uuid(), c.id, c.last_seq, %s, %s, 'hello', '{}', now() "
            "from conversations c where c.id = %s", (sender_id, kind, conversation_id))


def test_alice_cannot_insert_a_message_into_their_conversation(pg, world):
    a = world["alice"]
    insert = ("insert into messages (id, conversation_id, seq, sender_id, kind, body, metadata, created_at) "
              "values (gen_random_uuid(), %s, 99, %s, 'text', 'boo', '{}', now())")
    assert pg.refused(a, insert, (world["bc"], a))
    assert pg.refused(a, insert, (world["group"], a))


def test_alice_cannot_send_as_bob_into_her_own_conversation(pg, world):
    a, ab = world["alice"], world["ab"]
    with pg.as_user(a) as cur:
        cur.execute("update conversations set last_seq = last_seq + 1 where id = %s", (ab,))
        sql, params = _send_sql(ab, a)
        cur.execute(sql, params)  # as herself: fine
        cur.execute("update conversations set last_seq = last_seq + 1 where id = %s", (ab,))
        sql, params = _send_sql(ab, world["bob"])
        with pytest.raises(errors.InsufficientPrivilege):
            cur.execute(sql, params)


def test_message_insert_needs_the_seq_just_taken_and_no_system_kind(pg, world):
    a, ab = world["alice"], world["ab"]
    sql, params = _send_sql(ab, a, kind="system")
    with pg.as_user(a) as cur:
        cur.execute("update conversations set last_seq = last_seq + 1 where id = %s", (ab,))
        with pytest.raises(errors.InsufficientPrivilege):
            cur.execute(sql, params)
    insert = ("insert into messages (id, conversation_id, seq, sender_id, kind, body, metadata, created_at) "
              "select gen_random_uuid(), c.id, c.last_seq + 5, %s, 'text', 'from the future', '{}', now() "
              "from conversations c where c.id = %s")
    assert pg.refused(a, insert, (a, ab))  # a seq the conversation has not handed out


def test_alice_cannot_update_bobs_message(pg, world):
    a = world["alice"]
    for message in ("ab_bob", "bc_msg", "group_msg"):
        assert pg.rowcount(a, "update messages set body = 'pwned' where id = %s", (world[message],)) == 0
        assert pg.rowcount(a, "update messages set deleted_at = now(), body = '' where id = %s",
                           (world[message],)) == 0
    assert pg.rowcount(a, "update messages set deleted_at = now(), body = '' where id = %s", (world["ab_alice"],)) == 1
    assert pg.refused(a, "update messages set sender_id = %s where id = %s", (world["bob"], world["ab_alice"]))
    assert pg.count_as_server("select count(*) from messages where body = 'pwned'") == 0


def test_group_manager_deletes_but_does_not_edit_others_messages(pg, world):
    b, msg = world["bob"], world["group_msg"]  # bob owns the group; carol wrote the message
    assert pg.refused(b, "update messages set body = 'bob was here' where id = %s", (msg,))
    assert pg.refused(b, "update messages set deleted_at = now() where id = %s", (msg,), error=errors.CheckViolation)
    assert pg.rowcount(b, "update messages set body = '', metadata = '{}', deleted_at = now() where id = %s",
                       (msg,)) == 1
    messages.delete_message(b, msg)
    assert pg.refused(world["carol"], "update messages set deleted_at = null, body = 'back' where id = %s", (msg,))


# --- message_edits --------------------------------------------------------------------------------------

def test_message_edits_policies(pg, world):
    a, b = world["alice"], world["bob"]
    insert = "insert into message_edits (message_id, body, edited_at) values (%s, 'forged', now())"
    assert pg.refused(a, insert, (world["bc_msg"],))  # not a member
    assert pg.refused(a, insert, (world["ab_bob"],))  # a member, but not the sender
    assert not pg.refused(b, "insert into message_edits (message_id, body, edited_at) "
                             "select id, body, now() from messages where id = %s returning id",
                          (world["ab_bob"],))  # the sender, keeping the current body
    assert pg.refused(a, "insert into message_edits (id, message_id, body, edited_at) "
                         "values (1000, %s, 'x', now())", (world["ab_alice"],))  # ids are not the client's
    assert pg.rowcount(a, "delete from message_edits where message_id = %s", (world["ab_bob"],)) == 0
    assert pg.rowcount(a, "delete from message_edits where message_id = %s", (world["bc_msg"],)) == 0
    assert pg.rowcount(b, "delete from message_edits where message_id = %s", (world["ab_bob"],)) == 1
    assert pg.refused(a, "update message_edits set body = 'x'")


# --- attachments ----------------------------------------------------------------------------------------

def test_attachments_policies(pg, world):
    a, b = world["alice"], world["bob"]
    assert pg.rows(a, "select id from attachments where uploader_id = %s", (b,)) == []
    insert = ("insert into attachments (id, uploader_id, message_id, filename, content_type, size, storage_key, "
              "created_at) values (gen_random_uuid(), %s, %s, 'f.png', 'image/png', 1, gen_random_uuid()::text, now())")
    assert pg.refused(a, insert, (b, None))  # as someone else
    assert pg.refused(a, insert, (a, world["ab_bob"]))  # straight onto a message
    assert not pg.refused(a, insert, (a, None))
    # Attach: only your own upload, only to your own message.
    assert pg.rowcount(a, "update attachments set message_id = %s where id = %s",
                       (world["ab_alice"], world["bob_pending"])) == 0
    mine = upload({"id": a}, "mine.png")["id"]
    assert pg.refused(a, "update attachments set message_id = %s where id = %s", (world["ab_bob"], mine))
    assert pg.refused(a, "update attachments set message_id = %s where id = %s", (world["bc_msg"], mine))
    assert pg.rowcount(a, "update attachments set message_id = %s where id = %s", (world["ab_alice"], mine)) == 1
    # Detach: not someone else's attachment in a conversation you are not in.
    assert pg.rowcount(a, "update attachments set message_id = null where id = %s", (world["bc_photo"],)) == 0
    assert pg.refused(a, "update attachments set storage_key = 'x' where id = %s", (mine,))
    assert pg.refused(a, "delete from attachments where id = %s", (mine,))


def test_owner_deleting_someone_elses_message_detaches_its_attachments(pg, world):
    b, c, g = world["bob"], world["carol"], world["group"]
    photo = upload({"id": c})
    msg, _ = messages.send_message(c, g, "look", kind="image", attachment_ids=[photo["id"]])
    messages.edit_message(c, msg["id"], "look!")
    assert pg.scalar(b, "select count(*) from attachments where id = %s", (photo["id"],)) == 1
    deleted = messages.delete_message(b, msg["id"])  # bob owns the group: RLS must let the whole action through
    assert deleted["deleted_at"] is not None and deleted["attachments"] == []
    assert pg.scalar(b, "select count(*) from attachments where id = %s", (photo["id"],)) == 0
    # Deleted with its message, as the server once the deletion committed (its uploader is someone else).
    assert pg.count_as_server("select count(*) from attachments where id = %s", (photo["id"],)) == 0
    assert pg.count_as_server("select count(*) from message_edits where message_id = %s", (msg["id"],)) == 0


# --- outbox ---------------------------------------------------------------------------------------------

def test_outbox_is_the_servers_alone(pg, world):
    a = world["alice"]
    assert pg.refused(a, "insert into outbox (conversation_id, event_type, payload, created_at) "
                         "values (%s, 'read', '{}', now())", (world["ab"],))
    assert pg.refused(a, "insert into outbox (id, event_type, payload, created_at) values (1, 'read', '{}', now())")
    assert pg.refused(a, "update outbox set published_at = now()")
    assert pg.refused(a, "delete from outbox")


# --- the plain send in one statement (public.append_message) ----------------------------------------------

APPEND = ("select * from public.append_message(%s, %s, gen_random_uuid(), %s, 'hello', '{}', %s, now(), "
          "'{\"body\": \"hello\"}')")


def test_only_the_server_may_call_the_one_statement_send(pg, world):
    a, ab = world["alice"], world["ab"]
    with pg.as_server() as cur:
        signature = "public.append_message(uuid, uuid, uuid, text, text, jsonb, text, timestamptz, jsonb)"
        cur.execute("select has_function_privilege('anon', %s, 'execute'), "
                    "has_function_privilege('authenticated', %s, 'execute')", (signature, signature))
        assert cur.fetchone() == (False, False)
    # Not even into her own conversation, as herself: a Data API client cannot write the outbox through it.
    assert pg.refused(a, APPEND, (a, ab, "text", None))
    with pg.as_role("anon") as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute(APPEND, (a, ab, "text", None))


def test_the_one_statement_send_refuses_a_stranger_and_writes_nothing(pg, world):
    a = world["alice"]
    counts = ("select (select count(*) from messages), (select count(*) from outbox), "
              "(select last_seq from conversations where id = %s)")
    with pg.as_server() as cur:
        cur.execute(counts, (world["bc"],))
        before = cur.fetchone()
        for conversation in (world["bc"], world["group"], "00000000-0000-0000-0000-000000000000"):
            cur.execute(APPEND, (a, conversation, "text", None))
            assert cur.fetchone() == ("not_member", None, None)
        cur.execute(counts, (world["bc"],))
        assert cur.fetchone() == before
        with pytest.raises(errors.CheckViolation):  # "system" messages are not a client's
            cur.execute(APPEND, (a, world["ab"], "system", None))


def test_the_one_statement_send_writes_the_message_seq_read_mark_and_outbox_row(pg, world):
    a, ab = world["alice"], world["ab"]
    with pg.as_server() as cur:
        cur.execute("select last_seq from conversations where id = %s", (ab,))
        seq = cur.fetchone()[0] + 1
        cur.execute(APPEND, (a, ab, "text", "once"))
        outcome, message_id, taken = cur.fetchone()
        assert (outcome, taken) == ("created", seq)
        cur.execute("select seq, sender_id::text, body, client_id from messages where id = %s", (message_id,))
        assert cur.fetchone() == (seq, a, "hello", "once")
        cur.execute("select last_read_seq from memberships where conversation_id = %s and user_id = %s", (ab, a))
        assert cur.fetchone()[0] == seq
        cur.execute("select event_type, payload from outbox where conversation_id = %s order by id desc limit 1",
                    (ab,))
        assert cur.fetchone() == ("message.created", {"body": "hello", "seq": seq})
        cur.execute(APPEND, (a, ab, "text", "once"))  # the same client_id again: the first message
        assert cur.fetchone() == ("existing", message_id, None)
