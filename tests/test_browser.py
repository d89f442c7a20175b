"""The UI in a real browser (Debian's Chromium via Playwright) against a real server in a subprocess."""
import os
import re
import shutil
import time

import pytest

from .browser_support import DESKTOP, PHONE, ROOT, SCREENSHOTS, api, screenshot, sign_in, sign_up, wait_for_stream

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def people(server):
    return {name: sign_up(server, name, full) for name, full in
            [("alice", "Alice Liddell"), ("bob", "Bob Builder"), ("carol", "Carol Danvers")]}


def test_two_people_chat_live(server, people, new_page):
    """alice opens bob's card and presses Message; bob sees the badge rise live (in both his tabs), opens,
    types and replies; alice sees "… is typing", the reply and "Seen" without a reload."""
    alice, bob = people["alice"], people["bob"]
    a, b = new_page(), new_page()
    sign_in(a, server, alice)
    sign_in(b, server, bob)
    b2 = b.context.new_page()  # bob's second tab
    b2.goto(server.url + "/")
    wait_for_stream(b)
    wait_for_stream(b2)

    a.goto(server.url + "/u/bob")
    wait_for_stream(a)
    a.get_by_role("button", name="Message").click()
    panel = a.locator(".side-panel.is-open")
    composer = panel.get_by_label("Message", exact=True)
    composer.wait_for()
    a.wait_for_function("() => document.querySelector('.side-panel').getBoundingClientRect().width > 300")
    width = panel.bounding_box()["width"]
    assert width >= 400, width  # the conversation gets the room beside the card
    assert a.url == server.url + "/u/bob"  # no page load
    composer.fill("Hi Bob! Are you there?")
    composer.press("Enter")
    mine = panel.locator(".msg", has_text="Hi Bob! Are you there?")
    mine.wait_for()
    a.wait_for_function("() => !document.querySelector('.side-panel .msg--pending')")
    assert mine.count() == 1

    for tab in (b, b2):
        tab.locator("#conversation-list .conv-row", has_text="Alice Liddell").locator(".badge", has_text="1").wait_for()
        assert tab.locator("#unread-total").inner_text() == "1"
    b.locator("#conversation-list .conv-row", has_text="Alice Liddell").locator("a").click()
    b.wait_for_url(re.compile(r"/c/"))
    b.locator(".msg__body", has_text="Hi Bob! Are you there?").wait_for()
    assert b.locator("#conversation-list .conv-row", has_text="Alice Liddell").locator(".badge").is_hidden()
    b2.locator("#conversation-list .conv-row", has_text="Alice Liddell").locator(".badge").wait_for(state="hidden")
    assert b2.locator("#unread-total").is_hidden()  # read in one tab, read in every tab

    wait_for_stream(b)
    reply = b.get_by_label("Message", exact=True)
    reply.press_sequentially("Yes!")
    panel.locator("[data-typing]", has_text="Bob Builder is typing…").wait_for()
    reply.fill("Yes! Line one")
    reply.press("Shift+Enter")
    reply.press_sequentially("line two")
    reply.press("Enter")

    panel.locator(".msg__body", has_text="Yes! Line one").wait_for()
    panel.locator(".receipt", has_text="Seen").wait_for()
    assert panel.locator(".msg__body", has_text="Yes! Line one").inner_text() == "Yes! Line one\nline two"
    assert panel.locator(".msg").count() == 2
    assert panel.locator("[data-typing]").is_hidden()
    a.wait_for_function(  # new messages are announced in the polite live region
        "() => document.getElementById('announcer').textContent.includes('Bob Builder: Yes! Line one')")
    assert a.url == server.url + "/u/bob"
    screenshot(a, "live-alice-desktop")
    screenshot(b, "live-bob-desktop")


