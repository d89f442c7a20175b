"""Reactions and formatting in Chromium: one person reacts from the picker, the other sees it live."""
import pytest

from .browser_support import (  # noqa: F401
    api,
    browser_fixture,
    chromium_path_fixture,
    new_page_fixture,
    server_fixture,
    sign_in,
    sign_up,
    wait_for_stream,
)

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
