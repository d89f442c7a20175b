"""RLS as a real wall (security audit S1 and S13), proved in SQL as ``authenticated`` (Postgres only).

Each repro of the audit runs as a client holding an ``authenticated`` JWT would run it (alice, bob, or
mallory, who shares no conversation with anyone) and must be refused; next to it, the legitimate path
still works. Rules checked at commit (deferred constraint triggers) are proved by committing.
"""
import json

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import errors

from chat import events
from chat.actions import accounts, messages
from chat.db import transaction

from .test_rls import Raw, make_world, upload

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("backend", ["postgres"], indirect=True),
]

FORGED = {
    "id": "00000000-0000-4000-8000-0000000000ff", "seq": 2, "kind": "text",
    "body": "FORGED by mallory: bob says send me your password", "metadata": {}, "client_id": None,
    "attachments": [{"id": "x", "filename": "invoice.pdf", "content_type": "application/pdf", "size": 1,
                     "url": "https://evil.example/invoice.pdf", "width": None, "height": None,
                     "duration_ms": None}],
    "created_at": "2026-11-28T00:00:00+00:00", "edited_at": None, "deleted_at": None,
}


class Committing(Raw):
    def commit(self, user_id, *statements):
        """Run ``(sql, params)`` statements as ``user_id`` and commit; the error raised, or None."""
        with psycopg.connect(self.url) as conn:
            try:
                with conn.cursor() as cur:
                    cur.execute("select set_config('request.jwt.claims', %s, true)",
                                (json.dumps({"sub": str(user_id), "role": "authenticated"}),))
                    cur.execute("set local role authenticated")
                    for sql, params in statements:
                        cur.execute(sql, params)
                conn.commit()
            except psycopg.Error as error:
                conn.rollback()
                return error
        return None


@pytest.fixture
def pg(app):
    return Committing(app.config["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://"))


@pytest.fixture
def world(alice, bob, carol):
    return make_world(alice, bob, carol)


@pytest.fixture
def mallory(app):
    return accounts.sign_up("mallory@example.com", "mallory", "password123", "Mallory")


def forged(world, sender="bob"):
    return json.dumps({**FORGED, "conversation_id": world["ab"], "sender_id": world[sender]})


# --- S1: the outbox is the server's -------------------------------------------------------------------

def test_s1_nobody_but_the_server_writes_the_outbox(pg, world, mallory):
    insert = ("insert into public.outbox (conversation_id, event_type, payload, created_at) "
              "values (%s, 'message.created', %s, now())")
    before = pg.count_as_server("select count(*) from outbox")
    for user in (mallory["id"], world["bob"], world["alice"]):  # an outsider, and the DM's own members
        assert pg.refused(user, insert, (world["ab"], forged(world)))
        assert pg.refused(user, "insert into outbox (event_type, payload, created_at) "
                                "values ('member.removed', %s, now())", (json.dumps({"user_id": world["alice"]}),))
    with pg.as_role("anon") as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute(insert, (world["ab"], forged(world)))
    assert pg.count_as_server("select count(*) from outbox") == before


def test_s1_no_privilege_and_no_policy_on_the_outbox(pg):
    with pg.as_server() as cur:
        for role in ("anon", "authenticated"):
            for privilege in ("select", "insert", "update", "delete", "references", "trigger"):
                cur.execute("select has_table_privilege(%s, 'public.outbox', %s)", (role, privilege))
                assert cur.fetchone()[0] is False, (role, privilege)
            for column in ("id", "conversation_id", "event_type", "payload", "created_at", "published_at"):
                cur.execute("select has_column_privilege(%s, 'public.outbox', %s, 'select,insert,update')",
                            (role, column))
                assert cur.fetchone()[0] is False, (role, column)
            cur.execute("select has_sequence_privilege(%s, 'public.outbox_id_seq', 'usage,select,update')", (role,))
            assert cur.fetchone()[0] is False, role
        cur.execute("select count(*) from pg_policies where schemaname = 'public' and tablename = 'outbox'")
        assert cur.fetchone()[0] == 0
        cur.execute("select count(*) from pg_proc where proname = 'outbox_row_is_new'")
        assert cur.fetchone()[0] == 0


def test_s1_the_apps_events_are_written_by_the_server_at_commit(app, world):
    a = world["alice"]
    with transaction() as conn:
        before = conn.execute(sa.text("select count(*) from outbox")).scalar()
    with transaction(a) as conn:
        events.record(conn, "read", world["ab"], {"conversation_id": world["ab"], "user_id": a, "seq": 1})
        # The rest of the user's transaction still runs as the user, under RLS.
        assert conn.execute(sa.text("select current_user")).scalar() == "authenticated"
        assert conn.execute(sa.text("select count(*) from conversations")).scalar() == 1
    with pytest.raises(RuntimeError), transaction(a) as conn:
        events.record(conn, "read", world["ab"], {"conversation_id": world["ab"], "user_id": a, "seq": 1})
        raise RuntimeError("rolled back: no event")
    with transaction() as conn:
        assert conn.execute(sa.text("select count(*) from outbox")).scalar() == before + 1
    # The next transaction on the pooled connection is the user's again, not the server's.
    with transaction(a) as conn:
        assert conn.execute(sa.text("select current_user")).scalar() == "authenticated"


