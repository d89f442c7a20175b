"""The look's pages without a browser, on both backends: the theme choice (a form and a cookie), New chat that
finds people, the member picker's suggestions, and group members added by picking a suggestion."""
import pytest

from chat.actions import conversations

from .web_support import HTMX, text, web_as_fixture, web_fixture  # noqa: F401  (fixtures)


@pytest.fixture
def book_club(alice, bob):
    return conversations.create_group(alice["id"], "book-club", [bob["id"]])


def test_the_theme_is_a_form_and_a_cookie(web_as, alice):
    me = web_as(alice)
    page = text(me.get("/"))
    assert "<html lang=\"en\">" in page and '<meta name="color-scheme" content="light dark">' in page
    r = me.post("/settings/appearance", {"theme": "dark"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings/appearance?saved=1")
    assert "theme=dark" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    page = text(me.get("/settings/appearance?saved=1"))
    assert '<html lang="en" data-theme="dark">' in page and '<meta name="color-scheme" content="dark">' in page
    assert "Saved. This browser now shows the dark theme." in page
    assert 'value="dark" aria-describedby="theme-dark-hint" checked' in page
    r = me.post("/settings/appearance", {"theme": "system"})
    assert r.status_code == 303 and "theme=;" in r.headers["Set-Cookie"]  # forgotten
    assert "data-theme" not in text(me.get("/"))


def test_a_bad_theme_is_a_sentence_and_changes_nothing(web_as, alice):
    me = web_as(alice)
    r = me.post("/settings/appearance", {"theme": "neon"})
    assert r.status_code == 422 and "theme=" not in r.headers.get("Set-Cookie", "")
    assert "Choose System, Light or Dark, then press Save." in text(r)
    me.client.set_cookie("theme", "neon")  # a cookie the app never wrote reads as "system"
    assert "data-theme" not in text(me.get("/"))


def test_the_theme_form_needs_a_csrf_token_and_a_session(web_as, web, alice):
    assert web.get("/settings/appearance").status_code == 302  # to sign in
    assert web_as(alice).post("/settings/appearance", {"theme": "dark"}, csrf=False).status_code == 400


def test_new_chat_finds_people_but_not_me(web_as, alice, bob, carol):
    me = web_as(alice)
    page = text(me.get("/new"))
    assert "Bob" in page and "Carol" in page and f'action="/u/{alice["username"]}/message"' not in page
    found = me.get("/new?q=car", htmx=True, headers={"HX-Target": "new-chat-results"})
    assert found.status_code == 200 and "<html" not in text(found)
    assert "Carol" in text(found) and "Bob" not in text(found)
    assert "Nobody matches “zzz”. Try part of a name or username." in text(me.get("/new?q=zzz"))
    r = me.post(f"/u/{carol['username']}/message")  # its Message button, without JavaScript
    assert r.status_code == 303 and "/c/" in r.headers["Location"]


def test_the_picker_suggests_people_by_name(web_as, alice, bob, carol):
    me = web_as(alice)
    assert text(me.get("/people/pick?q=", headers=HTMX)).strip() == ""
    picks = text(me.get("/people/pick?q=bo", headers=HTMX))
    assert 'data-pick="bob"' in picks and "carol" not in picks
    add = text(me.get("/people/pick?mode=add&username=car", headers=HTMX))  # the add form's own field
    assert 'name="pick" value="carol"' in add and 'type="submit"' in add
    assert 'data-pick="alice"' not in text(me.get("/people/pick?q=alice", headers=HTMX))  # not oneself


def test_adding_a_member_by_picking_a_suggestion(web_as, alice, carol, dave, book_club):
    me = web_as(alice)
    me.get(f"/c/{book_club['id']}/settings")
    r = me.post(f"/c/{book_club['id']}/members", {"username": "Car", "pick": "carol"})
    assert r.status_code == 303
    assert "Added Carol." in text(me.get(f"/c/{book_club['id']}/settings"))
    r = me.post(f"/c/{book_club['id']}/members", {"username": "nobody-here"})
    assert r.status_code == 422 and "Nobody is called “nobody-here”." in text(r)


def test_a_new_group_takes_picked_members(web_as, alice, bob, carol):
    me = web_as(alice)
    me.get("/groups/new")
    r = me.post("/groups/new", {"name": "Picked", "members": "bob, carol", "q": "car"})
    assert r.status_code == 303
    page = text(me.get(r.headers["Location"]))
    assert "3 members" in page
