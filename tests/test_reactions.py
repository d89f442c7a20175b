"""Reactions (shared/API.md): PUT/DELETE /messages/{id}/reactions/{emoji}, the emoji rules, events, RLS."""
from urllib.parse import quote

import pytest
from psycopg import errors

from chat.actions import messages, reactions

from .test_rls import pg  # noqa: F401  (fixture)
from .test_web_security import audit
from .web_support import text, web_as_fixture  # noqa: F401  (fixtures)


def react(api, message_id, emoji, method="put"):
    return getattr(api, method)(f"/messages/{message_id}/reactions/{quote(emoji, safe='')}")


def put(api, path):
    return api.client.put("/api/v1" + path, headers=api._headers(None))


@pytest.fixture
def said(alice, direct):
    return messages.send_message(alice["id"], direct["id"], "react to me")[0]


def listed(api, cid):
    return api.get(f"/conversations/{cid}/messages").json["messages"][-1]


def test_react_and_take_back_idempotently(api_as, alice, bob, direct, said, record):
    rec = record(alice, bob)
    a, b = api_as(alice), api_as(bob)
    for _ in range(2):
        assert put(b, f"/messages/{said['id']}/reactions/{quote('👍🏽')}").status_code == 204
    assert put(a, f"/messages/{said['id']}/reactions/{quote('👍🏽')}").status_code == 204
    assert put(a, f"/messages/{said['id']}/reactions/{quote('❤️')}").status_code == 204
    seen = listed(b, direct["id"])
    assert seen["reactions"] == [
        {"emoji": "👍🏽", "count": 2, "user_ids": [bob["id"], alice["id"]], "me": True},
        {"emoji": "❤️", "count": 1, "user_ids": [alice["id"]], "me": False}]
    assert seen["revision"] == 4
    events = [e for e in rec.take(alice) if e.type.startswith("reaction.")]
    assert [e.type for e in events] == ["reaction.added"] * 3  # the repeat records nothing
    assert events[0].data == {"conversation_id": direct["id"], "message_id": said["id"], "seq": said["seq"],
                              "emoji": "👍🏽", "user_id": bob["id"], "revision": 2}
    assert [e.type for e in rec.take(bob) if e.type.startswith("reaction.")] == ["reaction.added"] * 3
    for _ in range(2):
        assert react(b, said["id"], "👍🏽", "delete").status_code == 204
    seen = listed(b, direct["id"])
    assert seen["reactions"][0] == {"emoji": "👍🏽", "count": 1, "user_ids": [alice["id"]], "me": False}
    assert seen["revision"] == 5
    assert [e.type for e in rec.take(alice) if e.type.startswith("reaction.")] == ["reaction.removed"]


@pytest.mark.parametrize("emoji", ["a", "👍👍", "ab", "👍a", " 👍", "1", "<b>", "\u200d", "🇫", "x" * 40])
def test_anything_but_one_emoji_is_422(api_as, alice, said, emoji):
    r = put(api_as(alice), f"/messages/{said['id']}/reactions/{quote(emoji, safe='')}")
    assert r.status_code == 422 and r.json["error"]["field"] == "emoji"


@pytest.mark.parametrize("emoji", ["😀", "👨‍👩‍👧‍👦", "🇫🇷", "1️⃣", "☺️", "👋🏿"])
def test_one_emoji_of_any_shape_is_taken(api_as, alice, said, emoji):
    assert put(api_as(alice), f"/messages/{said['id']}/reactions/{quote(emoji, safe='')}").status_code == 204


def test_at_most_twenty_distinct(api_as, alice, bob, said):
    emoji = [chr(0x1F600 + n) for n in range(21)]
    for e in emoji[:20]:
        reactions.add_reaction(alice["id"], said["id"], e)
    r = put(api_as(bob), f"/messages/{said['id']}/reactions/{quote(emoji[20])}")
    assert r.status_code == 422 and r.json["error"]["field"] == "emoji"
    assert put(api_as(bob), f"/messages/{said['id']}/reactions/{quote(emoji[0])}").status_code == 204  # not new


