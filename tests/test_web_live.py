"""The UI's live stream: ``GET /events`` and what ``chat.web.live`` renders for each event.

The stream renders without a request (an app context only), so these tests do too.
"""
import json
from pathlib import Path

import pytest

from chat.actions import conversations, inbox, messages
from chat.web import live

from .web_support import text, web_as_fixture, web_fixture  # noqa: F401  (fixtures)


def render(app, user, event):
    with app.app_context():
        return list(live.renderer_for(user["id"])(event))


def test_a_message_event_is_the_message_partial_rendered_once_per_version(app, alice, bob, carol):
    group = conversations.create_group(alice["id"], "book-club", [bob["id"], carol["id"]])
    message = messages.send_message(alice["id"], group["id"], "hello all")[0]
    before = live.fragments.renders
    outputs = [render(app, user, {"id": f"e:{n}-0", "type": "message.created", "data": message})
               for n, user in enumerate((alice, bob, carol))]
    assert outputs[0] == outputs[1] == outputs[2]
    [(name, html)] = outputs[0]
    assert name == "message" and f'id="message-{message["id"]}"' in html and "hello all" in html
    assert live.fragments.renders == before + 1
    edited = messages.edit_message(alice["id"], message["id"], "hello everyone")
    [(_, html)] = render(app, bob, {"id": "e:9-0", "type": "message.updated", "data": edited})
    assert "hello everyone" in html and "edited" in html and live.fragments.renders == before + 2
    deleted = messages.delete_message(alice["id"], message["id"])
    [(_, html)] = render(app, bob, {"id": "e:10-0", "type": "message.deleted", "data": deleted})
    assert "This message was deleted." in html and "hello everyone" not in html


def test_a_conversation_update_is_an_out_of_band_row_with_the_unread_badge(app, alice, bob, direct):
    messages.send_message(alice["id"], direct["id"], "ping")
    view = inbox.get_conversation(bob["id"], direct["id"])
    [(header_event, header), (name, html)] = render(app, bob, {"id": "e:1-0", "type": "conversation.updated",
                                                               "data": view})
    assert header_event == f"chat-{direct['id']}" and "<title>Alice · Chat</title>" in header
    assert name == "conversation"
    assert 'hx-swap-oob="afterbegin:#conversation-list"' in html
    assert f'href="/c/{direct["id"]}"' in html
    assert f'id="conversation-{direct["id"]}"' in html and 'data-unread="1"' in html and "ping" in html
    assert "Alice" in html  # the row is titled for bob, the viewer: the other person


def test_being_added_to_a_group_brings_its_row_and_leaving_removes_it(app, alice, bob):
    group = conversations.create_group(alice["id"], "book-club", [bob["id"]])
    event = {"id": "e:1-0", "type": "member.added",
             "data": {"conversation_id": group["id"], "user_id": bob["id"], "by": alice["id"]}}
    pairs = render(app, bob, event)
    assert [name for name, _ in pairs] == [f"chat-{group['id']}", "conversation", "member"]
    assert "book-club" in pairs[1][1]
    from chat.actions import members
    members.remove_member(bob["id"], group["id"], bob["id"])
    event = {"id": "e:2-0", "type": "member.removed",
             "data": {"conversation_id": group["id"], "user_id": bob["id"], "by": bob["id"]}}
    pairs = render(app, bob, event)
    assert pairs[0][0] == f"chat-{group['id']}"
    assert "You are no longer a member" in pairs[0][1] and f'id="chat-settings-{group["id"]}"' in pairs[0][1]
    assert f'id="composer-form-{group["id"]}" hx-swap-oob="true"' in pairs[0][1]
    assert pairs[1] == ("conversation", f'<li id="conversation-{group["id"]}" hx-swap-oob="delete"></li>')
    assert json.loads(pairs[2][1])["type"] == "member.removed"


@pytest.mark.parametrize("kind, data", [
    ("read", {"conversation_id": "c", "user_id": "u", "seq": 3}),
    ("typing", {"conversation_id": "c", "user_id": "u"}),
    ("presence", {"user_id": "u", "status": "online"}),
])
def test_small_events_are_json_for_the_script(app, alice, kind, data):
    assert render(app, alice, {"id": None, "type": kind, "data": data}) == [(kind, json.dumps(data))]


def test_reset_asks_the_page_to_catch_up(app, alice):
    assert render(app, alice, {"id": "e:0-0", "type": "reset", "data": {}}) == [("reset", "{}")]


