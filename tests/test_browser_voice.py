"""In Chromium with a fake microphone: alice records a voice message, bob's page shows it with the
duration the server measured."""
import pytest

from .browser_support import CHROMIUM_ARGS, sign_in, sign_up, wait_for_stream

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", name="browser")
def media_browser_fixture(chromium_path):
    """Chromium with a fake microphone (a beeping tone) that needs no permission prompt."""
    from playwright.sync_api import sync_playwright
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=args, headless=True)
        yield browser
        browser.close()


def test_a_recorded_voice_message_reaches_the_other_side_with_its_duration(server, new_page):
    from chat.actions import conversations
    alice, bob = sign_up(server, "valice", "Alice"), sign_up(server, "vbob", "Bob")
    with server.actions():
        direct = conversations.open_direct(alice["id"], bob["id"])[0]
    a, b = new_page(permissions=["microphone"]), new_page()
    sign_in(a, server, alice)
    sign_in(b, server, bob)
    for page in (a, b):
        page.goto(server.url + f"/c/{direct['id']}")
        wait_for_stream(page)
    a.get_by_role("button", name="Record a voice message").click()
    timer = a.locator("[data-record-timer]")
    timer.wait_for()
    a.wait_for_function("() => document.querySelector('[data-record-timer]').textContent >= '0:02'")
    a.locator("[data-record-send]").click()
    bubble = b.locator(".msg .attachment--audio")
    bubble.wait_for(timeout=15_000)
    duration = int(bubble.locator("[data-duration-ms]").get_attribute("data-duration-ms"))
    assert 1500 <= duration <= 6000
    assert bubble.locator("[data-duration-ms]").inner_text().startswith("0:0")
    assert b.locator(".attachment--audio audio").evaluate("a => a.src").endswith("/content")
    # The playback bubble: the measured length (a browser's recording declares none), play, and seek.
    total = f"{duration // 60000}:{duration // 1000 % 60:02d}"
    assert bubble.locator("[data-voice-time]").inner_text() == f"0:00 / {total}"
    assert bubble.locator("[data-voice-seek]").get_attribute("max") == str(duration)
    audio = bubble.locator("audio").element_handle()
    bubble.get_by_role("button", name="Play").click()
    b.wait_for_function("(a) => a.currentTime > 0.2", arg=audio)
    bubble.get_by_role("button", name="Pause").click()
    bubble.locator("[data-voice-seek]").evaluate(
        "s => { s.value = '1000'; s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }")
    b.wait_for_function("(a) => a.paused && Math.abs(a.currentTime - 1) < 0.1", arg=audio)
    assert bubble.locator("[data-voice-time]").inner_text() == f"0:01 / {total}"


def test_a_picture_dropped_on_the_composer_is_attached_and_sent(server, new_page):
    from chat.actions import conversations
    alice, bob = sign_up(server, "dalice", "Alice"), sign_up(server, "dbob", "Bob")
    with server.actions():
        direct = conversations.open_direct(alice["id"], bob["id"])[0]
    a = new_page()
    sign_in(a, server, alice)
    a.goto(server.url + f"/c/{direct['id']}")
    wait_for_stream(a)
    a.evaluate("""async () => {
        const canvas = document.createElement("canvas"); canvas.width = 30; canvas.height = 20;
        const blob = await new Promise(r => canvas.toBlob(r, "image/png"));
        const transfer = new DataTransfer();
        transfer.items.add(new File([blob], "dropped.png", {type: "image/png"}));
        const form = document.querySelector("form[data-composer]");
        form.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }""")
    assert a.locator("[data-file-name]").inner_text() == "dropped.png"
    a.get_by_label("Message", exact=True).press("Enter")
    a.locator(".msg:not(.msg--pending) .attachment--image img").wait_for()
    assert a.locator(".attachment--image img").get_attribute("src").endswith("/thumbnail")
