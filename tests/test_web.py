"""The HTML pages and forms: accounts, the conversation list, people, profile cards, groups."""
import pytest

from chat.actions import conversations, inbox, messages

from .web_support import text, web_as_fixture, web_fixture  # noqa: F401  (fixtures)

# --- signing up, in and out --------------------------------------------------------------------------

def test_signed_out_home_is_the_landing_page(web):
    r = web.get("/")
    assert r.status_code == 200
    assert "Create an account" in text(r) and "sse-connect" not in text(r)


def test_sign_up_signs_in_and_shows_the_conversation_list(web):
    web.get("/signup")
    r = web.post("/signup", {"email": "zoe@example.com", "username": "zoe", "password": "password123",
                             "display_name": "Zoë"})
    assert r.status_code == 303 and r.location == "/"
    page = text(web.get("/"))
    assert 'id="conversation-list"' in page and "Zoë" in page and 'sse-connect="/events?last_event_id=' in page


@pytest.mark.parametrize("form, field, words", [
    ({"email": "not-an-email", "username": "zoe", "password": "password123"}, "email", "email address like"),
    ({"email": "zoe@example.com", "username": "Zo", "password": "password123"}, "username", "3–32"),
    ({"email": "zoe@example.com", "username": "zoe", "password": "short"}, "password", "at least 8"),
    ({"email": "zoe@example.com", "username": "alice", "password": "password123"}, "username", "taken"),
    ({"email": "alice@example.com", "username": "zoe", "password": "password123"}, "email", "already exists"),
    ({"email": "", "username": "zoe", "password": "password123"}, "email", "Enter your email"),
])
def test_sign_up_errors_appear_next_to_their_field(web, alice, form, field, words):
    web.get("/signup")
    r = web.post("/signup", form)
    assert r.status_code == 422
    page = text(r)
    error = page[page.index(f'id="{field}-error"'):]
    assert words in error[:300]
    assert f'aria-describedby="{field}-error"' in page or f'{field}-hint {field}-error' in page


@pytest.mark.parametrize("login", ["alice", "alice@example.com", "ALICE"])
def test_sign_in_with_email_or_username(web, alice, login):
    web.get("/login")
    r = web.post("/login", {"login": login, "password": "password123"})
    assert r.status_code == 303
    assert "Alice" in text(web.get("/"))


def test_wrong_password_is_shown_next_to_the_password(web, alice):
    web.get("/login")
    r = web.post("/login", {"login": "alice", "password": "wrong-password"})
    assert r.status_code == 422
    page = text(r)
    assert "Wrong email/username or password." in page[page.index('id="password-error"'):][:200]
    assert 'value="alice"' in page  # what was typed is kept


@pytest.mark.parametrize("next_url, expected", [
    ("/people", "/people"), ("//evil.example/x", "/"), ("https://evil.example/", "/"), ("/\\evil", "/"),
    ("/%09/evil.example", "/"), ("/\t/evil.example", "/"),
])
def test_sign_in_returns_only_to_local_pages(web, alice, next_url, expected):
    web.get("/login")
    r = web.post(f"/login?next={next_url}", {"login": "alice", "password": "password123"})
    assert r.status_code == 303 and r.location == expected


def test_sign_out_needs_a_post_with_the_csrf_token(web_as, alice):
    me = web_as(alice)
    assert me.post("/logout", csrf=False).status_code == 400
    assert "Sign out" in text(me.get("/"))
    r = me.post("/logout")
    assert r.status_code == 303 and r.location == "/login"
    assert "Create an account" in text(me.get("/"))


# --- the conversation list ---------------------------------------------------------------------------

def test_home_lists_conversations_newest_first_with_preview_and_unread_badge(web_as, alice, bob, carol):
    direct, _ = conversations.open_direct(bob["id"], alice["id"])
    messages.send_message(bob["id"], direct["id"], "Are you coming?")
    messages.send_message(bob["id"], direct["id"], "Thursday, 7pm")
    group = conversations.create_group(carol["id"], "book-club", [alice["id"]])
    page = text(web_as(alice).get("/"))
    first, second = page.index(f'id="conversation-{group["id"]}"'), page.index(f'id="conversation-{direct["id"]}"')
    assert first < second
    row = page[page.rindex("<li", 0, second):page.index("</li>", second)]
    assert "Bob" in row and "Thursday, 7pm" in row and 'data-unread="2"' in row and ">2<" in row
    assert "conv-row--unread" in row


def test_unread_badge_caps_at_99_plus(web_as, alice, bob):
    direct, _ = conversations.open_direct(bob["id"], alice["id"])
    for n in range(101):
        messages.send_message(bob["id"], direct["id"], f"ping {n}")
    assert "99+" in text(web_as(alice).get("/"))


# --- people and profile cards ------------------------------------------------------------------------

def test_people_directory_with_search(web_as, alice, bob, carol):
    me = web_as(alice)
    page = text(me.get("/people"))
    assert "/u/bob" in page and "/u/carol" in page
    page = text(me.get("/people?q=car"))
    assert "/u/carol" in page and "/u/bob" not in page
    r = me.get("/people?q=bo", htmx=True, headers={"HX-Target": "people-results"})
    assert "<html" not in text(r) and "/u/bob" in text(r)
    assert "Nobody matches" in text(me.get("/people?q=zzz"))


