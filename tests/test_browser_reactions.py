"""Reactions and formatting in Chromium: one person reacts from the picker, the other sees it live."""
import pytest

from .browser_support import api, sign_in, sign_up, wait_for_stream, wait_for_target

pytestmark = pytest.mark.browser


def test_react_from_the_picker_and_see_it_live(server, new_page):
    alice, bob = sign_up(server, "ada", "Ada Lovelace"), sign_up(server, "bea", "Bea Smith")
    a_api = api(server, alice)
    cid = a_api.post(a_api.base + "/conversations/direct", json={"user_id": bob["id"]}).json()["id"]
    a_api.post(a_api.base + f"/conversations/{cid}/messages", json={"body": "**bold** news"})
    a, b = new_page(), new_page()
    sign_in(a, server, alice)
    sign_in(b, server, bob)
    a.goto(server.url + f"/c/{cid}")
    b.goto(server.url + f"/c/{cid}")
    wait_for_stream(a)
    wait_for_stream(b)
    message = b.locator(".msg", has_text="bold news")
    assert message.locator(".msg__body strong").inner_text() == "bold"
    message.hover()
    message.get_by_label("React to message").click()
    message.get_by_label("React with 🎉").click()
    b.locator(".msg .reaction", has_text="🎉").wait_for()
    live = a.locator(".msg .reaction", has_text="🎉")
    live.wait_for()  # alice's tab, without a reload
    assert "Bea Smith" in live.get_attribute("title")
    assert live.locator(".reaction__count").inner_text() == "1"


def test_reply_from_the_page_and_jump_back_two_thousand_messages(server, new_page):
    alice, bob = sign_up(server, "cyd", "Cyd Charisse"), sign_up(server, "dot", "Dot Parker")
    from chat.actions import conversations, messages
    with server.actions():
        direct, _ = conversations.open_direct(alice["id"], bob["id"])
        original = messages.send_message(alice["id"], direct["id"], "the very first thing")[0]
        for n in range(2000):
            messages.send_message(alice["id"], direct["id"], f"filler {n}")
        messages.send_message(alice["id"], direct["id"], "recent one")
    b = new_page()
    sign_in(b, server, bob)
    b.goto(server.url + f"/c/{direct['id']}?latest=1")  # not the first unread message, 2,002 back
    wait_for_stream(b)
    recent = b.locator(".msg", has_text="recent one")
    recent.hover()
    recent.get_by_label("Reply to message").click()
    composer = b.get_by_label("Message", exact=True)
    assert b.locator("[data-reply-excerpt]").inner_text() == "recent one"
    composer.fill("answering that")
    composer.press("Enter")
    sent = b.locator(".msg:not(.msg--pending)", has_text="answering that")
    sent.locator(".msg__quote", has_text="recent one").wait_for()
    assert b.locator("[data-reply-chip]").is_hidden()

    with server.actions():
        messages.send_message(bob["id"], direct["id"], "about your first", reply_to_id=original["id"])
    b.goto(server.url + f"/c/{direct['id']}?latest=1")
    b.locator(".msg", has_text="about your first").locator(".msg__quote").click()
    target = b.locator(f"#message-{original['id']}")
    target.wait_for()
    assert "the very first thing" in target.inner_text()
    wait_for_target(b, f"message-{original['id']}")
