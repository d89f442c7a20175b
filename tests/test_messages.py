"""Sending, editing, deleting, history paging and read marks."""
import threading
import uuid

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat.actions import messages
from chat.db import transaction
from chat.schema import conversations as conversations_table
from chat.schema import messages as messages_table
from chat.schema import outbox, utcnow

from .sql_support import statements_run


def send(api, cid, body, **extra):
    return api.post(f"/conversations/{cid}/messages", json={"body": body, **extra})


def count_rows(table):
    with transaction() as conn:
        return conn.exec_driver_sql(f"select count(*) from {table}").scalar()


@pytest.mark.parametrize("body,status", [
    ("", 422), ("   \n\t ", 422), (None, 422), (42, 422), ("x" * 4000, 201), ("x" * 4001, 422),
    ("  " + "y" * 4000 + "  ", 201),  # trimmed first
])
def test_body_length_rules(api_as, alice, direct, body, status):
    r = send(api_as(alice), direct["id"], body)
    assert r.status_code == status, r.json
    if status == 422:
        assert r.json["error"]["field"] == "body"
        assert count_rows("messages") == 0 and count_rows("outbox") == 0  # nothing half-written


@pytest.mark.parametrize("body", [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "héllo wörld — ✓ 🎉 你好 مرحبا",
    "a\u0301 combining", "line one\nline two", "&amp; &lt;b&gt; \"quotes\" 'single'",
])
def test_bodies_come_back_verbatim(api_as, alice, bob, direct, body):
    sent = send(api_as(alice), direct["id"], body).json
    assert sent["body"] == body
    page = api_as(bob).get(f"/conversations/{direct['id']}/messages").json
    assert page["messages"][-1]["body"] == body


def test_message_shape(api_as, alice, direct):
    m = send(api_as(alice), direct["id"], "hi", client_id="c-1", metadata={"reply_to": None}).json
    assert set(m) >= {"id", "conversation_id", "seq", "sender_id", "kind", "body", "metadata", "client_id",
                      "attachments", "created_at", "edited_at", "deleted_at"}
    assert m["kind"] == "text" and m["sender_id"] == alice["id"] and m["client_id"] == "c-1"
    assert m["created_at"].endswith("+00:00") and m["edited_at"] is None and m["deleted_at"] is None


@pytest.mark.parametrize("extra,field", [
    ({"kind": "system"}, "kind"), ({"kind": "video"}, "kind"), ({"metadata": []}, "metadata"),
    ({"metadata": {"x": "y" * 9000}}, "metadata"), ({"client_id": "x" * 101}, "client_id"),
    ({"attachment_ids": "abc"}, "attachment_ids"),
    ({"attachment_ids": ["00000000-0000-4000-8000-000000000000"]}, "attachment_ids"),
])
def test_other_fields_are_checked(api_as, alice, direct, extra, field):
    r = send(api_as(alice), direct["id"], "hi", **extra)
    assert r.status_code == 422 and r.json["error"]["field"] == field
    assert count_rows("messages") == 0


def test_client_id_makes_sends_idempotent(api_as, alice, bob, direct):
    a = api_as(alice)
    first = send(a, direct["id"], "once", client_id="tab1-42")
    again = send(a, direct["id"], "once", client_id="tab1-42")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"]
    other = send(api_as(bob), direct["id"], "mine", client_id="tab1-42")  # another sender's id space
    assert other.status_code == 201 and other.json["seq"] == 2
    assert count_rows("messages") == 2


def test_seq_is_gap_free_per_conversation(app, alice, bob, direct, book_club):
    for i in range(5):
        messages.send_message(alice["id"], direct["id"], f"d{i}")
        messages.send_message(bob["id"], book_club["id"], f"g{i}")
    with transaction() as conn:
        for cid in (direct["id"], book_club["id"]):
            seqs = [r[0] for r in conn.execute(
                sa.text("select seq from messages where conversation_id = :cid order by seq"), {"cid": cid})]
            assert seqs == [1, 2, 3, 4, 5]


