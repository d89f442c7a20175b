"""One conversation in HTML: the page and the panel, history pages, sending, editing, deleting, attachments."""
import html
import io
import json
import re

import pytest
from PIL import Image

from chat.actions import conversations, history, inbox, members, messages
from chat.web import live

from .web_support import fragment, text, web_as_fixture, web_fixture  # noqa: F401  (fixtures)


def say(user, conversation, body, **kw):
    return messages.send_message(user["id"], conversation["id"], body, **kw)[0]


def test_conversation_page_shows_messages_and_posts_its_mark_read_after_loading(web_as, alice, bob, direct):
    hello = say(bob, direct, "Hello Alice")
    assert inbox.get_conversation(alice["id"], direct["id"])["unread_count"] == 1
    web = web_as(alice)
    r = web.get(f"/c/{direct['id']}")
    assert r.status_code == 200
    page = text(r)
    assert f'id="message-{hello["id"]}"' in page and "Hello Alice" in page
    assert '<label class="visually-hidden" for="composer-' in page and ">Message</label>" in page
    assert 'aria-live="polite"' in page  # new messages are announced
    # Opening the page (a GET) changes nothing; the page posts its mark-read once loaded (S15).
    assert inbox.get_conversation(alice["id"], direct["id"])["unread_count"] == 1
    assert 'data-read-up-to="0"' in page and "<noscript><form" in page and "Mark as read" in page
    assert web.post(f"/c/{direct['id']}/read", {"seq": "1"}, htmx=True).status_code == 204
    assert inbox.get_conversation(alice["id"], direct["id"])["unread_count"] == 0
    assert "Mark as read" not in text(web.get(f"/c/{direct['id']}"))


def test_an_older_history_page_does_not_mark_read(web_as, alice, bob, direct):
    for n in range(3):
        say(bob, direct, f"m{n}")
    web_as(alice).get(f"/c/{direct['id']}?before=3")
    assert inbox.get_conversation(alice["id"], direct["id"])["unread_count"] == 3


def test_the_panel_fragment_for_htmx(web_as, alice, direct):
    r = web_as(alice).get(f"/c/{direct['id']}", htmx=True, headers={"HX-Target": "side-panel"})
    assert "<html" not in text(r) and "chat--panel" in text(r)


def test_a_group_bigger_than_the_typing_limit_has_a_composer_that_does_not_say_it_is_typing(
        app, web_as, alice, direct, book_club):
    app.config["TYPING_MAX_MEMBERS"] = 2
    web = web_as(alice)
    assert "data-typing-url=" in text(web.get(f"/c/{direct['id']}"))
    group = text(web.get(f"/c/{book_club['id']}"))
    assert "data-composer" in group and "data-typing-url=" not in group


def test_history_pages_by_keyset_with_a_link_fallback(web_as, alice, bob, direct):
    for n in range(1, 121):
        say(bob if n % 2 else alice, direct, f"Message {n}")
    me = web_as(alice)
    page = text(me.get(f"/c/{direct['id']}")).split("<template data-pending-template>")[0]
    assert page.count('class="msg ') == 50 and "Message 71" in page and "Message 70<" not in page
    assert f'href="/c/{direct["id"]}?before=71"' in page  # the no-JavaScript link
    assert f'hx-get="/c/{direct["id"]}/messages?before=71"' in page

    older = text(me.get(f"/c/{direct['id']}/messages?before=71", htmx=True))
    assert "<html" not in older and older.count('class="msg ') == 50
    bodies = re.findall(r'<div class="msg__body"><p>([^<]*)</p></div>', older)
    assert bodies == [f"Message {n}" for n in range(21, 71)]
    assert 'hx-get="/c/{}/messages?before=21"'.format(direct["id"]) in older

    first = text(me.get(f"/c/{direct['id']}/messages?before=21", htmx=True))
    assert re.findall(r'<div class="msg__body"><p>([^<]*)</p></div>', first) == [f"Message {n}" for n in range(1, 21)]
    assert "beginning of the conversation" in first and "Load older" not in first

    full = me.get(f"/c/{direct['id']}/messages?before=21")  # without htmx: the page, not a fragment
    assert "<html" in text(full) and "Jump to the latest messages" in text(full)


def test_catch_up_fragment_after_a_seq(web_as, alice, bob, direct):
    for n in range(1, 6):
        say(bob, direct, f"Message {n}")
    r = web_as(alice).get(f"/c/{direct['id']}/messages?after=3", htmx=True)
    assert re.findall(r'<div class="msg__body"><p>([^<]*)</p></div>', text(r)) == ["Message 4", "Message 5"]
    assert "day-sep" not in text(r) and "load-older" not in text(r)


# --- sending ---------------------------------------------------------------------------------------

