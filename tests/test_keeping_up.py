"""Keeping up (shared/API.md, second round): mentions, notify levels, archive, the unread mark moving back,
``first_unread_seq`` and system messages, on SQLite and Postgres, with their RLS in SQL."""
import pytest
import sqlalchemy as sa
from psycopg import errors

from chat import notify
from chat.actions import accounts, conversations, members, messages, settings
from chat.db import transaction
from chat.schema import message_mentions

from .test_rls import pg  # noqa: F401  (fixture)


def mention_rows(app, message_id):
    with transaction() as conn:
        return sorted(str(u) for u in conn.execute(sa.select(message_mentions.c.user_id)
                                                   .where(message_mentions.c.message_id == message_id)).scalars())


def convo(api, cid):
    return api.get(f"/conversations/{cid}").json


# --- mentions ----------------------------------------------------------------------------------------------

def test_mentions_of_members_are_stored_and_rendered_as_links(app, api_as, alice, bob, carol, dave, book_club):
    sent = api_as(alice).post(f"/conversations/{book_club['id']}/messages",
                              json={"body": "hi @bob and @Carol, not @dave nor @alice nor `@bob` nor x@bob"}).json
    assert sorted(sent["mentions"]) == sorted([bob["id"], carol["id"]])
    assert mention_rows(app, sent["id"]) == sorted([bob["id"], carol["id"]])
    html = sent["body_html"]
    assert f'<a class="mention" href="/u/bob" data-mention="{bob["id"]}">@bob</a>' in html
    assert f'data-mention="{carol["id"]}">@carol</a>' in html
    assert "<code>@bob</code>" in html and "not @dave nor @alice" in html
    listed = api_as(bob).get(f"/conversations/{book_club['id']}/messages").json["messages"][-1]
    assert listed["mentions"] == sent["mentions"] and listed["body_html"] == html


def test_code_blocks_and_links_mention_nobody(api_as, alice, bob, book_club):
    body = "```\n@bob\n```\n[@bob](https://example.com) www.example.com/@bob"
    sent = api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": body}).json
    assert sent["mentions"] == []


def test_everyone_in_a_group_but_not_in_a_direct_conversation(api_as, alice, bob, carol, book_club, direct):
    sent = api_as(bob).post(f"/conversations/{book_club['id']}/messages", json={"body": "@everyone look"}).json
    assert sorted(sent["mentions"]) == sorted([alice["id"], carol["id"]])
    assert 'data-mention="everyone">@everyone</span>' in sent["body_html"]
    sent = api_as(alice).post(f"/conversations/{direct['id']}/messages", json={"body": "@everyone look"}).json
    assert sent["mentions"] == [] and "mention" not in sent["body_html"]


def test_everyone_in_a_large_group_is_for_owners_and_admins(app, api_as, alice, bob):
    crowd = [accounts.sign_up(f"p{i}@example.com", f"person{i}", "password123", f"P {i}")
             for i in range(notify.LARGE_GROUP)]
    group = conversations.create_group(alice["id"], "big", [bob["id"]] + [p["id"] for p in crowd])
    said = api_as(bob).post(f"/conversations/{group['id']}/messages", json={"body": "@everyone hi @person1"}).json
    assert said["mentions"] == [crowd[1]["id"]]  # a member's @everyone is text here
    assert "@everyone" in said["body_html"] and 'data-mention="everyone"' not in said["body_html"]
    said = api_as(alice).post(f"/conversations/{group['id']}/messages", json={"body": "@everyone hi"}).json
    assert len(said["mentions"]) == notify.LARGE_GROUP + 1
    assert convo(api_as(bob), group["id"])["notify"] == "mentions"  # the default over 20 members


def test_edit_recomputes_and_delete_removes_mentions(app, api_as, alice, bob, carol, book_club, record):
    a = api_as(alice)
    sent = a.post(f"/conversations/{book_club['id']}/messages", json={"body": "@bob hi"}).json
    assert convo(api_as(bob), book_club["id"])["mention_count"] == 1
    rec = record(bob)
    edited = a.patch(f"/messages/{sent['id']}", json={"body": "@carol hi"}).json
    assert edited["mentions"] == [carol["id"]] and mention_rows(app, sent["id"]) == [carol["id"]]
    assert [e.data["mentions"] for e in rec.take(bob) if e.type == "message.updated"] == [[carol["id"]]]
    assert convo(api_as(bob), book_club["id"])["mention_count"] == 0
    assert convo(api_as(carol), book_club["id"])["mention_count"] == 1
    assert a.delete(f"/messages/{sent['id']}").status_code == 204
    assert mention_rows(app, sent["id"]) == []
    assert convo(api_as(carol), book_club["id"])["mention_count"] == 0


