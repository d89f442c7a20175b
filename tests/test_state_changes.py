"""S15: no state change by GET, and avatars that cannot point at our own routes (and U10's API quirks)."""
import pytest

from chat.actions import conversations, inbox, messages

from .web_support import text, web_as_fixture  # noqa: F401  (fixtures)


@pytest.fixture
def group(alice, bob):
    return conversations.create_group(bob["id"], "club", [alice["id"]])


@pytest.mark.parametrize("url", ["/c/00000000-0000-0000-0000-000000000000", "/api/v1/attachments/x/content",
                                 "//evil.example/a.png", "http://example.com/a.png", "javascript:alert(1)",
                                 "https://", "https:///path", "https://exa mple.com/a.png", "ftp://example.com/a",
                                 " /c/x", "https:/example.com/a.png"])
def test_avatar_url_must_be_an_absolute_https_url(api_as, alice, url):
    a = api_as(alice)
    r = a.patch("/me", json={"avatar_url": url})
    assert r.status_code == 422 and r.json["error"]["field"] == "avatar_url", url
    assert a.get("/me").json["avatar_url"] is None  # nothing written


def test_avatar_url_accepts_https_and_null_or_empty_clear_it(api_as, alice):
    a = api_as(alice)
    r = a.patch("/me", json={"avatar_url": "https://example.com/dana.png"})
    assert r.status_code == 200 and r.json["avatar_url"] == "https://example.com/dana.png"
    assert a.patch("/me", json={"bio": "hi"}).json["avatar_url"] == "https://example.com/dana.png"  # untouched
    assert a.patch("/me", json={"avatar_url": None}).json["avatar_url"] is None
    a.patch("/me", json={"avatar_url": "https://example.com/dana.png"})
    assert a.patch("/me", json={"avatar_url": ""}).json["avatar_url"] is None
    r = a.patch("/me", json={"avatar_url": 5})
    assert r.status_code == 422 and r.json["error"]["field"] == "avatar_url"


def test_opening_a_conversation_by_get_changes_nothing(web_as, alice, bob, group):
    messages.send_message(bob["id"], group["id"], "unread")
    web = web_as(alice)
    for _ in range(2):  # what an <img src="/c/<id>"> would make a viewer's browser do
        assert web.get(f"/c/{group['id']}").status_code == 200
        assert web.get(f"/c/{group['id']}", htmx=True, headers={"HX-Target": "side-panel"}).status_code == 200
    assert inbox.get_conversation(alice["id"], group["id"])["unread_count"] == 1


def test_without_javascript_the_mark_as_read_button_posts_and_returns(web_as, alice, bob, group):
    messages.send_message(bob["id"], group["id"], "unread")
    web = web_as(alice)
    page = text(web.get(f"/c/{group['id']}"))
    assert f'action="/c/{group["id"]}/read"' in page and 'name="seq" value="1"' in page
    response = web.post(f"/c/{group['id']}/read", {"seq": "1"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/c/{group['id']}")
    assert inbox.get_conversation(alice["id"], group["id"])["unread_count"] == 0


def test_mark_read_needs_the_csrf_token_and_membership(web_as, alice, bob, carol, group):
    messages.send_message(bob["id"], group["id"], "unread")
    assert web_as(alice).post(f"/c/{group['id']}/read", {"seq": "1"}, csrf=False).status_code == 400
    assert web_as(carol).post(f"/c/{group['id']}/read", {"seq": "1"}).status_code == 404
    assert inbox.get_conversation(alice["id"], group["id"])["unread_count"] == 1
