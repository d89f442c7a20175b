"""The UI's live stream: ``GET /events`` and what ``chat.web.live`` renders for each event."""
import json

import pytest

from chat.actions import conversations, inbox, messages
from chat.web import live

from .web_support import text, web_as_fixture, web_fixture  # noqa: F401  (fixtures)


def render(app, user, event):
    with app.test_request_context("/events"):
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
    assert "message deleted" in html and "hello everyone" not in html


def test_a_conversation_update_is_an_out_of_band_row_with_the_unread_badge(app, alice, bob, direct):
    messages.send_message(alice["id"], direct["id"], "ping")
    view = inbox.get_conversation(bob["id"], direct["id"])
    [(name, html)] = render(app, bob, {"id": "e:1-0", "type": "conversation.updated", "data": view})
    assert name == "conversation"
    assert 'hx-swap-oob="afterbegin:#conversation-list"' in html
    assert f'id="conversation-{direct["id"]}"' in html and 'data-unread="1"' in html and "ping" in html
    assert "Alice" in html  # the row is titled for bob, the viewer: the other person


def test_being_added_to_a_group_brings_its_row_and_leaving_removes_it(app, alice, bob):
    group = conversations.create_group(alice["id"], "book-club", [bob["id"]])
    event = {"id": "e:1-0", "type": "member.added",
             "data": {"conversation_id": group["id"], "user_id": bob["id"], "by": alice["id"]}}
    pairs = render(app, bob, event)
    assert [name for name, _ in pairs] == ["conversation", "member"]
    assert "book-club" in pairs[0][1]
    from chat.actions import members
    members.remove_member(bob["id"], group["id"], bob["id"])
    event = {"id": "e:2-0", "type": "member.removed",
             "data": {"conversation_id": group["id"], "user_id": bob["id"], "by": bob["id"]}}
    pairs = render(app, bob, event)
    assert pairs[0] == ("conversation", f'<li id="conversation-{group["id"]}" hx-swap-oob="delete"></li>')
    assert json.loads(pairs[1][1])["type"] == "member.removed"


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
