"""Row Level Security of the integrations tables, proved in SQL (Postgres only), each rule with its refusal.

webhooks: managers (group owner/admin, either member of a direct conversation) see, add and delete them;
nobody but the server reads a secret. webhook_deliveries: those managers read them; only the server writes.
incoming_webhooks: their maker alone sees and deletes them; nobody but the server reads the secret's hash.
users.bot_owner_id: set by the server only.
"""
import uuid

import pytest
from psycopg import errors

from chat.actions import bots, incoming_webhooks, members, messages, webhooks
from chat.delivery.webhooks import deliver_due

from .test_rls import Raw

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("backend", ["postgres"], indirect=True),
]



@pytest.fixture(name="pg")
def pg_fixture(app):
    """Raw transactions on the app's database as a user (tests/test_rls.py's ``pg``)."""
    return Raw(app.config["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://"))


@pytest.fixture
def hooked(app, alice, bob, carol, book_club):
    """alice's webhook on book-club (with one delivery queued), bob's incoming webhook there."""
    hook = webhooks.register(alice["id"], book_club["id"], "https://example.com/hook")
    messages.send_message(alice["id"], book_club["id"], "queued")
    incoming = incoming_webhooks.create(bob["id"], book_club["id"], lambda s: f"https://chat.example/hooks/{s}")
    return {"webhook": hook, "incoming": incoming, "cid": book_club["id"]}


def test_the_helper_is_pinned_and_not_for_anon(pg):
    with pg.as_server() as cur:
        cur.execute("select p.prosecdef, p.proconfig, has_function_privilege('anon', p.oid, 'execute') "
                    "from pg_proc p where p.proname = 'manages_webhooks'")
        assert cur.fetchall() == [(True, ['search_path=""'], False)]


def test_managers_see_webhooks_but_never_their_secrets(pg, alice, bob, dave, hooked):
    wid = hooked["webhook"]["id"]
    assert pg.rows(alice["id"], "select id::text, url from webhooks") == [(wid, "https://example.com/hook")]
    assert pg.refused(alice["id"], "select secret from webhooks")
    assert pg.refused(alice["id"], "select * from webhooks")
    assert pg.refused(alice["id"], "select leased_until from webhooks")
    assert pg.rows(bob["id"], "select id from webhooks") == []  # a plain member of the group
    assert pg.rows(dave["id"], "select id from webhooks") == []  # an outsider


def test_an_admin_and_either_member_of_a_direct_conversation_see_them(pg, alice, bob, carol, direct, hooked):
    members.remove_member(alice["id"], hooked["cid"], carol["id"])
    members.add_member(alice["id"], hooked["cid"], carol["id"], role="admin")
    assert len(pg.rows(carol["id"], "select id from webhooks")) == 1
    mine = webhooks.register(bob["id"], direct["id"], "https://example.com/direct")
    assert pg.rows(alice["id"], "select id::text from webhooks where conversation_id = %s",
                   (direct["id"],)) == [(mine["id"],)]


def _insert_webhook(pg, actor, cid, created_by):
    return pg.refused(actor, "insert into webhooks (id, conversation_id, created_by, url, secret, created_at) "
                             "values (%s, %s, %s, 'https://example.com/x', 's', now())",
                      (str(uuid.uuid4()), cid, created_by))


def test_only_managers_add_webhooks_and_only_as_themselves(pg, alice, bob, dave, hooked):
    cid = hooked["cid"]
    assert not _insert_webhook(pg, alice["id"], cid, alice["id"])
    assert _insert_webhook(pg, alice["id"], cid, bob["id"])  # in someone else's name
    assert _insert_webhook(pg, bob["id"], cid, bob["id"])    # a plain member
    assert _insert_webhook(pg, dave["id"], cid, dave["id"])  # an outsider


def test_nobody_changes_a_webhook_and_only_managers_delete_one(pg, alice, bob, dave, hooked):
    wid = hooked["webhook"]["id"]
    assert pg.refused(alice["id"], "update webhooks set url = 'https://evil.example/' where id = %s", (wid,))
    assert pg.refused(alice["id"], "update webhooks set failing_since = null where id = %s", (wid,))
    assert pg.rowcount(bob["id"], "delete from webhooks where id = %s", (wid,)) == 0
    assert pg.rowcount(dave["id"], "delete from webhooks where id = %s", (wid,)) == 0
    assert pg.rowcount(alice["id"], "delete from webhooks where id = %s", (wid,)) == 1