def test_edit_own_message_keeps_history(api_as, alice, bob, direct):
    m = send(api_as(alice), direct["id"], "helo").json
    r = api_as(alice).patch(f"/messages/{m['id']}", json={"body": "hello"})
    assert r.status_code == 200 and r.json["body"] == "hello" and r.json["edited_at"]
    edits = api_as(bob).get(f"/messages/{m['id']}/edits").json["edits"]
    assert [e["body"] for e in edits] == ["helo"]


def test_edit_rules(api_as, alice, bob, dave, direct):
    m = send(api_as(alice), direct["id"], "mine").json
    r = api_as(bob).patch(f"/messages/{m['id']}", json={"body": "not yours"})
    assert r.status_code == 403
    assert api_as(dave).patch(f"/messages/{m['id']}", json={"body": "x"}).status_code == 404
    assert api_as(dave).get(f"/messages/{m['id']}/edits").status_code == 404
    r = api_as(alice).patch(f"/messages/{m['id']}", json={"body": "x" * 4001})
    assert r.status_code == 422 and r.json["error"]["field"] == "body"
    assert api_as(alice).delete(f"/messages/{m['id']}").status_code == 204
    r = api_as(alice).patch(f"/messages/{m['id']}", json={"body": "back"})
    assert r.status_code == 409 and r.json["error"]["code"] == "message_deleted"
    assert api_as(alice).patch("/messages/not-an-id", json={"body": "x"}).status_code == 404


def test_delete_leaves_a_tombstone(api_as, alice, bob, direct):
    m = send(api_as(alice), direct["id"], "oops", metadata={"a": 1}).json
    api_as(alice).patch(f"/messages/{m['id']}", json={"body": "oops!"})
    assert api_as(bob).delete(f"/messages/{m['id']}").status_code == 403  # direct: only the sender
    assert api_as(alice).delete(f"/messages/{m['id']}").status_code == 204
    assert api_as(alice).delete(f"/messages/{m['id']}").status_code == 204  # idempotent
    tomb = api_as(bob).get(f"/conversations/{direct['id']}/messages").json["messages"][0]
    assert tomb["id"] == m["id"] and tomb["seq"] == 1 and tomb["body"] == "" and tomb["deleted_at"]
    assert tomb["metadata"] == {} and tomb["sender_id"] == alice["id"]
    assert api_as(bob).get(f"/messages/{m['id']}/edits").json["edits"] == []  # history gone too


def test_group_admin_may_delete_others(api_as, alice, bob, carol, book_club):
    m = send(api_as(bob), book_club["id"], "spam").json
    assert api_as(carol).delete(f"/messages/{m['id']}").status_code == 403
    assert api_as(alice).delete(f"/messages/{m['id']}").status_code == 204


def test_history_pages(api_as, alice, direct):
    a = api_as(alice)
    for i in range(1, 8):
        send(a, direct["id"], f"m{i}")
    base = f"/conversations/{direct['id']}/messages"
    newest = a.get(base + "?limit=3").json
    assert [m["seq"] for m in newest["messages"]] == [5, 6, 7] and newest["has_more"]
    older = a.get(base + "?limit=3&before=5").json
    assert [m["seq"] for m in older["messages"]] == [2, 3, 4] and older["has_more"]
    oldest = a.get(base + "?limit=3&before=2").json
    assert [m["seq"] for m in oldest["messages"]] == [1] and not oldest["has_more"]
    after = a.get(base + "?limit=3&after=4").json
    assert [m["seq"] for m in after["messages"]] == [5, 6, 7] and not after["has_more"]
    assert a.get(base + "?limit=101").json["error"]["field"] == "limit"
    assert a.get(base + "?limit=0").status_code == 422
    assert a.get(base + "?before=abc").json["error"]["field"] == "before"
    assert a.get(base + "?before=3&after=1").status_code == 422