# --- S13: attachments ------------------------------------------------------------------------------------

def test_s13_a_member_cannot_detach_someone_elses_attachment(pg, world):
    detach = "update attachments set message_id = null where id = %s"
    assert pg.rowcount(world["bob"], detach, (world["ab_photo"],)) == 0  # alice's, in their DM
    assert pg.count_as_server("select count(*) from attachments where id = %s and message_id is not null",
                              (world["ab_photo"],)) == 1
    assert pg.rowcount(world["alice"], detach, (world["ab_photo"],)) == 1  # the uploader may


def test_s13_group_moderators_only_detach_and_plain_members_nothing(pg, world, dave):
    b, c, g = world["bob"], world["carol"], world["group"]  # bob owns the group, carol is a member
    from chat.actions import members
    members.add_member(b, g, dave["id"])
    photo = upload({"id": c})["id"]
    messages.send_message(c, g, "look", kind="image", attachment_ids=[photo])
    own, _ = messages.send_message(b, g, "mine")
    assert pg.rowcount(dave["id"], "update attachments set message_id = null where id = %s", (photo,)) == 0
    assert pg.refused(b, "update attachments set message_id = %s where id = %s", (own["id"], photo))
    assert pg.rowcount(b, "update attachments set message_id = null where id = %s", (photo,)) == 1
    # In a direct conversation nobody moderates: only the uploader (bob) detaches.
    assert pg.rowcount(c, "update attachments set message_id = null where id = %s", (world["bc_photo"],)) == 0
    assert pg.rowcount(b, "update attachments set message_id = null where id = %s", (world["bc_photo"],)) == 1


# --- S13: conversations -----------------------------------------------------------------------------------

def test_s13_last_seq_moves_only_with_a_message(pg, world):
    b, ab = world["bob"], world["ab"]
    before = pg.count_as_server("select last_seq from conversations where id = %s", (ab,))
    error = pg.commit(b, ("update conversations set last_seq = last_seq + 1 where id = %s", (ab,)))
    assert isinstance(error, errors.CheckViolation)
    assert pg.count_as_server("select last_seq from conversations where id = %s", (ab,)) == before
    # A send: the seq and the message at it, together.
    send = ("insert into messages (id, conversation_id, seq, sender_id, kind, body, metadata, created_at) "
            "select gen_random_uuid(), c.id, c.last_seq, %s, 'text', 'sent', '{}', now() "
            "from conversations c where c.id = %s")
    assert pg.commit(b, ("update conversations set last_seq = last_seq + 1 where id = %s", (ab,)),
                     (send, (b, ab))) is None
    assert pg.count_as_server("select last_seq from conversations where id = %s", (ab,)) == before + 1


def test_s13_updated_at_cannot_be_pushed_into_the_future(pg, world):
    b, ab, g = world["bob"], world["ab"], world["group"]
    assert pg.commit(b, ("update conversations set updated_at = '2099-01-01' where id = %s", (ab,))) is None
    assert pg.count_as_server("select count(*) from conversations where id = %s and updated_at <= now()",
                              (ab,)) == 1
    assert pg.commit(b, ("update conversations set updated_at = '2099-01-01' where id = %s", (g,))) is None
    assert pg.count_as_server("select count(*) from conversations where updated_at > now()") == 0
    insert = ("insert into conversations (id, kind, name, created_by, created_at, updated_at) "
              "values (gen_random_uuid(), 'group', 'pinned', %s, now(), '2099-01-01')")
    assert pg.commit(b, (insert, (b,))) is None
    assert pg.count_as_server("select count(*) from conversations where updated_at > now()") == 0
    # A past time, as the app's own clock gives, is kept as it is.
    assert pg.commit(b, ("update conversations set updated_at = '2026-01-01' where id = %s", (ab,))) is None
    assert pg.count_as_server("select count(*) from conversations where id = %s and updated_at = '2026-01-01'",
                              (ab,)) == 1


# --- S13: messages and their history ------------------------------------------------------------------------

def test_s13_a_body_changes_only_as_an_edit_with_history(pg, world):
    b, msg = world["bob"], world["ab_bob"]
    assert pg.refused(b, "update messages set body = 'silently changed' where id = %s", (msg,),
                      error=errors.CheckViolation)
    assert pg.refused(b, "update messages set body = 'changed', edited_at = now() where id = %s", (msg,),
                      error=errors.CheckViolation)  # no earlier version kept
    assert pg.refused(b, "update messages set edited_at = now() where id = %s", (msg,), error=errors.CheckViolation)
    assert pg.refused(b, "update messages set metadata = '{\"x\": 1}' where id = %s", (msg,),
                      error=errors.CheckViolation)
    # As the app edits: the earlier version with the edit's time, then the body with that same time.
    keep = ("insert into message_edits (message_id, body, edited_at) "
            "select id, body, '2026-11-28T12:00:00Z' from messages where id = %s")
    edit = "update messages set body = 'edited properly', edited_at = '2026-11-28T12:00:00Z' where id = %s"
    assert pg.commit(b, (keep, (msg,)), (edit, (msg,))) is None
    assert pg.count_as_server("select count(*) from messages where id = %s and body = 'edited properly'", (msg,)) == 1
    assert [e["body"] for e in messages.edit_history(b, msg)] == ["hi alice", "hi alice!"]