def test_an_admin_deleting_someone_elses_message_drops_its_mentions(app, api_as, alice, bob, carol, book_club):
    sent = api_as(bob).post(f"/conversations/{book_club['id']}/messages", json={"body": "@carol hi"}).json
    assert api_as(alice).delete(f"/messages/{sent['id']}").status_code == 204
    assert mention_rows(app, sent["id"]) == []


def test_mention_count_is_exact_across_reads(api_as, alice, bob, book_club, record):
    a, b = api_as(alice), api_as(bob)
    seqs = [a.post(f"/conversations/{book_club['id']}/messages", json={"body": body}).json["seq"]
            for body in ("@bob one", "plain", "@bob two", "@bob three")]
    seen = convo(b, book_club["id"])
    assert (seen["unread_count"], seen["mention_count"], seen["first_unread_seq"]) == (4, 3, seqs[0])
    assert b.post(f"/conversations/{book_club['id']}/read", json={"seq": seqs[1]}).status_code == 204
    seen = convo(b, book_club["id"])
    assert (seen["unread_count"], seen["mention_count"], seen["first_unread_seq"]) == (2, 2, seqs[2])
    listed = {c["id"]: c for c in b.get("/conversations").json["conversations"]}[book_club["id"]]
    assert (listed["mention_count"], listed["first_unread_seq"]) == (2, seqs[2])
    rec = record(bob)
    a.post(f"/conversations/{book_club['id']}/messages", json={"body": "@bob four"})
    updated = [e.data for e in rec.take(bob) if e.type == "conversation.updated"][-1]
    assert (updated["unread_count"], updated["mention_count"], updated["first_unread_seq"]) == (3, 3, seqs[2])
    assert b.post(f"/conversations/{book_club['id']}/read", json={"seq": 99}).status_code == 204
    seen = convo(b, book_club["id"])
    assert (seen["unread_count"], seen["mention_count"], seen["first_unread_seq"]) == (0, 0, None)


# --- notify levels and archive -----------------------------------------------------------------------------

def test_settings_change_reaches_only_that_member_once(api_as, alice, bob, book_club, record):
    rec = record(alice, bob)
    r = api_as(bob).patch(f"/conversations/{book_club['id']}/settings", json={"notify": "none"})
    assert r.status_code == 200 and r.json["notify"] == "none" and r.json["archived"] is False
    got = rec.take(bob)
    assert [e.type for e in got] == ["conversation.updated"] and got[0].data["notify"] == "none"
    rec.assert_nothing_for(alice)
    assert convo(api_as(alice), book_club["id"])["notify"] == "all"
    r = api_as(bob).patch(f"/conversations/{book_club['id']}/settings", json={"notify": None})
    assert r.json["notify"] == "all"  # back to the default


@pytest.mark.parametrize("body,field", [({"notify": "loud"}, "notify"), ({"notify": 3}, "notify"),
                                        ({"archived": "yes"}, "archived")])
def test_bad_settings_are_422_naming_the_field(api_as, bob, book_club, body, field):
    r = api_as(bob).patch(f"/conversations/{book_club['id']}/settings", json=body)
    assert r.status_code == 422 and r.json["error"]["field"] == field


def test_settings_and_unread_of_a_stranger_are_404(api_as, dave, book_club):
    assert api_as(dave).patch(f"/conversations/{book_club['id']}/settings", json={"notify": "none"}).status_code == 404
    assert api_as(dave).post(f"/conversations/{book_club['id']}/unread", json={"seq": 1}).status_code == 404