def test_a_failed_send_retries_and_is_never_stored_twice(server, people, new_page):
    """A send whose answer is lost shows "failed" with Retry; retrying reuses the client id, so the server
    answers with the message it already stored, and the replayed stream event replaces it, too."""
    from chat.actions import conversations, history
    alice, frank = people["alice"], sign_up(server, "frank", "Frank Ocean")
    with server.actions():
        conversation, _ = conversations.open_direct(alice["id"], frank["id"])
    page = new_page()
    sign_in(page, server, alice)
    page.goto(server.url + f"/c/{conversation['id']}")
    wait_for_stream(page)
    composer = page.get_by_label("Message", exact=True)

    page.route("**/c/*/messages", lambda route: route.abort() if route.request.method == "POST" else route.continue_())
    composer.fill("never reached the server")
    composer.press("Enter")
    failed = page.locator(".msg--failed", has_text="never reached the server")
    failed.get_by_role("button", name="Retry").wait_for()
    page.unroute("**/c/*/messages")
    failed.get_by_role("button", name="Retry").click()
    page.locator(".msg:not(.msg--failed):not(.msg--pending)", has_text="never reached the server").wait_for()

    page.route("**/events*", lambda route: route.abort())  # no live stream to rescue the next one
    page.evaluate("() => window.ChatLive.cut()")

    def store_then_lose_answer(route):
        if route.request.method != "POST":
            return route.continue_()
        route.fetch()  # the server stores the message…
        route.abort()  # …and the answer is lost on the way back

    page.route("**/c/*/messages", store_then_lose_answer)
    composer.fill("stored, answer lost")
    composer.press("Enter")
    failed = page.locator(".msg--failed", has_text="stored, answer lost")
    failed.get_by_role("button", name="Retry").wait_for()
    page.unroute("**/c/*/messages")
    failed.get_by_role("button", name="Retry").click()
    page.locator(".msg:not(.msg--failed):not(.msg--pending)", has_text="stored, answer lost").wait_for()
    page.unroute("**/events*")
    page.locator("#connection-banner").wait_for(state="hidden", timeout=20_000)
    time.sleep(0.5)
    texts = page.locator(".messages .msg__body").all_inner_texts()
    assert texts == ["never reached the server", "stored, answer lost"]
    with server.actions():
        stored = [m["body"] for m in history.page_messages(alice["id"], conversation["id"])["messages"]]
    assert stored == ["never reached the server", "stored, answer lost"]


def test_edits_deletions_and_pictures_reach_the_other_side_live(server, people, new_page, tmp_path):
    from chat.actions import conversations
    alice, carol = people["alice"], people["carol"]
    with server.actions():
        group = conversations.create_group(alice["id"], "Pictures", [carol["id"]])
    a, c = new_page(), new_page()
    sign_in(a, server, alice)
    sign_in(c, server, carol)
    for page in (a, c):
        page.goto(server.url + f"/c/{group['id']}")
        wait_for_stream(page)
    picture = tmp_path / "dot.png"
    _picture().save(str(picture))
    a.locator("[data-file-input]").set_input_files(str(picture))
    composer = a.get_by_label("Message", exact=True)
    composer.fill("A picture")
    composer.press("Enter")
    image = c.locator(".msg", has_text="A picture").locator(".attachment--image img")
    image.wait_for()  # then it loads: the element arrives before its picture does
    c.wait_for_function("(img) => img.complete && img.naturalWidth === 480", arg=image.element_handle())

    composer.fill("Helo everyone")
    composer.press("Enter")
    message = a.locator(".msg:not(.msg--pending)", has_text="Helo everyone")
    message.wait_for()
    c.locator(".msg", has_text="Helo everyone").wait_for()
    message.hover()
    message.get_by_role("link", name="Edit message").click()
    editor = a.get_by_label("Edit your message")
    editor.fill("Hello everyone")
    editor.press("Enter")
    c.locator(".msg", has_text="Hello everyone").locator(".msg__edited").wait_for()
    a.locator(".msg", has_text="Hello everyone").hover()
    a.locator(".msg", has_text="Hello everyone").get_by_role("link", name="Delete message").click()
    c.locator(".msg__tombstone", has_text="This message was deleted.").wait_for()
    assert c.locator(".msg__body", has_text="Hello everyone").count() == 0
    assert c.locator(".msg").count() == 2