def test_s13_message_edits_hold_only_real_earlier_versions(pg, world):
    b, msg = world["bob"], world["ab_bob"]
    assert pg.refused(b, "insert into message_edits (message_id, body, edited_at) "
                         "values (%s, 'a version that never existed', '2020-01-01')", (msg,))
    deleted = messages.send_message(b, world["ab"], "soon gone")[0]["id"]
    messages.delete_message(b, deleted)
    assert pg.refused(b, "insert into message_edits (message_id, body, edited_at) values (%s, '', now())",
                      (deleted,))
    assert pg.count_as_server("select count(*) from message_edits where body = 'a version that never existed'") == 0


def test_s13_history_is_dropped_only_with_the_message(pg, world):
    b, msg = world["bob"], world["ab_bob"]
    error = pg.commit(b, ("delete from message_edits where message_id = %s", (msg,)))
    assert isinstance(error, errors.CheckViolation)
    assert pg.count_as_server("select count(*) from message_edits where message_id = %s", (msg,)) == 1
    assert pg.commit(b, ("delete from message_edits where message_id = %s", (msg,)),
                     ("update messages set body = '', metadata = '{}', deleted_at = now() where id = %s",
                      (msg,))) is None
    assert pg.count_as_server("select count(*) from message_edits where message_id = %s", (msg,)) == 0


# --- S13: direct conversations ------------------------------------------------------------------------------

def test_s13_a_direct_conversation_has_only_its_two_people_as_members(pg, world, mallory):
    b, c, m = world["bob"], world["carol"], mallory["id"]
    key = ":".join(sorted([b, m]))  # bob opens a DM with mallory, who brings carol along as an owner
    create = ("insert into conversations (id, kind, direct_key, created_by, created_at, updated_at) "
              "values ('10000000-0000-4000-8000-000000000001', 'direct', %s, %s, now(), now())")
    statements = [(create, (key, b))]
    member = ("insert into memberships (conversation_id, user_id, role, joined_at) "
              "values ('10000000-0000-4000-8000-000000000001', %s, %s, now())")
    for who, role in ((b, "owner"), (c, "member")):
        error = pg.commit(b, *statements, (member, (b, "member")), (member, (who, role)))
        assert isinstance(error, errors.InsufficientPrivilege), (who, role)
    assert pg.commit(b, *statements, (member, (b, "member")), (member, (m, "member"))) is None
    assert pg.refused(m, member, (c, "member"))  # a member brings nobody in
    # Not even the server makes a third member or an owner.
    with pg.as_server() as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute(member, (c, "member"))
    with pg.as_server() as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute("update memberships set role = 'owner' where conversation_id = %s", (world["ab"],))


def test_s1_the_server_write_costs_one_statement_per_transaction(app, world, monkeypatch):
    """However many events a transaction records, the server's part is one role switch and one insert."""
    a, engine, relay = world["alice"], app.extensions["chat.db"].engine, app.extensions["chat.relay"]
    monkeypatch.setattr(relay, "sync", False)  # the relay's own queries after the commit are not counted
    monkeypatch.setattr(relay, "start", lambda: None)
    statements = []

    def seen(_conn, _cursor, statement, *_):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        with transaction(a) as conn:
            for seq in (1, 2, 3):
                events.record(conn, "read", world["ab"], {"conversation_id": world["ab"], "user_id": a, "seq": seq})
            assert statements[-1].startswith("select set_config('request.jwt.claims'")  # nothing written yet
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) == 3  # the claims, the role switch, one insert of three rows
    assert "set_config('role', 'none', true)" in statements[1] and "INSERT INTO outbox" in statements[2]


GUARDS = ["conversations_clamp_updated_at", "conversations_seq_has_message", "messages_history_guard",
          "message_edits_insert_guard", "message_edits_delete_with_message", "memberships_direct_guard"]


def test_the_guards_are_pinned_and_for_no_client_to_call(pg):
    with pg.as_server() as cur:
        cur.execute("select p.proname, p.proconfig, has_function_privilege('anon', p.oid, 'execute'), "
                    "has_function_privilege('authenticated', p.oid, 'execute'), "
                    "exists (select 1 from pg_trigger t where t.tgfoid = p.oid) "
                    "from pg_proc p where p.pronamespace = 'public'::regnamespace and p.proname = any(%s)", (GUARDS,))
        found = {r[0]: r[1:] for r in cur.fetchall()}
    assert set(found) == set(GUARDS)
    for name, (config, anon, authenticated, used) in found.items():
        assert config == ['search_path=""'] and not anon and not authenticated and used, name