def test_archived_leaves_the_list_and_returns_when_a_message_would_notify(api_as, alice, bob, carol, book_club):
    a, b = api_as(alice), api_as(bob)
    a.post(f"/conversations/{book_club['id']}/messages", json={"body": "before"})
    assert b.patch(f"/conversations/{book_club['id']}/settings", json={"archived": True}).json["archived"] is True
    ids = lambda query="": [c["id"] for c in b.get("/conversations" + query).json["conversations"]]  # noqa: E731
    assert book_club["id"] not in ids() and ids("?archived=1") == [book_club["id"]]
    b.post(f"/conversations/{book_club['id']}/messages", json={"body": "my own"})
    assert book_club["id"] not in ids()  # one's own message notifies nobody
    b.patch(f"/conversations/{book_club['id']}/settings", json={"notify": "mentions"})
    a.post(f"/conversations/{book_club['id']}/messages", json={"body": "chatter"})
    members.remove_member(alice["id"], book_club["id"], carol["id"])  # a system message notifies nobody
    assert book_club["id"] not in ids()
    a.post(f"/conversations/{book_club['id']}/messages", json={"body": "@bob you there?"})
    assert book_club["id"] in ids() and ids("?archived=1") == []
    assert convo(b, book_club["id"])["archived"] is False


def test_muted_archive_never_returns_and_unarchive_does(api_as, alice, bob, book_club):
    a, b = api_as(alice), api_as(bob)
    b.patch(f"/conversations/{book_club['id']}/settings", json={"notify": "none", "archived": True})
    a.post(f"/conversations/{book_club['id']}/messages", json={"body": "@bob hello?"})
    seen = convo(b, book_club["id"])
    assert seen["archived"] is True and seen["unread_count"] == 1 and seen["mention_count"] == 1
    assert b.patch(f"/conversations/{book_club['id']}/settings", json={"archived": False}).json["archived"] is False


def test_a_direct_conversation_returns_at_level_all(api_as, alice, bob, direct, record):
    b = api_as(bob)
    b.patch(f"/conversations/{direct['id']}/settings", json={"archived": True})
    rec = record(bob)
    api_as(alice).post(f"/conversations/{direct['id']}/messages", json={"body": "ping"})
    assert [e.data["archived"] for e in rec.take(bob) if e.type == "conversation.updated"] == [False]


def test_notify_rule():
    message = {"kind": "text", "sender_id": "a", "mentions": ["b"]}
    assert notify.notifies("all", message, "c") and notify.notifies("mentions", message, "b")
    assert not notify.notifies("mentions", message, "c") and not notify.notifies("none", message, "b")
    assert not notify.notifies("all", message, "a") and not notify.notifies("all", {**message, "kind": "system"}, "c")


# --- mark as unread ----------------------------------------------------------------------------------------

def test_mark_unread_moves_the_mark_back_for_that_member_only(api_as, alice, bob, book_club, record):
    a, b = api_as(alice), api_as(bob)
    seqs = [a.post(f"/conversations/{book_club['id']}/messages", json={"body": f"m{i}"}).json["seq"] for i in range(3)]
    b.post(f"/conversations/{book_club['id']}/read", json={"seq": seqs[-1]})
    rec = record(alice, bob)
    assert b.post(f"/conversations/{book_club['id']}/unread", json={"seq": seqs[1]}).status_code == 204
    got = [e for e in rec.take(bob) if e.type == "conversation.updated"]
    assert [(e.data["unread_count"], e.data["first_unread_seq"]) for e in got] == [(2, seqs[1])]
    rec.assert_nothing_for(alice)
    seen = convo(b, book_club["id"])
    assert (seen["last_read_seq"], seen["unread_count"]) == (seqs[0], 2)
    # Never forward: a later seq than the mark changes nothing.
    assert b.post(f"/conversations/{book_club['id']}/unread", json={"seq": seqs[2]}).status_code == 204
    assert convo(b, book_club["id"])["last_read_seq"] == seqs[0]


@pytest.mark.parametrize("seq", [0, -1, 999, "x", None])
def test_unread_seq_out_of_range_is_422_naming_seq(api_as, alice, bob, book_club, seq):
    api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": "one"})
    r = api_as(bob).post(f"/conversations/{book_club['id']}/unread", json={"seq": seq})
    assert r.status_code == 422 and r.json["error"]["field"] == "seq"


# --- system messages ---------------------------------------------------------------------------------------

