"""Keeping up in Chromium: the @ picker, the unread divider, "Jump to latest", a desktop notification for a
hidden tab (and none for a muted group), and mark as unread."""
import pytest

from .browser_support import api, sign_in, sign_up, wait_for_stream

pytestmark = pytest.mark.browser


def group_of(server, owner, *others, name="crew"):
    client = api(server, owner)
    return client, client.post(client.base + "/conversations",
                               json={"name": name, "member_ids": [o["id"] for o in others]}).json()["id"]


def test_the_mention_picker_by_keyboard_and_mouse(server, new_page):
    ann, ben, cat = (sign_up(server, u, n) for u, n in (("ann", "Ann Ames"), ("ben", "Ben Bell"), ("cat", "Cat Cole")))
    _, cid = group_of(server, ann, ben, cat)
    page = new_page()
    sign_in(page, server, ben)
    page.goto(server.url + f"/c/{cid}")
    wait_for_stream(page)
    composer = page.get_by_label("Message", exact=True)
    composer.press_sequentially("hi @c")
    picker = page.get_by_role("listbox", name="People to mention")
    picker.wait_for()
    assert picker.get_by_role("option").all_inner_texts() == ["@cat Cat Cole"]
    composer.press("Enter")  # picks, does not send
    assert composer.input_value() == "hi @cat "
    composer.press_sequentially("and @")
    assert picker.get_by_role("option").count() == 3  # ann, cat, everyone
    composer.press("ArrowDown")
    composer.press("Escape")
    assert picker.is_hidden()
    composer.press_sequentially("a")
    picker.get_by_role("option", name="@ann Ann Ames").click()
    assert composer.input_value() == "hi @cat and @ann "
    composer.press("Enter")
    sent = page.locator(".msg:not(.msg--pending)", has_text="hi @cat and @ann")
    sent.locator(f'a.mention[href="/u/cat"][data-mention="{cat["id"]}"]').wait_for()


def test_the_divider_stays_and_jump_to_latest_counts_arrivals(server, new_page):
    dee, eli = sign_up(server, "dee", "Dee Dunn"), sign_up(server, "eli", "Eli Eck")
    d = api(server, dee)
    cid = d.post(d.base + "/conversations/direct", json={"user_id": eli["id"]}).json()["id"]
    for n in range(8):
        d.post(d.base + f"/conversations/{cid}/messages", json={"body": f"old {n}"})
    e = api(server, eli)
    e.post(e.base + f"/conversations/{cid}/read", json={"seq": 8})
    for n in range(30):
        d.post(d.base + f"/conversations/{cid}/messages", json={"body": f"new {n}"})
    page = new_page()
    sign_in(page, server, eli)
    page.goto(server.url + f"/c/{cid}")
    wait_for_stream(page)
    divider = page.locator(".unread-divider")
    assert divider.inner_text().strip() == "New messages"
    # Right above the first unread message, and in view at the top of the history.
    assert page.evaluate("() => document.querySelector('.unread-divider').nextElementSibling"
                         ".closest('.messages').querySelector('.unread-divider ~ .msg').dataset.seq") == "9"
    assert page.evaluate("""() => { const l = document.querySelector('.messages');
        const a = l.getBoundingClientRect(), b = l.querySelector('.unread-divider').getBoundingClientRect();
        return b.top >= a.top && b.bottom <= a.bottom; }""")
    d.post(d.base + f"/conversations/{cid}/messages", json={"body": "fresh one"})
    d.post(d.base + f"/conversations/{cid}/messages", json={"body": "fresh two"})
    jump = page.get_by_role("button", name="Jump to latest (2 new)")
    jump.wait_for()
    assert divider.is_visible()  # it stays put while reading
    jump.click()
    assert jump.is_hidden()
    page.locator(".msg", has_text="fresh two").wait_for()
    assert page.evaluate("() => { const l = document.querySelector('.messages'); "
                         "return l.scrollHeight - l.scrollTop - l.clientHeight < 120; }")
    assert page.locator(".unread-divider").count() == 1