def test_send_with_a_plain_form_redirects_to_the_message(web_as, alice, direct):
    me = web_as(alice)
    me.get(f"/c/{direct['id']}")
    r = me.post(f"/c/{direct['id']}/messages", {"body": "  Hello Bob  "})
    message = history.page_messages(alice["id"], direct["id"])["messages"][-1]
    assert r.status_code == 303 and r.location == f"/c/{direct['id']}#message-{message['id']}"
    assert message["body"] == "Hello Bob"


def test_send_with_htmx_returns_the_message_partial_once_per_client_id(web_as, alice, direct):
    me = web_as(alice)
    first = me.post(f"/c/{direct['id']}/messages", {"body": "only once", "client_id": "c-123"}, htmx=True)
    again = me.post(f"/c/{direct['id']}/messages", {"body": "only once", "client_id": "c-123"}, htmx=True)
    assert (first.status_code, again.status_code) == (201, 200)
    assert text(first) == text(again) and 'data-client-id="c-123"' in text(first)
    assert len(history.page_messages(alice["id"], direct["id"])["messages"]) == 1


@pytest.mark.parametrize("body, words", [("   ", "Write a message first."),
                                         ("x" * 4001, "This message is 4,001 characters; the limit is 4,000.")])
def test_a_refused_message_says_why(web_as, alice, direct, body, words):
    me = web_as(alice)
    r = me.post(f"/c/{direct['id']}/messages", {"body": body}, htmx=True)
    assert r.status_code == 422 and words in text(r) and "<html" not in text(r)
    r = me.post(f"/c/{direct['id']}/messages", {"body": body})
    assert r.status_code == 422 and words in text(r) and "<html" in text(r)
    assert history.page_messages(alice["id"], direct["id"])["messages"] == []


def _png():
    data = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 80)).save(data, "PNG")
    return data.getvalue()


def test_attachments_images_inline_files_as_links_audio_with_a_player(web_as, alice, bob, direct):
    me = web_as(alice)
    r = me.post(f"/c/{direct['id']}/messages", {"body": "", "file": (io.BytesIO(_png()), "red.png")},
                content_type="multipart/form-data", htmx=True)
    assert r.status_code == 201, text(r)
    assert '<img src="/api/v1/attachments/' in text(r) and 'alt="red.png"' in text(r) and 'width="40"' in text(r)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    r = me.post(f"/c/{direct['id']}/messages", {"body": "the notes", "file": (io.BytesIO(pdf), "notes.pdf")},
                content_type="multipart/form-data", htmx=True)
    assert 'class="attachment attachment--file"' in text(r) and 'download="notes.pdf"' in text(r)
    wav = (b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00D\xac\x00\x00"
           b"\x88X\x01\x00\x02\x00\x10\x00data\x00\x00\x00\x00")
    r = me.post(f"/c/{direct['id']}/messages", {"body": "", "file": (io.BytesIO(wav), "hello.wav")},
                content_type="multipart/form-data", htmx=True)
    assert r.status_code == 201, text(r)
    assert "<audio controls" in text(r)
    page = text(web_as(bob).get(f"/c/{direct['id']}")).split("<template data-pending-template>")[0]
    assert page.count("attachment--") == 3


def test_a_refused_upload_says_why(web_as, alice, direct):
    r = web_as(alice).post(f"/c/{direct['id']}/messages", {"body": "x", "file": (io.BytesIO(b"MZ\x90\x00"), "a.exe")},
                           content_type="multipart/form-data", htmx=True)
    assert r.status_code == 422 and "This kind of file can&#39;t be sent." in text(r)


# --- editing and deleting ----------------------------------------------------------------------------

def test_edit_your_own_message(web_as, alice, direct):
    message = say(alice, direct, "Helo")
    me = web_as(alice)
    form = text(me.get(f"/c/{direct['id']}/m/{message['seq']}/edit", htmx=True))
    assert f'id="message-{message["id"]}"' in form and ">Helo</textarea>" in form
    r = me.post(f"/c/{direct['id']}/m/{message['seq']}/edit", {"body": "Hello"}, htmx=True)
    assert r.status_code == 200 and "Hello" in text(r) and 'class="msg__edited">edited<' in text(r)
    r = me.post(f"/c/{direct['id']}/m/{message['seq']}/edit", {"body": ""}, htmx=True)
    assert r.status_code == 422 and "Write a message first." in text(r) and "<textarea" in text(r)
    page = me.get(f"/c/{direct['id']}/m/{message['seq']}/edit")  # without JavaScript: a page with the form
    assert "<html" in text(page) and "Edit message" in text(page)
    r = me.post(f"/c/{direct['id']}/m/{message['seq']}/edit", {"body": "Hello!"})
    assert r.status_code == 303 and r.location.endswith(f"#message-{message['id']}")