def test_system_messages_for_added_removed_left_renamed(api_as, alice, bob, carol, dave, book_club, record):
    rec = record(bob)
    members.add_member(alice["id"], book_club["id"], dave["id"])
    members.remove_member(alice["id"], book_club["id"], dave["id"])
    members.remove_member(carol["id"], book_club["id"], carol["id"])
    conversations.rename_group(alice["id"], book_club["id"], "readers")
    listed = api_as(bob).get(f"/conversations/{book_club['id']}/messages").json["messages"]
    assert [(m["kind"], m["body"], m["metadata"]) for m in listed] == [
        ("system", "Alice added Dave.", {"event": "member.added", "by": alice["id"], "user_id": dave["id"]}),
        ("system", "Alice removed Dave.", {"event": "member.removed", "by": alice["id"], "user_id": dave["id"]}),
        ("system", "Carol left.", {"event": "member.left", "by": carol["id"]}),
        ("system", "Alice renamed the group to “readers”.",
         {"event": "conversation.renamed", "by": alice["id"], "name": "readers"}),
    ]
    created = [e.data["id"] for e in rec.take(bob) if e.type == "message.created"]
    assert created == [m["id"] for m in listed]
    assert convo(api_as(alice), book_club["id"])["unread_count"] == 0  # her rename read up to it
    assert convo(api_as(bob), book_club["id"])["unread_count"] == 4


def test_clients_cannot_send_system_messages(api_as, alice, book_club):
    r = api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": "x", "kind": "system"})
    assert r.status_code == 422 and r.json["error"]["field"] == "kind"


# --- RLS, in SQL ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_rls_another_member_cannot_change_my_settings(pg, alice, bob, book_club):  # noqa: F811
    for column, value in (("notify", "'none'"), ("archived_seq", "0")):
        with pg.as_user(alice["id"]) as cur, pytest.raises(errors.InsufficientPrivilege):
            cur.execute(f"update public.memberships set {column} = {value} "
                        "where conversation_id = %s and user_id = %s", (book_club["id"], bob["id"]))
    with pg.as_user(bob["id"]) as cur:
        cur.execute("update public.memberships set notify = 'none', archived_seq = 0 "
                    "where conversation_id = %s and user_id = %s", (book_club["id"], bob["id"]))
        assert cur.rowcount == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_rls_mentions_are_for_members_and_written_by_the_sender(pg, alice, bob, carol, dave, book_club):  # noqa: F811
    sent = messages.send_message(alice["id"], book_club["id"], "@bob hi")[0]
    with pg.as_user(dave["id"]) as cur:
        cur.execute("select count(*) from public.message_mentions")
        assert cur.fetchone()[0] == 0
    with pg.as_user(carol["id"]) as cur:
        cur.execute("select count(*) from public.message_mentions")
        assert cur.fetchone()[0] == 1
    with pg.as_user(bob["id"]) as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute("insert into public.message_mentions (message_id, user_id, conversation_id, seq) "
                    "values (%s, %s, %s, %s)", (sent["id"], carol["id"], book_club["id"], sent["seq"]))
    with pg.as_user(bob["id"]) as cur:
        cur.execute("delete from public.message_mentions where message_id = %s", (sent["id"],))
        assert cur.rowcount == 0  # not his message, and not deleted
    with pg.as_user(alice["id"]) as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute("insert into public.message_mentions (message_id, user_id, conversation_id, seq) "
                    "values (%s, %s, %s, %s)", (sent["id"], dave["id"], book_club["id"], sent["seq"]))


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_rls_members_cannot_write_system_messages(pg, alice, book_club):  # noqa: F811
    with pg.as_user(alice["id"]) as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute("update public.conversations set last_seq = last_seq + 1 where id = %s", (book_club["id"],))
        cur.execute("insert into public.messages (id, conversation_id, seq, sender_id, kind, body, metadata, "
                    "created_at) select gen_random_uuid(), id, last_seq, %s, 'system', 'x', '{}', now() "
                    "from public.conversations where id = %s", (alice["id"], book_club["id"]))


def test_settings_do_not_touch_other_members_rows(api_as, alice, bob, book_club):
    settings.update_settings(bob["id"], book_club["id"], notify="mentions", archived=True)
    seen = convo(api_as(alice), book_club["id"])
    assert (seen["notify"], seen["archived"]) == ("all", False)