def test_loading_older_messages_reaches_the_first_in_order(server, people, new_page):
    """300 messages: scrolling up loads pages (keyset) until the first message; order kept, none repeated,
    the message being read stays where it was."""
    from chat.actions import conversations, messages
    alice, carol = people["alice"], people["carol"]
    with server.actions():
        conversation, _ = conversations.open_direct(carol["id"], alice["id"])
        for n in range(1, 301):
            messages.send_message(carol["id"] if n % 3 else alice["id"], conversation["id"], f"Message {n}")
    page = new_page()
    sign_in(page, server, carol)
    page.goto(server.url + f"/c/{conversation['id']}")
    wait_for_stream(page)
    bodies = page.locator(".messages .msg__body")
    assert bodies.count() == 50
    assert bodies.last.inner_text() == "Message 300"
    for _ in range(12):
        if page.locator(".history-start").count():
            break
        first_id, before = page.locator(".messages").evaluate(
            "list => { list.scrollTop = 0; const m = list.querySelector('.msg');"
            " return [m.id, m.getBoundingClientRect().top]; }")
        page.wait_for_function(f"() => document.querySelector('.messages .msg').id !== '{first_id}'")
        page.wait_for_function("() => !document.querySelector('.messages').dataset.anchor")
        after = page.locator(f"#{first_id}").bounding_box()["y"]
        assert abs(after - before) < 80, (before, after)  # what you were reading did not jump away
    texts = bodies.all_inner_texts()
    assert texts == [f"Message {n}" for n in range(1, 301)]
    ids = page.locator(".messages .msg").evaluate_all("els => els.map(e => e.id)")
    assert len(ids) == len(set(ids)) == 300


def test_reconnect_gets_every_message_once(server, people, new_page):
    """bob's connection is cut while alice sends; when it returns bob has every message exactly once."""
    alice, bob = people["alice"], people["bob"]
    alice_api = api(server, alice)
    conversation_id = alice_api.post(alice_api.base + "/conversations/direct", json={"user_id": bob["id"]}).json()["id"]
    page = new_page()
    sign_in(page, server, bob)
    page.goto(server.url + f"/c/{conversation_id}")
    wait_for_stream(page)

    def send(text):
        r = alice_api.post(alice_api.base + f"/conversations/{conversation_id}/messages", json={"body": text})
        assert r.status_code == 201, r.text

    send("before the cut")
    page.locator(".msg__body", has_text="before the cut").wait_for()
    page.context.set_offline(True)  # new connections fail until it is back online…
    page.evaluate("() => window.ChatLive.cut()")  # …and the open stream drops, as on a real network
    page.locator("#connection-banner").wait_for(state="visible")
    sent = [f"while offline {n}" for n in range(1, 6)]
    for text in sent:
        send(text)
    time.sleep(0.5)
    page.context.set_offline(False)
    page.locator("#connection-banner").wait_for(state="hidden", timeout=20_000)
    for text in ["after the cut 1", "after the cut 2"]:
        send(text)
    page.locator(".msg__body", has_text="after the cut 2").wait_for()
    time.sleep(1)  # any duplicate from a replay would have arrived by now
    texts = page.locator(".messages .msg__body").all_inner_texts()
    expected = ["before the cut", *sent, "after the cut 1", "after the cut 2"]
    assert [t for t in texts if t in expected] == expected
    ids = page.locator(".messages .msg").evaluate_all("els => els.map(e => e.id)")
    assert len(ids) == len(set(ids))
    # The extension rebuilt its EventSource with our cursor (htmx-extensions #184), so the stream resumed.
    assert "GET /events?last_event_id=" in server.log_path.read_text()


XSS = [
    "<script>window.__xss = 1</script>",
    "<img src=x onerror=\"window.__xss = 1\">",
    "<svg/onload=window.__xss=1>",
    "\"><script>window.__xss = 1</script>",
    "'><img src=x onerror=window.__xss=1>",
    "javascript:window.__xss=1",
    "https://example.com/\"onmouseover=\"window.__xss=1",
    "<a href=\"javascript:window.__xss=1\">click me</a>",
    "</textarea><script>window.__xss = 1</script>",
    "<div hx-post=\"/logout\" hx-trigger=\"load\">htmx</div>",
    "{{ 7*7 }} {% if true %}jinja{% endif %}",
    "&lt;b&gt;already escaped&lt;/b&gt; &amp;",
    "<style>body { display: none }</style>",
]
SAFE_DOM = """() => ({
    xss: window.__xss === undefined ? null : window.__xss,
    inlineScripts: document.querySelectorAll("script:not([src])").length,
    handlers: Array.from(document.querySelectorAll("*")).filter(
        el => Array.from(el.attributes).some(a => a.name.startsWith("on"))).length,
    jsLinks: document.querySelectorAll("[href^='javascript' i], [src^='javascript' i]").length,
    injected: document.querySelectorAll("iframe, svg[onload], [hx-trigger='load'], .messages style").length,
})"""


