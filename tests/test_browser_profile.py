"""Your profile and emoji search in Chromium: a profile card open in another person's tab changes live, and the
reaction picker finds an emoji by name."""

import pytest
from PIL import Image

from .browser_support import api, sign_in, sign_up, wait_for_stream

pytestmark = pytest.mark.browser


def test_a_profile_card_open_in_another_tab_changes_live(server, new_page, tmp_path):
    alice, bob = sign_up(server, "ana", "Ana Lima"), sign_up(server, "ben", "Ben Okafor")
    a_api = api(server, alice)
    a_api.post(a_api.base + "/conversations/direct", json={"user_id": bob["id"]})
    picture = tmp_path / "me.png"
    Image.new("RGB", (400, 200), "orange").save(picture, "PNG")
    a, b = new_page(), new_page()
    sign_in(a, server, alice)
    sign_in(b, server, bob)
    b.goto(server.url + "/u/ana")
    wait_for_stream(b)
    card = b.locator(".profile-card")
    assert card.locator("h1").inner_text() == "Ana Lima"
    assert card.locator(".avatar img").count() == 0 and card.locator(".avatar__face").inner_text() == "AL"
    b.evaluate("() => { window.notReloaded = true; }")

    a.goto(server.url + "/settings/profile")
    a.get_by_label("Display name", exact=True).fill("Ana Maria Lima")
    a.get_by_label("Bio", exact=True).fill("Maps and mountains.")
    a.get_by_label("New picture").set_input_files(str(picture))
    a.get_by_role("button", name="Save profile").click()
    a.get_by_text("Your profile is saved.").wait_for()

    card.locator("h1", has_text="Ana Maria Lima").wait_for()
    card.locator(".profile-card__bio", has_text="Maps and mountains.").wait_for()
    img = card.locator(".avatar img")
    img.wait_for()
    assert "/api/v1/users/" in img.get_attribute("src")
    b.wait_for_function("() => { const i = document.querySelector('.profile-card .avatar img');"
                        " return i && i.complete && i.naturalWidth === 256; }")
    row = b.locator(".conv-row__title", has_text="Ana Maria Lima")
    row.wait_for()  # the conversation list too
    assert b.evaluate("() => window.notReloaded") is True

    # Removing the picture brings the initials back, live as well.
    a.get_by_role("button", name="Remove picture").click()
    a.get_by_text("Your picture is removed").wait_for()
    b.wait_for_function("() => !document.querySelector('.profile-card .avatar img')")
    assert card.locator(".avatar__face").inner_text() == "AM"


def test_a_broken_avatar_shows_the_initials(server, new_page):
    carl = sign_up(server, "carl", "Carl Sagan")
    api(server, carl).patch(api(server, carl).base + "/me", json={"avatar_url": "https://127.0.0.1:9/none.png"})
    page = new_page()
    sign_in(page, server, carl)
    page.goto(server.url + "/u/carl")
    page.wait_for_function("() => !document.querySelector('.profile-card .avatar img')")
    assert page.locator(".profile-card .avatar__face").inner_text() == "CS"


def test_emoji_search_finds_tada_and_reacts_with_it(server, new_page):
    dana, eli = sign_up(server, "dana", "Dana Scully"), sign_up(server, "eli", "Eli Wallach")
    d_api = api(server, dana)
    cid = d_api.post(d_api.base + "/conversations/direct", json={"user_id": eli["id"]}).json()["id"]
    d_api.post(d_api.base + f"/conversations/{cid}/messages", json={"body": "we shipped it"})
    page = new_page()
    sign_in(page, server, eli)
    page.goto(server.url + f"/c/{cid}")
    wait_for_stream(page)
    message = page.locator(".msg", has_text="we shipped it")
    message.hover()
    message.get_by_label("React to message").click()
    search = message.get_by_label("Search emoji by name, or type one")
    search.fill("tada")
    found = message.get_by_label("React with 🎉 (party popper)")
    found.wait_for()
    search.press("ArrowDown")
    assert page.evaluate("() => document.activeElement.textContent") == "🎉"
    page.keyboard.press("Enter")
    chip = page.locator(".msg .reaction", has_text="🎉")
    chip.wait_for()
    assert chip.get_attribute("aria-pressed") == "true"  # mine, marked from data-user-ids
    assert "Eli Wallach" in chip.get_attribute("title")

    # Enter in the box picks the first match; the common row keeps working beside it.
    message = page.locator(".msg", has_text="we shipped it")
    message.hover()
    message.get_by_label("React to message").click()
    search = message.get_by_label("Search emoji by name, or type one")
    search.fill("rocket")
    message.get_by_label("React with 🚀 (rocket)").wait_for()
    search.press("Enter")
    page.locator(".msg .reaction", has_text="🚀").wait_for()