def test_the_stream_carries_rendered_fragments(app, web_as, alice, bob, direct):
    pytest.importorskip("chat.delivery.stream")
    response = web_as(bob).client.get("/events", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    chunks = response.response
    seen = next(chunks).decode()
    assert seen.startswith("retry:")
    message = messages.send_message(alice["id"], direct["id"], "live <b>hello</b>")[0]
    for _ in range(10):
        seen += next(chunks).decode()
        if "event: conversation" in seen:
            break
    response.close()
    assert "event: message\n" in seen and f'id="message-{message["id"]}"' in seen
    assert "live &lt;b&gt;hello&lt;/b&gt;" in seen
    assert "event: conversation\n" in seen and 'data-unread="1"' in seen


def test_a_rename_reaches_the_open_chats_header_and_tab_title(app, alice, bob, carol):
    from chat.actions import members
    group = conversations.create_group(alice["id"], "book-club", [bob["id"], carol["id"]])
    conversations.rename_group(alice["id"], group["id"], "Book Club (renamed)")
    view = inbox.get_conversation(bob["id"], group["id"])
    [(event, header), _row] = render(app, bob, {"id": "e:1-0", "type": "conversation.updated", "data": view})
    assert event == f"chat-{group['id']}"
    assert "<title>Book Club (renamed) · Chat</title>" in header
    assert f'<span id="chat-name-{group["id"]}" hx-swap-oob="true">Book Club (renamed)</span>' in header
    assert "3 members" in header and f'href="/c/{group["id"]}/settings"' in header
    members.remove_member(alice["id"], group["id"], carol["id"])
    view = inbox.get_conversation(bob["id"], group["id"])
    [(_, header), _row] = render(app, bob, {"id": "e:2-0", "type": "conversation.updated", "data": view})
    assert "2 members" in header and "3 members" not in header


def test_the_chat_page_listens_for_its_own_header_event(app, web_as, alice, bob, carol):
    group = conversations.create_group(alice["id"], "book-club", [bob["id"], carol["id"]])
    page = text(web_as(bob).get(f"/c/{group['id']}"))
    assert f'sse-swap="chat-{group["id"]}" hx-swap="none"' in page
    assert f'<span id="chat-name-{group["id"]}">book-club</span>' in page
    panel = text(web_as(bob).get(f"/c/{group['id']}", htmx=True, headers={"HX-Target": "side-panel"}))
    assert f'sse-swap="chat-{group["id"]}" hx-swap="none ignoreTitle:true"' in panel  # the tab stays the profile's


def test_nothing_renders_through_a_fake_request():
    """Fragments are rendered in an app context: no code under chat/ borrows Flask's testing request."""
    root = Path(__file__).resolve().parent.parent / "chat"
    users = [str(path) for path in root.rglob("*.py") if "test_request_context" in path.read_text()]
    assert users == []


def test_a_stream_sends_a_header_only_when_it_changed(app, alice, bob, direct):
    render_for_bob = live.renderer_for(bob["id"])
    messages.send_message(alice["id"], direct["id"], "one")
    view = inbox.get_conversation(bob["id"], direct["id"])
    with app.app_context():
        first = [name for name, _ in render_for_bob({"id": "e:1-0", "type": "conversation.updated", "data": view})]
        messages.send_message(alice["id"], direct["id"], "two")
        view = inbox.get_conversation(bob["id"], direct["id"])
        second = [name for name, _ in render_for_bob({"id": "e:2-0", "type": "conversation.updated", "data": view})]
    assert first == [f"chat-{direct['id']}", "conversation"] and second == ["conversation"]


def test_links_in_stream_fragments_follow_the_app_root(app, alice, bob, direct):
    """Mounted under a prefix, fragments made without a request link under it, as url_for does in one."""
    from chat.web import helpers
    message = messages.send_message(alice["id"], direct["id"], "prefixed")[0]
    app.config["APPLICATION_ROOT"] = "/chat"
    helpers.bind_paths(app)
    live.fragments._items.clear()
    try:
        [(_, html)] = render(app, bob, {"id": "e:1-0", "type": "message.created", "data": message})
        with app.test_request_context("/", base_url="http://localhost/chat"):
            from flask import url_for
            expected = url_for("web.edit", conversation_id=direct["id"], seq=message["seq"])
    finally:
        app.config["APPLICATION_ROOT"] = "/"
        helpers.bind_paths(app)
        live.fragments._items.clear()
    assert expected.startswith("/chat/") and f'href="{expected}"' in html