def test_xss_corpus_renders_as_text(server, people, new_page):
    """Hostile bodies, names, bios and group names show as the text they are, on every page and live."""
    from chat.actions import accounts, conversations, messages
    alice = people["alice"]
    mallory = sign_up(server, "mallory", XSS[1])
    with server.actions():
        accounts.update_profile(mallory["id"], bio=XSS[0])
        group = conversations.create_group(mallory["id"], XSS[3][:100], [alice["id"]])
        direct, _ = conversations.open_direct(mallory["id"], alice["id"])
        for payload in XSS:
            messages.send_message(mallory["id"], group["id"], payload)
    dialogs = []
    page = new_page()
    page.on("dialog", lambda d: dialogs.append(d.message))
    sign_in(page, server, alice)
    wait_for_stream(page)
    mallory_api = api(server, mallory)
    mallory_api.post(mallory_api.base + f"/conversations/{direct['id']}/messages", json={"body": XSS[2]})
    page.locator("#conversation-list .conv-row", has_text=XSS[1]).locator(".badge").wait_for()

    page.goto(server.url + f"/c/{group['id']}")
    wait_for_stream(page)
    assert page.locator(".messages .msg__body").all_inner_texts() == XSS
    assert page.locator(".chat__title h1").inner_text() == XSS[3][:100]
    composer = page.get_by_label("Message", exact=True)
    for payload in (XSS[0], XSS[9]):  # sent through the composer: optimistic bubble, then the server's
        composer.fill(payload)
        composer.press("Enter")
    page.wait_for_function("() => !document.querySelector('.msg--pending')")
    mallory_api.post(mallory_api.base + f"/conversations/{group['id']}/messages", json={"body": XSS[4]})
    page.locator(".messages .msg:not(.msg--pending) .msg__body").nth(len(XSS) + 2).wait_for()
    assert page.locator(".messages .msg__body").all_inner_texts()[-3:] == [XSS[0], XSS[9], XSS[4]]
    assert page.evaluate(SAFE_DOM) == {"xss": None, "inlineScripts": 0, "handlers": 0, "jsLinks": 0, "injected": 0}

    for path in ("/", "/u/mallory", "/people?q=mall", f"/c/{direct['id']}", f"/c/{group['id']}/settings"):
        page.goto(server.url + path)
        assert page.evaluate(SAFE_DOM) == {"xss": None, "inlineScripts": 0, "handlers": 0, "jsLinks": 0,
                                           "injected": 0}, path
    page.goto(server.url + "/u/mallory")
    assert page.locator(".profile-card__name").inner_text() == XSS[1]
    assert page.locator(".profile-card__bio").inner_text() == XSS[0]
    assert dialogs == []
    assert page.evaluate("() => window.__xss") is None