def test_outsiders_and_deleted_messages(api_as, alice, carol, said):
    assert put(api_as(carol), f"/messages/{said['id']}/reactions/{quote('👍')}").status_code == 404
    assert react(api_as(carol), said["id"], "👍", "delete").status_code == 404
    assert put(api_as(None), f"/messages/{said['id']}/reactions/{quote('👍')}").status_code == 401
    assert put(api_as(alice), f"/messages/not-an-id/reactions/{quote('👍')}").status_code == 404
    messages.delete_message(alice["id"], said["id"])
    assert put(api_as(alice), f"/messages/{said['id']}/reactions/{quote('👍')}").status_code == 409


def test_deleting_a_message_drops_its_reactions_from_view(api_as, alice, bob, direct, said):
    reactions.add_reaction(bob["id"], said["id"], "👍")
    messages.delete_message(alice["id"], said["id"])
    assert listed(api_as(bob), direct["id"])["reactions"] == []


def test_the_page_shows_counts_names_and_a_plain_form(app, web_as, alice, bob, direct, said):
    reactions.add_reaction(bob["id"], said["id"], "🎉")
    me = web_as(alice)
    page = text(me.get(f"/c/{direct['id']}"))
    assert 'class="reaction"' in page and 'title="Bob' in page and ">1</span>" in page
    form = text(me.get(f"/c/{direct['id']}/m/{said['seq']}/react"))
    assert 'name="emoji"' in form and "csrf_token" in form
    r = me.post(f"/c/{direct['id']}/m/{said['seq']}/react", {"emoji": "🎉"})
    assert r.status_code in (302, 303)
    r = me.post(f"/c/{direct['id']}/m/{said['seq']}/react", {"emoji": "🎉"}, htmx=True)
    assert r.status_code == 200 and 'reaction__count">1<' in text(r)  # hers toggled off again, his stays
    assert me.post(f"/c/{direct['id']}/m/{said['seq']}/react", {"emoji": "<b>"}).status_code == 422
    assert audit(text(r)) == []


def test_outsiders_get_404_on_the_page_route(web_as, carol, direct, said):
    assert web_as(carol).post(f"/c/{direct['id']}/m/{said['seq']}/react", {"emoji": "👍"}).status_code == 404


def test_the_stream_rerenders_the_message(app, alice, bob, direct, said):
    from chat.web import live
    reactions.add_reaction(bob["id"], said["id"], "👀")
    event = {"id": "e:9-0", "type": "reaction.added",
             "data": {"conversation_id": direct["id"], "message_id": said["id"], "seq": said["seq"], "emoji": "👀",
                      "user_id": bob["id"], "revision": 2}}
    with app.app_context():
        pairs = list(live.renderer_for(alice["id"])(event))
    assert pairs[0][0] == "message" and "👀" in pairs[0][1] and said["id"] in pairs[0][1]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_rls_members_see_and_people_toggle_only_their_own(pg, alice, bob, carol, said):  # noqa: F811
    reactions.add_reaction(bob["id"], said["id"], "👍")
    sql = "select count(*) from public.message_reactions"
    assert pg.scalar(alice["id"], sql) == 1 and pg.scalar(carol["id"], sql) == 0
    insert = ("insert into public.message_reactions (message_id, user_id, emoji, created_at) "
              "values (%s, %s, %s, now())")
    assert pg.refused(carol["id"], insert, (said["id"], carol["id"], "👍"))  # not a member
    assert pg.refused(alice["id"], insert, (said["id"], bob["id"], "🎉"))  # as someone else
    assert not pg.refused(alice["id"], insert, (said["id"], alice["id"], "🎉"))
    delete = "delete from public.message_reactions where user_id = %s"
    assert pg.rowcount(alice["id"], delete, (bob["id"],)) == 0
    assert pg.rowcount(bob["id"], delete, (bob["id"],)) == 1
    assert pg.refused(bob["id"], "update public.message_reactions set emoji = 'x'")
    bump = "update public.messages set revision = revision + 5 where id = %s"
    assert pg.rowcount(bob["id"], bump, (said["id"],)) == 0  # not his message
    assert pg.refused(alice["id"], bump, (said["id"],), error=errors.CheckViolation)  # a revision moves by one