def test_walking_a_long_history_visits_every_message_once(app, api_as, alice, bob, direct):
    total = 2500
    now = utcnow()
    with transaction() as conn:  # bulk set-up; the send path is covered above
        conn.execute(messages_table.insert(), [
            {"id": str(uuid.uuid4()), "conversation_id": direct["id"], "seq": i, "sender_id": alice["id"],
             "kind": "text", "body": f"m{i}", "metadata": {}, "client_id": None, "created_at": now}
            for i in range(1, total + 1)])
        conn.execute(conversations_table.update().where(conversations_table.c.id == direct["id"])
                     .values(last_seq=total))
    b, seen, before = api_as(bob), [], None
    while True:
        page = b.get(f"/conversations/{direct['id']}/messages?limit=100" + (f"&before={before}" if before else "")).json
        seen = [m["seq"] for m in page["messages"]] + seen
        if not page["has_more"]:
            break
        before = page["messages"][0]["seq"]
    assert seen == list(range(1, total + 1))
    forward, after = [], 0
    while True:
        page = b.get(f"/conversations/{direct['id']}/messages?limit=100&after={after}").json
        forward += [m["seq"] for m in page["messages"]]
        if not page["has_more"]:
            break
        after = page["messages"][-1]["seq"]
    assert forward == list(range(1, total + 1))


def test_read_mark_never_moves_backwards(api_as, alice, bob, direct):
    for i in range(5):
        send(api_as(alice), direct["id"], f"m{i}")
    b = api_as(bob)
    assert b.get(f"/conversations/{direct['id']}").json["unread_count"] == 5
    assert b.post(f"/conversations/{direct['id']}/read", json={"seq": 3}).status_code == 204
    assert b.get(f"/conversations/{direct['id']}").json["unread_count"] == 2
    assert b.post(f"/conversations/{direct['id']}/read", json={"seq": 1}).status_code == 204
    c = b.get(f"/conversations/{direct['id']}").json
    assert c["last_read_seq"] == 3 and c["unread_count"] == 2
    b.post(f"/conversations/{direct['id']}/read", json={"seq": 999})  # capped at the last message
    assert b.get(f"/conversations/{direct['id']}").json["last_read_seq"] == 5
    r = b.post(f"/conversations/{direct['id']}/read", json={"seq": "three"})
    assert r.status_code == 422 and r.json["error"]["field"] == "seq"
    assert b.post(f"/conversations/{direct['id']}/read", json={}).status_code == 422


def test_sending_marks_your_own_read(api_as, alice, bob, direct):
    send(api_as(bob), direct["id"], "hi")
    send(api_as(alice), direct["id"], "hello back")
    assert api_as(alice).get(f"/conversations/{direct['id']}").json["unread_count"] == 0


def test_events_are_recorded_in_the_outbox_with_the_change(app, alice, bob, direct):
    m, _ = messages.send_message(alice["id"], direct["id"], "hi")
    messages.edit_message(alice["id"], m["id"], "hi!")
    messages.delete_message(alice["id"], m["id"])
    from chat.actions import reads
    messages.send_message(alice["id"], direct["id"], "again")
    reads.mark_read(bob["id"], direct["id"], 2)
    with transaction() as conn:
        kinds = [r[0] for r in conn.exec_driver_sql("select event_type from outbox order by id")]
    assert kinds == ["message.created", "message.updated", "message.deleted", "message.created", "read"]


@pytest.mark.parametrize("body,one_statement", [
    ("plain **words**", True), ("for @bob", False),  # a mention takes the transaction under RLS
])
def test_the_plain_send_and_the_full_send_give_the_same_message(app, api_as, alice, bob, direct, body,
                                                                one_statement):
    """On Postgres a message without attachments, reply or mentions is one statement after authentication
    (``public.append_message``); either way the answer, the stored message and the outbox row agree."""
    a = api_as(alice)
    send(a, direct["id"], "warm the pool")
    with statements_run(app.extensions["chat.db"].engine) as statements:
        sent = send(a, direct["id"], body, client_id="same-1", metadata={"k": [1, "two"]}).json
    if app.extensions["chat.db"].is_postgres:
        calls = [s for s in statements if "append_message" in s]
        assert len(calls) == (1 if one_statement else 0)
        if one_statement:  # the bearer token's check, then the send (the relay's statements follow here)
            assert [i for i, s in enumerate(statements) if "append_message" in s] == [1], statements
    again = send(a, direct["id"], body, client_id="same-1")
    assert again.status_code == 200 and again.json == sent
    page = api_as(bob).get(f"/conversations/{direct['id']}/messages").json["messages"]
    assert page[-1] == sent and sent["seq"] == 2 and sent["metadata"] == {"k": [1, "two"]}
    with transaction() as conn:
        payload = conn.execute(sa.select(outbox.c.payload).order_by(outbox.c.id.desc()).limit(1)).scalar_one()
    assert payload == sent


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("body", ["plain", "for @bob"])  # the one-statement send and the transaction
def test_the_same_client_id_sent_at_once_from_many_threads_is_one_message(app, alice, bob, direct, body):
    """Sends racing with one ``client_id`` all answer with one message; the seq stays gap-free."""
    barrier, results = threading.Barrier(6), []

    def send_once():
        with app.app_context():
            barrier.wait()
            results.append(messages.send_message(alice["id"], direct["id"], body, client_id="racing-1"))
    threads = [threading.Thread(target=send_once) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 6
    assert len({m["id"] for m, _ in results}) == 1 and sum(created for _, created in results) == 1
    after, _ = messages.send_message(alice["id"], direct["id"], "next")
    assert after["seq"] == 2  # the losers' seqs were rolled back with their statements
    assert count_rows("messages") == 2 and count_rows("outbox") == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(min_size=1, max_size=300))