def test_deliveries_are_read_by_managers_and_written_by_the_server_alone(app, pg, alice, bob, dave, hooked):
    assert len(pg.rows(alice["id"], "select id, event_type, attempts from webhook_deliveries")) == 1
    assert pg.rows(bob["id"], "select id from webhook_deliveries") == []
    assert pg.rows(dave["id"], "select id from webhook_deliveries") == []
    wid = hooked["webhook"]["id"]
    assert pg.refused(alice["id"], "insert into webhook_deliveries (id, webhook_id, outbox_id, event_type, payload, "
                                   "created_at, next_attempt_at) values (%s, %s, 999, 'message.created', '{}', "
                                   "now(), now())", (str(uuid.uuid4()), wid))
    assert pg.refused(alice["id"], "update webhook_deliveries set delivered_at = now()")
    assert pg.refused(alice["id"], "delete from webhook_deliveries")


def test_the_server_sends_them_whatever_rls_allows_people(app, hooked):
    """The sender works as the server: a delivery goes out (here: refused, no such receiver) and is recorded."""
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 2.0
    assert deliver_due(app) == 1


def test_incoming_webhooks_are_their_makers_alone_and_the_hash_is_the_servers(pg, alice, bob, carol, dave,
                                                                                hooked):
    hid = hooked["incoming"]["id"]
    assert pg.rows(bob["id"], "select id::text from incoming_webhooks") == [(hid,)]
    assert pg.refused(bob["id"], "select secret_hash from incoming_webhooks")
    assert pg.rows(alice["id"], "select id from incoming_webhooks") == []  # the group's owner, not its maker
    assert pg.rows(carol["id"], "select id from incoming_webhooks") == []
    assert pg.rows(dave["id"], "select id from incoming_webhooks") == []
    assert pg.rowcount(alice["id"], "delete from incoming_webhooks where id = %s", (hid,)) == 0
    assert pg.refused(bob["id"], "update incoming_webhooks set conversation_id = conversation_id")
    assert pg.rowcount(bob["id"], "delete from incoming_webhooks where id = %s", (hid,)) == 1


def _insert_incoming(pg, actor, cid, created_by):
    return pg.refused(actor, "insert into incoming_webhooks (id, conversation_id, created_by, secret_hash, "
                             "created_at) values (%s, %s, %s, %s, now())",
                      (str(uuid.uuid4()), cid, created_by, uuid.uuid4().hex))


def test_members_make_incoming_webhooks_for_their_own_conversations_as_themselves(pg, bob, carol, dave, hooked):
    cid = hooked["cid"]
    assert not _insert_incoming(pg, carol["id"], cid, carol["id"])
    assert _insert_incoming(pg, carol["id"], cid, bob["id"])
    assert _insert_incoming(pg, dave["id"], cid, dave["id"])


def test_only_the_server_makes_a_bot(app, pg, alice, bob):
    bot, _ = bots.create_bot(alice["id"], "rls_bot")
    assert pg.scalar(alice["id"], "select bot_owner_id::text from users where id = %s", (bot["id"],)) == alice["id"]
    assert pg.refused(bob["id"], "update users set bot_owner_id = %s where id = %s", (bob["id"], bob["id"]))
    assert pg.refused(bob["id"], "update users set bot_owner_id = null where id = %s", (bot["id"],))
    assert pg.refused(bob["id"], "insert into users (id, username, display_name, created_at, bot_owner_id) "
                                 "values (%s, 'sneaky_bot', 'x', now(), %s)", (str(uuid.uuid4()), bob["id"]))


def test_anon_reaches_none_of_it(pg, hooked):
    for table in ("webhooks", "webhook_deliveries", "incoming_webhooks"):
        with pg.as_role("anon") as cur, pytest.raises(errors.InsufficientPrivilege):
            cur.execute(f"select 1 from {table}")