def test_a_hidden_tab_is_notified_of_a_mention_and_not_of_a_muted_group(server, new_page):
    fay, gus, hal = (sign_up(server, u, n) for u, n in (("fay", "Fay Ford"), ("gus", "Gus Gray"), ("hal", "Hal Hunt")))
    f, loud = group_of(server, fay, gus, hal, name="loud")
    _, quiet = group_of(server, fay, gus, hal, name="quiet")
    page = new_page(permissions=["notifications"])
    sign_in(page, server, gus)
    page.goto(server.url + "/")
    wait_for_stream(page)
    assert page.evaluate("() => Notification.permission") == "granted"
    assert page.get_by_role("button", name="Enable notifications").is_hidden()  # nothing left to ask
    page.get_by_label("Sound").wait_for()
    g = api(server, gus)
    assert g.patch(g.base + f"/conversations/{quiet}/settings", json={"notify": "none"}).status_code == 200
    page.locator(f'#conversation-{quiet}[data-notify="none"].conv-row--muted').wait_for()
    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        document.dispatchEvent(new Event('visibilitychange')); }""")
    f.post(f.base + f"/conversations/{quiet}/messages", json={"body": "chatter nobody hears"})
    page.locator(f"#conversation-{quiet}[data-unread='1']").wait_for()
    f.post(f.base + f"/conversations/{loud}/messages", json={"body": "@gus look at this"})
    page.wait_for_function("() => Chat.notified.length > 0")
    shown = page.evaluate("() => Chat.notified")
    assert len(shown) == 1
    assert shown[0]["title"] == "Fay Ford in loud" and shown[0]["body"] == "@gus look at this"
    assert page.title().startswith("(1) ")  # the muted group counts quietly
    assert page.evaluate("() => document.querySelector('link[rel=icon]').dataset.count") == "1"  # muted: quiet
    page.locator(f"#conversation-{loud} [data-mention-badge]").wait_for()
    page.goto(server.url + shown[0]["url"])
    target = page.locator(".msg", has_text="look at this").get_attribute("id")
    assert page.evaluate("() => location.hash.slice(1)") == target


def test_mark_as_unread_from_the_message_menu(server, new_page):
    ida, jon = sign_up(server, "ida", "Ida Iles"), sign_up(server, "jon", "Jon Jay")
    i = api(server, ida)
    cid = i.post(i.base + "/conversations/direct", json={"user_id": jon["id"]}).json()["id"]
    for body in ("first", "second", "third"):
        i.post(i.base + f"/conversations/{cid}/messages", json={"body": body})
    page = new_page()
    sign_in(page, server, jon)
    # The read mark the opened chat posts is held back until after the click: "Mark unread" must wait for it,
    # or it lands first and the late read mark reads everything again.
    held = []
    page.route(f"**/c/{cid}/read", lambda route: held.append(route))
    page.goto(server.url + f"/c/{cid}")
    wait_for_stream(page)
    row = page.locator(f"#conversation-{cid}")
    page.wait_for_function(f"() => document.querySelector('#conversation-{cid}').dataset.unread === '0'")
    while not held:
        page.wait_for_timeout(20)
    message = page.locator(".msg", has_text="second")
    message.hover()
    message.get_by_label("Mark as unread from here").click()
    page.wait_for_timeout(200)
    held[0].continue_()
    page.locator(f"#conversation-{cid}[data-unread='2']").wait_for()
    assert row.locator(".badge").inner_text().startswith("2")
    mine = api(server, jon)
    seen = mine.get(mine.base + f"/conversations/{cid}").json()
    assert (seen["last_read_seq"], seen["unread_count"]) == (1, 2)
    page.reload()  # opened again, it is read again
    page.locator(f"#conversation-{cid}[data-unread='0']").wait_for()
