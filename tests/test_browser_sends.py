"""Sends that keep their order and survive, and a page that does what the server says (real Chromium).

The server is the app as people run it (browser_support.LiveServer); the network between them is slowed,
cut or held with Playwright's request routing.
"""
import json
import random
import time

import pytest

from .browser_support import api, sign_in, sign_up, wait_for_stream

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def people(server):
    return {name: sign_up(server, name, full) for name, full in
            [("alice", "Alice Liddell"), ("bob", "Bob Builder"), ("carol", "Carol Danvers")]}


def _direct(server, one, other):
    from chat.actions import conversations
    with server.actions():
        return conversations.open_direct(one["id"], other["id"])[0]


def _stored(server, user, conversation):
    from chat.actions import history
    with server.actions():
        return [m["body"] for m in history.page_messages(user["id"], conversation["id"], limit=100)["messages"]]


def _open_chat(new_page, server, user, conversation):
    page = new_page()
    sign_in(page, server, user)
    page.goto(server.url + f"/c/{conversation['id']}")
    wait_for_stream(page)
    return page, page.get_by_label("Message", exact=True)


def _abort_sends(route):
    if route.request.method == "POST":
        route.abort()
    else:
        route.continue_()


def _unsent(page):
    """What the page keeps in localStorage as not yet sent."""
    return page.evaluate(
        "() => JSON.parse(localStorage.getItem('chat:unsent:' + document.body.dataset.userId) || '[]')")


def _errors(page):
    """Console errors of the page's own making (a refused connection's network line is the browser's)."""
    found = []
    page.on("console", lambda m: found.append(m.text) if m.type == "error" and
            not m.text.startswith("Failed to load resource") else None)
    return found


def test_a_fast_burst_on_a_slow_network_is_stored_in_typed_order(server, people, new_page):
    """15 messages typed fast while each POST is held 50 to 300 ms and answered in random order: the browser
    sends them one after another, so the server stores them as typed and everyone sees that order."""
    alice, bob = people["alice"], people["bob"]
    conversation = _direct(server, alice, bob)
    page, composer = _open_chat(new_page, server, alice, conversation)
    rng = random.Random(8)
    held, most_at_once = [], 0

    def hold(route):
        nonlocal most_at_once
        if route.request.method != "POST":
            return route.continue_()
        held.append(route)
        most_at_once = max(most_at_once, len(held))

    def release_one():
        page.wait_for_timeout(rng.randint(50, 300))
        if held:
            held.pop(rng.randrange(len(held))).continue_()

    page.route("**/c/*/messages", hold)
    typed = [f"burst {n:02d}" for n in range(15)]
    for n, text in enumerate(typed):
        composer.fill(text)
        composer.press("Enter")
        if n % 4 == 3:
            release_one()
    deadline = time.monotonic() + 40
    while (held or page.locator(".msg--pending").count()) and time.monotonic() < deadline:
        release_one()
    assert page.locator(".msg--pending").count() == 0
    assert most_at_once == 1  # one conversation's sends never overlap
    assert _stored(server, alice, conversation) == typed
    assert page.locator(".messages .msg__body").all_inner_texts() == typed
    other, _ = _open_chat(new_page, server, bob, conversation)
    assert other.locator(".messages .msg__body").all_inner_texts() == typed
    assert _unsent(page) == []


def test_an_unsent_message_survives_a_reload_and_goes_once_when_online(server, people, new_page):
    alice, carol = people["alice"], people["carol"]
    conversation = _direct(server, alice, carol)
    page, composer = _open_chat(new_page, server, alice, conversation)
    page.route("**/c/*/messages", _abort_sends)
    composer.fill("sent while offline")
    composer.press("Enter")
    page.locator(".msg--failed", has_text="sent while offline").get_by_role("button", name="Retry").wait_for()
    assert [item["body"] for item in _unsent(page)] == ["sent while offline"]

    page.reload()
    wait_for_stream(page)
    bubble = page.locator("[data-pending-client-id]", has_text="sent while offline")
    bubble.wait_for()  # shown as pending after the reload; its resend meets the same dead network
    page.locator(".msg--failed", has_text="sent while offline").wait_for()
    assert _stored(server, alice, conversation) == []

    page.unroute("**/c/*/messages")
    page.context.set_offline(True)
    page.context.set_offline(False)  # the browser says it is back online: the message goes by itself
    page.locator(".msg:not(.msg--pending):not(.msg--failed)", has_text="sent while offline").wait_for(timeout=20_000)
    page.locator("#connection-banner").wait_for(state="hidden", timeout=20_000)
    time.sleep(1)  # a second send (from the reconnect as well as from "online") would be stored by now
    assert _stored(server, alice, conversation) == ["sent while offline"]
    assert page.locator(".messages .msg__body", has_text="sent while offline").count() == 1
    assert _unsent(page) == []