def _picture():
    """A 480×300 picture (a soft gradient)."""
    from PIL import Image
    image = Image.new("RGB", (480, 300))
    image.putdata([(90 + x // 6, 120 + y // 5, 220 - x // 8) for y in range(300) for x in range(480)])
    return image


def _upload(image):
    import io

    from werkzeug.datastructures import FileStorage
    data = io.BytesIO()
    image.save(data, "PNG")
    data.seek(0)
    return FileStorage(data, filename="sunset.png", content_type="image/png")


def _seed_showcase(server):
    """People and conversations of their own that look like real use, for the screenshots."""
    from chat.actions import accounts, attachments, conversations, messages
    maya, noah, iris, leo = (sign_up(server, name, full) for name, full in [
        ("maya", "Maya Lin"), ("noah", "Noah Park"), ("iris", "Iris Watanabe"), ("leo", "Leo Moreau")])
    with server.actions():
        accounts.update_profile(noah["id"], bio="Builds things. Fixes other things. Coffee first.")
        accounts.update_profile(maya["id"], bio="Architect. Reads on trains.")
        accounts.update_profile(iris["id"], bio="Illustrator and weekend climber.")
        group = conversations.create_group(maya["id"], "Book club", [noah["id"], iris["id"], leo["id"]])
        def say(who, text, **kw):
            return messages.send_message(who["id"], group["id"], text, **kw)[0]

        say(iris, "Next meeting on Thursday? I finally finished chapter 12.")
        say(leo, "Thursday works. Same café as last time?")
        say(maya, "Yes! I booked the corner table for 7pm.")
        picture = attachments.upload(noah["id"], _upload(_picture()))
        say(noah, "The view from there last time:", attachment_ids=[picture["id"]])
        edited = say(iris, "Does anyone have the discussion questions?")
        messages.edit_message(iris["id"], edited["id"], "Does anyone have the discussion questions? Link below.")
        say(iris, "https://example.com/book-club/questions")
        direct, _ = conversations.open_direct(noah["id"], maya["id"])
        for who, line in [(noah, "Hey Maya, are you coming on Thursday?"),
                          (maya, "Wouldn't miss it. Could you bring the projector?"),
                          (noah, "Sure. I'll fix the cable first, it has been flaky since the last meetup."),
                          (noah, "Also: the café closes at 10, so let's start on time.")]:
            messages.send_message(who["id"], direct["id"], line)
        other, _ = conversations.open_direct(leo["id"], maya["id"])
        messages.send_message(leo["id"], other["id"], "Can you send me the address?")
    return {"maya": maya, "noah": noah}, group


def test_screenshots_of_the_main_screens(server, new_page):
    """Main screens at desktop and phone widths, kept under test-artifacts/screenshots/."""
    people, group = _seed_showcase(server)
    noah_page = new_page()  # noah is online while maya looks around
    sign_in(noah_page, server, people["noah"])
    wait_for_stream(noah_page)
    taken = []
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = new_page(viewport=viewport)
        page.goto(server.url + "/")
        taken.append(screenshot(page, f"landing-{label}"))
        page.goto(server.url + "/login")
        page.get_by_role("button", name="Sign in").click()
        page.locator(".field__error").first.wait_for()
        taken.append(screenshot(page, f"sign-in-errors-{label}"))
        sign_in(page, server, people["maya"])
        wait_for_stream(page)
        taken.append(screenshot(page, f"conversations-{label}"))
        page.goto(server.url + "/people")
        taken.append(screenshot(page, f"people-{label}"))
        page.goto(server.url + "/u/noah")
        taken.append(screenshot(page, f"profile-{label}"))
        page.get_by_role("button", name="Message").click()
        page.locator(".side-panel.is-open textarea").wait_for()
        page.mouse.move(1, 1)
        page.wait_for_timeout(400)  # the slide-in transition
        panel = page.locator(".side-panel").bounding_box()
        if label == "phone":
            assert panel["width"] == viewport["width"] and panel["x"] == 0  # covers the screen
        taken.append(screenshot(page, f"profile-chat-panel-{label}"))
        page.goto(server.url + f"/c/{group['id']}")
        page.locator(".attachment--image img").evaluate("img => img.complete || new Promise(r => img.onload = r)")
        page.get_by_label("Message", exact=True).fill("See you all there!")
        taken.append(screenshot(page, f"conversation-{label}"))
        page.goto(server.url + f"/c/{group['id']}/settings")
        taken.append(screenshot(page, f"group-settings-{label}"))
    assert all(path.stat().st_size > 5000 for path in taken)
    docs = ROOT / "docs" / "screenshot.png"
    if not docs.exists() or os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(SCREENSHOTS / "profile-chat-panel-desktop.png", docs)


def test_works_without_javascript(server, people, new_page):
    """With JavaScript off: sign in, send with the plain form (post and redirect), page back through history."""
    from chat.actions import conversations, messages
    alice, carol = people["alice"], people["carol"]
    with server.actions():
        conversation = conversations.create_group(carol["id"], "No-JS club", [alice["id"]])
        for n in range(1, 61):
            messages.send_message(carol["id"], conversation["id"], f"Old news {n}")
    page = new_page(java_script_enabled=False)
    sign_in(page, server, alice)
    page.goto(server.url + f"/c/{conversation['id']}")
    page.get_by_label("Message", exact=True).fill("Sent without JavaScript")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r"/c/.+#message-"))
    assert page.locator(".msg__body").last.inner_text() == "Sent without JavaScript"
    page.get_by_role("link", name="Load older messages").click()
    page.wait_for_url(re.compile(r"before="))
    assert page.locator(".msg__body").first.inner_text() == "Old news 1"
    assert page.locator(".history-start").is_visible()
