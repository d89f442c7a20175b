"""Keeping up without JavaScript: level and archive forms, the Archived list, the unread divider, Mark as
unread, system lines and mention links in the page, and what the stream sends for a member's own change."""
from chat.actions import members, messages, settings

from .web_support import fragment, text, web_as_fixture  # noqa: F401  (fixtures)


def test_level_and_archive_forms_and_the_archived_list(web_as, alice, bob, book_club):
    web = web_as(bob)
    page = text(web.get(f"/c/{book_club['id']}"))
    assert "Notify me about" in page and "Archive this conversation" in page
    r = web.post(f"/c/{book_club['id']}/notifications", {"notify": "none"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/c/{book_club['id']}")
    home = text(web.get("/"))
    row = fragment(home, f"conversation-{book_club['id']}")
    assert "conv-row--muted" in row and 'data-notify="none"' in row
    r = web.post(f"/c/{book_club['id']}/notifications", {"archived": "1"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/")
    home = text(web.get("/"))
    assert f'id="conversation-{book_club["id"]}"' not in home and ">Archived</a>" in home
    archived = text(web.get("/?archived=1"))
    assert f'id="conversation-{book_club["id"]}"' in archived and "All chats" in archived
    assert web.post(f"/c/{book_club['id']}/notifications", {"archived": "maybe"}).status_code == 422
    assert web.post(f"/c/{book_club['id']}/notifications", {"notify": "loud"}).status_code == 422
    web.post(f"/c/{book_club['id']}/notifications", {"archived": "0", "notify": "default"})
    assert f'id="conversation-{book_club["id"]}"' in text(web.get("/"))


def test_a_stranger_cannot_change_settings_or_unread(web_as, dave, alice, book_club):
    said = messages.send_message(alice["id"], book_club["id"], "hi")[0]
    web = web_as(dave)
    assert web.post(f"/c/{book_club['id']}/notifications", {"notify": "none"}).status_code == 404
    assert web.post(f"/c/{book_club['id']}/m/{said['seq']}/unread").status_code == 404


def test_the_divider_sits_above_the_first_unread_message(web_as, alice, bob, direct):
    first = messages.send_message(alice["id"], direct["id"], "read already")[0]
    web_as(bob).post(f"/c/{direct['id']}/read", {"seq": first["seq"]})
    unread = messages.send_message(alice["id"], direct["id"], "not yet read")[0]
    page = text(web_as(bob).get(f"/c/{direct['id']}"))
    divider = page.index('class="unread-divider"')
    assert page.index(f'id="message-{first["id"]}"') < divider < page.index(f'id="message-{unread["id"]}"')
    assert "New messages" in page


def test_many_unread_open_the_page_around_the_first(web_as, alice, bob, direct):
    for n in range(60):
        messages.send_message(alice["id"], direct["id"], f"m{n}")
    page = text(web_as(bob).get(f"/c/{direct['id']}"))
    assert 'data-history="true"' in page and 'class="unread-divider"' in page and 'data-seq="1"' in page
    assert 'data-seq="60"' not in page
    latest = text(web_as(bob).get(f"/c/{direct['id']}?latest=1"))
    assert 'data-seq="60"' in latest and 'data-history="true"' not in latest


def test_mark_as_unread_as_a_plain_form(web_as, alice, bob, direct):
    said = [messages.send_message(alice["id"], direct["id"], f"m{n}")[0] for n in range(3)]
    web = web_as(bob)
    web.post(f"/c/{direct['id']}/read", {"seq": said[-1]["seq"]})
    confirm = web.get(f"/c/{direct['id']}/m/{said[1]['seq']}/unread")
    assert confirm.status_code == 200 and "Mark as unread" in text(confirm)
    r = web.post(f"/c/{direct['id']}/m/{said[1]['seq']}/unread")
    assert r.status_code == 303
    row = fragment(text(web.get("/")), f"conversation-{direct['id']}")
    assert 'data-unread="2"' in row
    assert web.post(f"/c/{direct['id']}/m/{said[0]['seq']}/unread", htmx=True).status_code == 204
    assert web.post(f"/c/{direct['id']}/m/99/unread").status_code == 422


def test_system_lines_and_mention_links_in_the_page(web_as, alice, bob, carol, dave, book_club):
    members.add_member(alice["id"], book_club["id"], dave["id"])
    said = messages.send_message(alice["id"], book_club["id"], "@dave welcome")[0]
    page = text(web_as(dave).get(f"/c/{book_club['id']}"))
    assert 'class="msg msg--system"' in page and "Alice added Dave." in page
    line = fragment(page, f"message-{said['id']}")
    assert f'data-mentions="{dave["id"]}"' in line
    assert f'<a class="mention" href="/u/dave" data-mention="{dave["id"]}">@dave</a>' in line
    # The highlight is the page's, for the person looking (the partial is the same for everyone).
    assert f'.mention[data-mention="{dave["id"]}"]' in page


def test_a_members_own_change_reaches_their_list_row(app, alice, bob, book_club):
    from chat.web import live
    settings.update_settings(bob["id"], book_club["id"], notify="mentions")
    from chat.actions import inbox
    seen = inbox.get_conversation(bob["id"], book_club["id"])
    with app.test_request_context("/events"):
        pairs = list(live.renderer_for(bob["id"])({"id": "e:1-0", "type": "conversation.updated", "data": seen}))
    row = dict(pairs)["conversation"]
    assert 'data-notify="mentions"' in row and 'data-archived="0"' in row