def test_cancel_removes_an_unsent_message_for_good(server, people, new_page):
    bob, carol = people["bob"], people["carol"]
    conversation = _direct(server, bob, carol)
    page, composer = _open_chat(new_page, server, bob, conversation)
    page.route("**/c/*/messages", _abort_sends)
    composer.fill("changed my mind")
    composer.press("Enter")
    failed = page.locator(".msg--failed", has_text="changed my mind")
    failed.get_by_role("button", name="Cancel").click()
    failed.wait_for(state="detached")
    assert _unsent(page) == []
    page.unroute("**/c/*/messages")
    page.reload()
    wait_for_stream(page)
    time.sleep(1)
    assert page.locator(".msg", has_text="changed my mind").count() == 0
    assert _stored(server, bob, conversation) == []


def test_a_file_over_the_limit_is_refused_before_uploading(server, people, new_page, tmp_path):
    alice, bob = people["alice"], people["bob"]
    conversation = _direct(server, alice, bob)
    page, _composer = _open_chat(new_page, server, alice, conversation)
    big = tmp_path / "big.zip"
    big.write_bytes(b"\0" * (10 * 1024 * 1024 + 300 * 1024))
    uploads = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "POST" and
            ("/messages" in r.url or "/attachments" in r.url) else None)
    page.locator("[data-file-input]").set_input_files(str(big))
    chip = page.locator("[data-attachment-chip]")
    assert chip.get_attribute("data-state") == "refused"
    assert chip.locator("[data-chip-status]").inner_text() == "This file is 10.3 MB; the limit is 10 MB."
    assert chip.locator("[data-chip-retry]").is_hidden() and uploads == []
    chip.get_by_role("button", name="Remove big.zip").click()
    assert page.locator("[data-file-tray]").is_hidden()


def test_a_new_conversation_row_comes_to_the_top_from_the_server(server, people, new_page):
    """The stream's out-of-band row goes to the top of the list; no row is fetched "in case"."""
    alice, bob = people["alice"], people["bob"]
    older = _direct(server, alice, bob)
    api(server, bob).post(server.url + f"/api/v1/conversations/{older['id']}/messages", json={"body": "older"})
    dave = sign_up(server, "dave", "Dave Grohl")
    page = new_page()
    errors = _errors(page)
    sign_in(page, server, alice)
    wait_for_stream(page)
    dave_api = api(server, dave)
    fresh = dave_api.post(dave_api.base + "/conversations/direct", json={"user_id": alice["id"]}).json()
    dave_api.post(dave_api.base + f"/conversations/{fresh['id']}/messages", json={"body": "hi, I am new here"})
    top = page.locator("#conversation-list > .conv-row").first
    top.filter(has_text="hi, I am new here").wait_for()
    assert top.get_attribute("id") == f"conversation-{fresh['id']}"
    assert top.locator(".badge").inner_text().startswith("1")

    api(server, bob).post(server.url + f"/api/v1/conversations/{older['id']}/messages", json={"body": "me again"})
    top.filter(has_text="me again").wait_for()  # an existing row moves up, and is not there twice
    assert page.locator(f"#conversation-list > #conversation-{older['id']}").count() == 1
    assert page.locator(f"#conversation-list > #conversation-{fresh['id']}").count() == 1
    ids = page.locator("#conversation-list > .conv-row").evaluate_all("rows => rows.map(r => r.id)")
    assert ids[:2] == [f"conversation-{older['id']}", f"conversation-{fresh['id']}"]
    time.sleep(1)
    assert "/row " not in server.log_path.read_text()  # no refetch of a row "in case"
    assert errors == []


