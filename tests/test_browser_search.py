"""Search in Chromium: a word typed in the top bar finds an old message, and its result opens the conversation
at that message, in context and highlighted, hundreds of messages back."""
import pytest

from .browser_support import sign_in, sign_up, wait_for_target

pytestmark = pytest.mark.browser


def test_search_from_the_top_bar_and_land_on_the_message_in_context(server, new_page):
    alice, bob = sign_up(server, "eve", "Eve Arden"), sign_up(server, "fay", "Fay Wray")
    from chat.actions import conversations, messages
    with server.actions():
        direct, _ = conversations.open_direct(alice["id"], bob["id"])
        messages.send_message(alice["id"], direct["id"], "before the one we want")
        wanted = messages.send_message(bob["id"], direct["id"], "the Pétanque results are in")[0]
        messages.send_message(alice["id"], direct["id"], "right after it")
        for n in range(300):
            messages.send_message(alice["id"], direct["id"], f"filler {n}")
    page = new_page()
    sign_in(page, server, alice)
    page.goto(server.url + f"/c/{direct['id']}")
    assert page.locator(f"#message-{wanted['id']}").count() == 0  # far back: not on the latest page

    box = page.get_by_role("search", name="Search messages").get_by_label("Search messages")
    box.fill("petanque")  # without the accent, in lower case
    box.press("Enter")
    page.wait_for_url("**/search?q=petanque*")
    result = page.locator(".search-result", has_text="results are in")
    assert result.locator("mark").inner_text() == "Pétanque"
    assert page.locator(".search-result").count() == 1

    result.get_by_role("link").click()
    target = page.locator(f"#message-{wanted['id']}")
    target.wait_for()
    assert "the Pétanque results are in" in target.inner_text()
    wait_for_target(page, f"message-{wanted['id']}")
    assert target.evaluate("(el) => getComputedStyle(el.querySelector('.msg__bubble')).outlineStyle") == "solid"
    assert target.evaluate("""(el) => { const r = el.getBoundingClientRect();
                                        return r.bottom > 0 && r.top < window.innerHeight; }""")
    # in context: its neighbours are on the page around it
    page.locator(".msg", has_text="before the one we want").wait_for()
    page.locator(".msg", has_text="right after it").wait_for()