def test_any_text_is_stored_trimmed_or_refused_by_name(api_as, alice, direct, body):
    r = send(api_as(alice), direct["id"], body)
    if body.strip() and "\x00" not in body:
        assert r.status_code in (200, 201) and r.json["body"] == body.strip()
    else:
        assert r.status_code == 422 and r.json["error"]["field"] == "body"


def test_client_id_is_scoped_to_the_conversation(api_as, alice, bob, direct, book_club):
    a = api_as(alice)
    in_direct = send(a, direct["id"], "to bob", client_id="k-1")
    in_group = send(a, book_club["id"], "to the club", client_id="k-1")
    assert (in_direct.status_code, in_group.status_code) == (201, 201)
    assert in_group.json["conversation_id"] == book_club["id"] and in_group.json["body"] == "to the club"
    again = send(a, book_club["id"], "to the club", client_id="k-1")
    assert again.status_code == 200 and again.json["id"] == in_group.json["id"]
    assert count_rows("messages") == 2


@pytest.mark.parametrize("who_acts", ["carol leaves", "alice removes carol"])
def test_client_id_reused_after_leaving_a_group_is_a_new_message(api_as, alice, carol, book_club, who_acts):
    # On Postgres, RLS then hides carol's earlier message: it must not be matched, nor answered as null.
    c = api_as(carol)
    assert send(c, book_club["id"], "in the group", client_id="42").status_code == 201
    actor = c if who_acts == "carol leaves" else api_as(alice)
    assert actor.delete(f"/conversations/{book_club['id']}/members/{carol['id']}").status_code == 204
    dm = c.post("/conversations/direct", json={"user_id": alice["id"]}).json
    r = send(c, dm["id"], "hello alice", client_id="42")
    assert r.status_code == 201, r.json
    assert r.json["conversation_id"] == dm["id"] and r.json["body"] == "hello alice"
    page = api_as(alice).get(f"/conversations/{dm['id']}/messages").json
    assert [m["body"] for m in page["messages"]] == ["hello alice"]
    # The group is gone for carol: the old client_id there is not hers to replay.
    assert send(c, book_club["id"], "in the group", client_id="42").status_code == 404


def test_client_id_on_a_database_with_the_older_constraint_is_a_409(app, api_as, alice, direct, book_club):
    # A database that still has the older (sender, client_id) uniqueness refuses rather than answering with
    # nothing or with the other conversation's message.
    engine = app.extensions["chat.db"].engine
    with engine.begin() as conn:
        conn.exec_driver_sql("create unique index older_client_id on messages (sender_id, client_id)")
    try:
        a = api_as(alice)
        assert send(a, direct["id"], "to bob", client_id="k-1").status_code == 201
        r = send(a, book_club["id"], "to the club", client_id="k-1")
        assert r.status_code == 409 and r.json["error"]["field"] == "client_id"
        assert count_rows("messages") == 1
    finally:
        with engine.begin() as conn:  # the Postgres database outlives this test
            conn.exec_driver_sql("drop index older_client_id")
