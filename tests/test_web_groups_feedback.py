"""Group settings say what a change did (the audit found that Save, Add and Remove just reloaded the page)."""
import pytest

from chat.actions import conversations

from .web_support import text, web_as_fixture, web_fixture  # noqa: F401  (fixtures)


@pytest.fixture
def book_club(alice, bob):
    return conversations.create_group(alice["id"], "book-club", [bob["id"]])


def test_rename_add_and_remove_each_say_what_they_did(web_as, alice, bob, dave, book_club):
    me = web_as(alice)
    settings = f"/c/{book_club['id']}/settings"
    me.get(settings)
    assert me.post(f"/c/{book_club['id']}/rename", {"name": "Readers"}).status_code == 303
    assert '<p class="flash" role="status">Renamed to “Readers”.</p>' in text(me.get(settings))
    assert me.post(f"/c/{book_club['id']}/members", {"username": "dave"}).status_code == 303
    assert "Added Dave." in text(me.get(settings))
    assert me.post(f"/c/{book_club['id']}/members/{dave['id']}/remove").status_code == 303
    page = text(me.get(settings))
    assert "Removed Dave." in page and "Added Dave." not in page  # each line is shown once


def test_a_refused_change_says_nothing_was_done(web_as, alice, bob, book_club):
    me = web_as(bob)  # a member, not a manager
    me.get(f"/c/{book_club['id']}/settings")
    assert me.post(f"/c/{book_club['id']}/rename", {"name": "Mine"}).status_code == 403
    assert 'class="flash"' not in text(me.get(f"/c/{book_club['id']}/settings"))