def test_delete_your_own_message_leaves_a_tombstone(web_as, alice, bob, direct):
    message = say(alice, direct, "oops")
    me = web_as(alice)
    assert "Delete this message?" in text(me.get(f"/c/{direct['id']}/m/{message['seq']}/delete"))
    r = me.post(f"/c/{direct['id']}/m/{message['seq']}/delete", htmx=True)
    assert r.status_code == 200 and "This message was deleted." in text(r) and "oops" not in text(r)
    page = text(web_as(bob).get(f"/c/{direct['id']}"))
    assert "This message was deleted." in page and "oops" not in page
    assert me.get(f"/c/{direct['id']}/m/{message['seq']}/edit").status_code == 409


def test_you_cannot_edit_or_delete_someone_elses_message(web_as, alice, bob, direct):
    message = say(bob, direct, "mine, not yours")
    me = web_as(alice)
    assert me.get(f"/c/{direct['id']}/m/{message['seq']}/edit").status_code == 403
    assert me.post(f"/c/{direct['id']}/m/{message['seq']}/edit", {"body": "hacked"}).status_code == 403
    assert me.post(f"/c/{direct['id']}/m/{message['seq']}/delete").status_code == 403
    assert history.page_messages(bob["id"], direct["id"])["messages"][0]["body"] == "mine, not yours"


def test_a_message_partial_is_the_same_for_every_viewer_and_the_stream(app, web_as, alice, bob, carol):
    group = conversations.create_group(alice["id"], "book-club", [bob["id"], carol["id"]])
    message = say(carol, group, "Same for all of us https://example.com/x")
    dom_id = f"message-{message['id']}"
    pages = [text(web_as(user).get(f"/c/{group['id']}")) for user in (alice, bob, carol)]
    partials = [fragment(page, dom_id) for page in pages]
    assert partials[0] == partials[1] == partials[2]
    assert "csrf" not in partials[0]
    streamed = list(live.renderer_for(bob["id"])({"id": "e:1-0", "type": "message.created", "data": message}))
    assert streamed == [("message", partials[0])]
    streamed = streamed[0][1]
    assert '<a href="https://example.com/x" target="_blank" rel="noopener noreferrer nofollow">' in streamed


def test_the_post_response_is_byte_identical_to_the_stream_fragment(app, web_as, alice, bob, direct):
    """One render path: what the sender's POST gets back is exactly what every stream sends for it."""
    me = web_as(alice)
    r = me.post(f"/c/{direct['id']}/messages", {"body": "one path <b>only</b>", "client_id": "c-1"}, htmx=True)
    assert r.status_code == 201
    message = history.page_messages(alice["id"], direct["id"])["messages"][-1]
    live.fragments._items.clear()  # render afresh, as another process would
    [(name, streamed)] = live.renderer_for(bob["id"])({"id": "e:1-0", "type": "message.created", "data": message})
    assert name == "message" and text(r) == streamed
    assert f'href="/c/{direct["id"]}/m/{message["seq"]}/edit"' in streamed
    edited = me.post(f"/c/{direct['id']}/m/{message['seq']}/edit", {"body": "changed"}, htmx=True)
    message = history.page_messages(alice["id"], direct["id"])["messages"][-1]
    live.fragments._items.clear()
    [(_, streamed)] = live.renderer_for(bob["id"])({"id": "e:2-0", "type": "message.updated", "data": message})
    assert text(edited) == streamed and "changed" in streamed


def test_the_pending_bubble_is_the_message_partial_in_a_template(web_as, alice, direct, app):
    page = text(web_as(alice).get(f"/c/{direct['id']}"))
    start = page.index("<template data-pending-template>")
    template = page[start:page.index("</template>", start)]
    assert 'class="msg msg--text"' in template and f'data-sender-id="{alice["id"]}"' in template
    assert "data-retry" in template and "data-cancel" in template and "msg__actions" not in template
    assert f'data-max-upload-bytes="{app.config["MAX_UPLOAD_BYTES"]}"' in page


def test_the_page_knows_when_each_member_joined_so_seen_counts_only_those_there(web_as, alice, dave, book_club):
    """UX U5: "Seen by everyone" must not count someone added after the message was sent."""
    sent = say(alice, book_club, "Chapter 7?")
    members.add_member(alice["id"], book_club["id"], dave["id"])
    conversation = inbox.get_conversation(alice["id"], book_club["id"])
    joined = {m["id"]: m["joined_at"] for m in conversation["members"]}
    assert joined[dave["id"]] > sent["created_at"] >= joined[alice["id"]]
    page = text(web_as(alice).get(f"/c/{book_club['id']}"))
    attribute = re.search(r"data-joined='([^']*)'", page).group(1)
    assert json.loads(html.unescape(attribute)) == joined
    assert f'data-created-at="{sent["created_at"]}"' in page