def test_profile_card_has_a_message_button(web_as, alice, bob):
    page = text(web_as(alice).get("/u/bob"))
    assert "Bob" in page and "@bob" in page
    assert 'hx-post="/u/bob/message"' in page and 'action="/u/bob/message"' in page
    assert 'id="side-panel"' in page


def test_own_profile_has_no_message_button(web_as, alice):
    page = text(web_as(alice).get("/u/alice"))
    assert "This is you." in page and "/u/alice/message" not in page


def test_unknown_profile_is_404(web_as, alice):
    r = web_as(alice).get("/u/nobody")
    assert r.status_code == 404 and "No such user." in text(r)


def test_message_button_opens_the_chat_panel_without_a_page_load(web_as, alice, bob):
    me = web_as(alice)
    r = me.post("/u/bob/message", htmx=True)
    assert r.status_code == 200
    panel = text(r)
    assert "<html" not in panel and 'class="chat chat--panel"' in panel
    assert 'aria-label="Close chat"' in panel and '<label class="visually-hidden" for="composer-' in panel
    again = me.post("/u/bob/message", htmx=True)
    assert len(inbox.list_conversations(alice["id"])) == 1  # the same conversation both times
    assert text(again).count('class="chat chat--panel"') == 1


def test_message_button_without_javascript_goes_to_the_conversation(web_as, alice, bob):
    r = web_as(alice).post("/u/bob/message")
    conversation = inbox.list_conversations(alice["id"])[0]
    assert r.status_code == 303 and r.location == f"/c/{conversation['id']}"


# --- groups --------------------------------------------------------------------------------------------

def test_create_a_group_with_members_by_username(web_as, alice, bob, carol):
    me = web_as(alice)
    me.get("/groups/new")
    r = me.post("/groups/new", {"name": "book-club", "members": "bob, @carol"})
    assert r.status_code == 303
    group = inbox.list_conversations(alice["id"])[0]
    assert r.location == f"/c/{group['id']}"
    assert group["name"] == "book-club" and group["my_role"] == "owner"
    assert sorted(m["username"] for m in group["members"]) == ["alice", "bob", "carol"]


@pytest.mark.parametrize("form, field, words", [
    ({"name": "", "members": "bob"}, "name", "Give the group a name."),
    ({"name": "club", "members": "bob nobody"}, "members", "Nobody is called “nobody”."),
    ({"name": "x" * 101, "members": ""}, "name", "100"),
])
def test_group_form_errors_appear_next_to_their_field(web_as, alice, bob, form, field, words):
    me = web_as(alice)
    r = me.post("/groups/new", form)
    assert r.status_code == 422
    page = text(r)
    assert words in page[page.index(f'id="{field}-error"'):][:300]
    assert inbox.list_conversations(alice["id"]) == []


def test_rename_a_group(web_as, alice, book_club):
    me = web_as(alice)
    assert 'value="book-club"' in text(me.get(f"/c/{book_club['id']}/settings"))
    r = me.post(f"/c/{book_club['id']}/rename", {"name": "Readers"})
    assert r.status_code == 303 and r.location == f"/c/{book_club['id']}/settings"
    assert inbox.get_conversation(alice["id"], book_club["id"])["name"] == "Readers"
    r = me.post(f"/c/{book_club['id']}/rename", {"name": "  "})
    assert r.status_code == 422 and "Give the group a name." in text(r)


def test_a_member_may_not_rename_or_manage_members(web_as, bob, carol, book_club):
    me = web_as(bob)
    page = text(me.get(f"/c/{book_club['id']}/settings"))
    assert "/rename" not in page and "/remove" not in page and "Leave group" in page
    assert me.post(f"/c/{book_club['id']}/rename", {"name": "Mine now"}).status_code == 403
    assert me.post(f"/c/{book_club['id']}/members/{carol['id']}/remove").status_code == 403


def test_add_and_remove_members(web_as, alice, bob, dave, book_club):
    me = web_as(alice)
    me.get(f"/c/{book_club['id']}/settings")
    r = me.post(f"/c/{book_club['id']}/members", {"username": "dave"})
    assert r.status_code == 303
    names = [m["username"] for m in inbox.get_conversation(alice["id"], book_club["id"])["members"]]
    assert "dave" in names
    r = me.post(f"/c/{book_club['id']}/members", {"username": "dave"})
    assert r.status_code == 422 and "already a member" in text(r)
    r = me.post(f"/c/{book_club['id']}/members", {"username": "nobody"})
    assert r.status_code == 422 and "Nobody is called" in text(r)
    r = me.post(f"/c/{book_club['id']}/members/{dave['id']}/remove")
    assert r.status_code == 303
    names = [m["username"] for m in inbox.get_conversation(alice["id"], book_club["id"])["members"]]
    assert "dave" not in names


def test_leave_a_group(web_as, bob, book_club):
    me = web_as(bob)
    r = me.post(f"/c/{book_club['id']}/leave")
    assert r.status_code == 303 and r.location == "/"
    assert me.get(f"/c/{book_club['id']}").status_code == 404


def test_direct_conversations_have_no_settings(web_as, alice, bob):
    direct, _ = conversations.open_direct(alice["id"], bob["id"])
    assert web_as(alice).get(f"/c/{direct['id']}/settings").status_code == 404