def test_a_rename_and_a_removal_reach_the_open_chat_header(server, people, new_page):
    from chat.actions import conversations
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    with server.actions():
        group = conversations.create_group(alice["id"], "book-club 📚", [bob["id"], carol["id"]])
    page, _composer = _open_chat(new_page, server, bob, group)
    errors = _errors(page)
    assert page.locator(".chat__title h1").inner_text() == "book-club 📚"
    alice_api = api(server, alice)
    alice_api.patch(alice_api.base + f"/conversations/{group['id']}", json={"name": "Book Club (renamed)"})
    page.locator(".chat__title h1", has_text="Book Club (renamed)").wait_for()
    page.wait_for_function("() => document.title.includes('Book Club (renamed) · Chat')")
    page.locator("#conversation-list .conv-row", has_text="Book Club (renamed)").wait_for()

    alice_api.delete(alice_api.base + f"/conversations/{group['id']}/members/{carol['id']}")
    page.locator(".chat__subtitle", has_text="2 members").wait_for()
    alice_api.delete(alice_api.base + f"/conversations/{group['id']}/members/{bob['id']}")
    page.locator(".chat__subtitle", has_text="You are no longer a member").wait_for()
    page.get_by_text("You are no longer a member of this conversation.").wait_for()
    assert page.locator("form[data-composer]").count() == 0
    assert page.get_by_role("link", name="Members & settings").count() == 0
    assert page.locator(f"#conversation-{group['id']}").count() == 0
    assert errors == []


def test_a_reconnect_is_quiet_and_the_banner_covers_nothing(server, people, new_page):
    alice, bob = people["alice"], people["bob"]
    conversation = _direct(server, alice, bob)
    for viewport in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
        page = new_page(viewport=viewport)
        errors = _errors(page)
        sign_in(page, server, alice)
        page.goto(server.url + f"/c/{conversation['id']}")
        wait_for_stream(page)
        page.route("**/events*", lambda route: route.abort())
        page.evaluate("() => window.ChatLive.cut()")
        banner = page.locator("#connection-banner")
        banner.wait_for(state="visible")
        page.wait_for_timeout(2500)  # a few reconnection attempts
        header = page.locator(".chat__header").bounding_box()
        box = banner.bounding_box()
        assert box["y"] + box["height"] <= header["y"] + 0.5, (box, header)
        assert page.locator(".chat__title h1").is_visible()
        page.unroute("**/events*")
        banner.wait_for(state="hidden", timeout=20_000)
        assert errors == [], json.dumps(errors)


def test_sending_from_an_older_page_marks_the_gap(server, people, new_page):
    """On /c/<id>?before=N a sent message does not look as if it followed the old ones directly."""
    from chat.actions import conversations, messages
    alice, carol = people["alice"], people["carol"]
    with server.actions():
        group = conversations.create_group(carol["id"], "Old times", [alice["id"]])
        for n in range(1, 61):
            messages.send_message(carol["id"], group["id"], f"Old news {n}")
    page = new_page()
    sign_in(page, server, alice)
    page.goto(server.url + f"/c/{group['id']}?before=20")
    wait_for_stream(page)
    composer = page.get_by_label("Message", exact=True)
    composer.fill("back to the present")
    composer.press("Enter")
    sent = page.locator(".msg:not(.msg--pending)", has_text="back to the present")
    sent.wait_for()
    order = page.locator(".messages > li").evaluate_all(
        "items => items.map(li => li.classList.contains('history-gap') ? 'gap'"
        " : (li.querySelector('.msg__body') || {}).textContent)")
    order = [item for item in order if item]
    assert order[-3:] == ["Old news 19", "gap", "back to the present"]
    page.locator(".history-gap").get_by_role("link").click()
    page.wait_for_url(server.url + f"/c/{group['id']}?latest=1")
    assert page.locator(".messages .msg__body").last.inner_text() == "back to the present"
