"""Replies (shared/API.md): reply_to_id on send, reply_to in the message, around= on the history."""
import pytest

from chat.actions import messages

from .test_rls import pg  # noqa: F401  (fixture)
from .web_support import text, web_as_fixture  # noqa: F401  (fixtures)


def send(api, cid, body, **extra):
    return api.post(f"/conversations/{cid}/messages", json={"body": body, **extra})


def test_a_reply_quotes_its_message(api_as, alice, bob, direct):
    a, b = api_as(alice), api_as(bob)
    first = send(a, direct["id"], "x" * 250).json
    reply = send(b, direct["id"], "yes", reply_to_id=first["id"])
    assert reply.status_code == 201
    assert reply.json["reply_to"] == {"id": first["id"], "seq": first["seq"], "sender_id": alice["id"],
                                      "body": "x" * 200, "deleted": False}
    listed = a.get(f"/conversations/{direct['id']}/messages").json["messages"]
    assert listed[-1]["reply_to"]["id"] == first["id"] and listed[0]["reply_to"] is None
    messages.delete_message(alice["id"], first["id"])
    listed = a.get(f"/conversations/{direct['id']}/messages").json["messages"]
    assert listed[-1]["reply_to"] == {"id": first["id"], "seq": first["seq"], "sender_id": alice["id"],
                                      "body": "", "deleted": True}


@pytest.mark.parametrize("bad", ["not-an-id", "00000000-0000-0000-0000-000000000000", 42, "other"])
def test_a_reply_to_anything_but_a_message_of_this_conversation_is_422(api_as, alice, bob, carol, direct, bad):
    if bad == "other":
        from chat.actions import conversations
        other, _ = conversations.open_direct(alice["id"], carol["id"])
        bad = messages.send_message(alice["id"], other["id"], "elsewhere")[0]["id"]
    r = send(api_as(bob), direct["id"], "hm", reply_to_id=bad)
    assert r.status_code == 422 and r.json["error"]["field"] == "reply_to_id"
    assert api_as(bob).get(f"/conversations/{direct['id']}/messages").json["messages"] == []


def test_around_puts_the_message_in_the_middle(api_as, alice, direct):
    for n in range(1, 201):
        messages.send_message(alice["id"], direct["id"], f"m{n}")
    api = api_as(alice)
    page = api.get(f"/conversations/{direct['id']}/messages?around=100&limit=10").json
    assert [m["seq"] for m in page["messages"]] == list(range(96, 106))
    assert page["has_more"] is True and page["has_more_after"] is True
    start = api.get(f"/conversations/{direct['id']}/messages?around=2&limit=10").json
    assert [m["seq"] for m in start["messages"]] == list(range(1, 8)) and start["has_more"] is False
    end = api.get(f"/conversations/{direct['id']}/messages?around=199&limit=10").json
    assert [m["seq"] for m in end["messages"]] == list(range(195, 201)) and end["has_more_after"] is False
    for bad in ("around=0", "around=x", "around=5&before=9"):
        r = api.get(f"/conversations/{direct['id']}/messages?{bad}")
        assert r.status_code == 422 and r.json["error"]["field"] == "around"


def test_around_is_for_members_only(api_as, carol, direct):
    assert api_as(carol).get(f"/conversations/{direct['id']}/messages?around=1").status_code == 404


def test_the_partial_shows_the_quote_and_the_page_form_sends_replies(web_as, alice, bob, direct):
    first = messages.send_message(alice["id"], direct["id"], "the original")[0]
    me = web_as(bob)
    r = me.post(f"/c/{direct['id']}/messages", {"body": "answer", "reply_to_id": first["id"]}, htmx=True)
    assert r.status_code == 201 and 'class="msg__quote' in text(r) and "the original" in text(r)
    messages.delete_message(alice["id"], first["id"])
    page = text(me.get(f"/c/{direct['id']}"))
    assert "original message was deleted" in page


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_rls_a_reply_cannot_quote_another_conversation(pg, alice, bob, carol, direct):  # noqa: F811
    from psycopg import errors

    from chat.actions import conversations
    other, _ = conversations.open_direct(alice["id"], carol["id"])
    elsewhere = messages.send_message(alice["id"], other["id"], "elsewhere")[0]
    here = messages.send_message(alice["id"], direct["id"], "here")[0]
    update = "update public.messages set reply_to_id = %s where id = %s"
    assert pg.refused(alice["id"], update, (elsewhere["id"], here["id"]))  # nobody re-points a reply
    with pg.as_server() as cur, pytest.raises(errors.CheckViolation):  # and no writer, however trusted
        cur.execute("insert into public.messages (id, conversation_id, seq, sender_id, kind, body, metadata, "
                    "created_at, reply_to_id) values (gen_random_uuid(), %s, 999, %s, 'text', 'x', '{}', now(), %s)",
                    (direct["id"], alice["id"], elsewhere["id"]))


def test_edit_history_from_the_edited_label_for_members_only(web_as, alice, bob, carol, direct):
    first = messages.send_message(alice["id"], direct["id"], "<b>first</b>")[0]
    messages.edit_message(alice["id"], first["id"], "second")
    page = text(web_as(bob).get(f"/c/{direct['id']}"))
    assert f'href="/c/{direct["id"]}/m/{first["seq"]}/edits"' in page
    fragment = text(web_as(bob).get(f"/c/{direct['id']}/m/{first['seq']}/edits", htmx=True))
    assert "&lt;b&gt;first&lt;/b&gt;" in fragment and "<html" not in fragment
    full = text(web_as(bob).get(f"/c/{direct['id']}/m/{first['seq']}/edits"))
    assert "<html" in full and "second" in full
    assert web_as(carol).get(f"/c/{direct['id']}/m/{first['seq']}/edits").status_code == 404
