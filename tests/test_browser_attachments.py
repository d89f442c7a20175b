"""Files in the composer, in Chromium: several in one message, each with its own chip; a refused one said and
dismissed (no Retry); dropped anywhere on the conversation; pasted; and the playback bubble of a sound file."""
import io
import wave

import pytest

from .browser_support import api, sign_in, sign_up, wait_for_stream
from .test_attachments import PDF, png_bytes

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def people(server):
    return {name: sign_up(server, name) for name in ("falice", "fbob")}


@pytest.fixture(scope="module")
def direct(server, people):
    from chat.actions import conversations
    with server.actions():
        return conversations.open_direct(people["falice"]["id"], people["fbob"]["id"])[0]


def _open(new_page, server, user, conversation):
    page = new_page()
    sign_in(page, server, user)
    page.goto(server.url + f"/c/{conversation['id']}")
    wait_for_stream(page)
    return page


def _latest(server, user, conversation):
    from chat.actions import history
    with server.actions():
        return history.page_messages(user["id"], conversation["id"], limit=1)["messages"][-1]


def _chip(page, name):
    return page.locator("[data-attachment-chip]", has=page.locator("[data-file-name]", has_text=name))


def test_several_files_go_in_one_message_and_a_refused_one_is_dismissed(server, people, direct, new_page,
                                                                        tmp_path):
    alice, bob = people["falice"], people["fbob"]
    files = {"one.png": png_bytes(30, 20), "two.pdf": PDF, "fake.png": b"<script>alert(1)</script>",
             "huge.zip": b"\0" * (10 * 1024 * 1024 + 300 * 1024)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    page = _open(new_page, server, alice, direct)
    uploads = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "POST" and "/attachments" in r.url else None)
    page.locator("[data-file-input]").set_input_files([str(tmp_path / name) for name in files])

    assert page.locator("[data-attachment-chip]").count() == 4
    huge, fake = _chip(page, "huge.zip"), _chip(page, "fake.png")
    assert huge.get_attribute("data-state") == "refused"
    assert huge.locator("[data-chip-status]").inner_text() == "This file is 10.3 MB; the limit is 10 MB."
    page.wait_for_function("() => [...document.querySelectorAll('[data-attachment-chip]')]"
                           ".every(c => c.dataset.state !== 'uploading')")
    assert [_chip(page, name).get_attribute("data-state") for name in ("one.png", "two.pdf")] == ["done", "done"]
    assert fake.get_attribute("data-state") == "refused"
    assert fake.locator("[data-chip-status]").inner_text() == (
        "This kind of file can't be sent. Pictures (PNG, JPEG, GIF, WebP), audio, PDF and ZIP files can.")
    assert len(uploads) == 3  # the one over the limit never left the browser
    for chip in (huge, fake):  # what can never work offers no Retry, only the remove button
        assert chip.locator("[data-chip-retry]").is_hidden()
    preview = _chip(page, "one.png").locator("img.composer__chip-preview")
    # the page's CSP allows blob: pictures (it loads after its element appears)
    page.wait_for_function("(img) => img.complete && img.naturalWidth === 30", arg=preview.element_handle())

    huge.get_by_role("button", name="Remove huge.zip").click()
    assert page.locator("[data-attachment-chip]").count() == 3
    page.get_by_label("Message", exact=True).fill("two of them")
    page.get_by_label("Message", exact=True).press("Enter")
    page.locator(".msg:not(.msg--pending)", has_text="two of them").wait_for()
    assert page.locator("[data-file-tray]").is_hidden()  # the tray is emptied by the send, refused chip too

    message = _latest(server, alice, direct)
    assert message["body"] == "two of them"
    assert [a["filename"] for a in message["attachments"]] == ["one.png", "two.pdf"]
    other = _open(new_page, server, bob, direct)
    sent = other.locator(f"#message-{message['id']}")
    assert sent.locator(".attachment--image img").get_attribute("src").endswith("/thumbnail")
    assert sent.locator(".attachment--file .attachment__name").inner_text() == "two.pdf"


def test_send_waits_for_uploads_still_running(server, people, direct, new_page, tmp_path):
    alice = people["falice"]
    (tmp_path / "slow.pdf").write_bytes(PDF)
    page = _open(new_page, server, alice, direct)
    held = []
    page.route("**/api/v1/attachments", lambda route: held.append(route))
    page.locator("[data-file-input]").set_input_files(str(tmp_path / "slow.pdf"))
    page.wait_for_function("() => document.querySelector('[data-attachment-chip]').dataset.state === 'uploading'")
    page.get_by_label("Message", exact=True).fill("after the upload")
    page.get_by_label("Message", exact=True).press("Enter")
    # A send shows its bubble at once; this one waits, as its file has not uploaded (the request is held).
    assert page.locator(".msg", has_text="after the upload").count() == 0
    assert page.get_by_label("Message", exact=True).input_value() == "after the upload"
    assert len(held) == 1
    held[0].continue_()
    page.locator(".msg:not(.msg--pending)", has_text="after the upload").wait_for()
    assert [a["filename"] for a in _latest(server, alice, direct)["attachments"]] == ["slow.pdf"]


def test_a_file_dropped_on_the_conversation_is_attached(server, people, direct, new_page):
    alice = people["falice"]
    page = _open(new_page, server, alice, direct)
    transfer = page.evaluate_handle("""async () => {
        const canvas = document.createElement("canvas"); canvas.width = 40; canvas.height = 30;
        const blob = await new Promise(r => canvas.toBlob(r, "image/png"));
        const transfer = new DataTransfer();
        transfer.items.add(new File([blob], "dropped.png", {type: "image/png"}));
        transfer.items.add(new File(["%PDF-1.4\\n1 0 obj<<>>endobj\\ntrailer<<>>\\n%%EOF\\n"], "dropped.pdf",
                                    {type: "application/pdf"}));
        return transfer;
    }""")
    messages = page.locator(f"#chat-{direct['id']} .messages")
    messages.dispatch_event("dragenter", {"dataTransfer": transfer})
    assert "is-dropping" in page.locator(f"#chat-{direct['id']}").get_attribute("class")
    messages.dispatch_event("drop", {"dataTransfer": transfer})
    assert "is-dropping" not in page.locator(f"#chat-{direct['id']}").get_attribute("class")
    page.wait_for_function("() => [...document.querySelectorAll('[data-attachment-chip]')]"
                           ".filter(c => c.dataset.state === 'done').length === 2")
    page.get_by_label("Message", exact=True).press("Enter")
    page.locator(".msg:not(.msg--pending) .attachment--image img").last.wait_for()
    assert [a["filename"] for a in _latest(server, alice, direct)["attachments"]] == ["dropped.png", "dropped.pdf"]


def test_a_pasted_picture_is_attached(server, people, direct, new_page):
    alice = people["falice"]
    page = _open(new_page, server, alice, direct)
    page.get_by_label("Message", exact=True).focus()
    page.evaluate("""async () => {
        const canvas = document.createElement("canvas"); canvas.width = 20; canvas.height = 20;
        const blob = await new Promise(r => canvas.toBlob(r, "image/png"));
        const transfer = new DataTransfer();
        transfer.items.add(new File([blob], "image.png", {type: "image/png"}));
        document.activeElement.dispatchEvent(new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true,
                                                                          cancelable: true}));
    }""")
    _chip(page, "image.png").wait_for()
    page.wait_for_function("() => document.querySelector('[data-attachment-chip]').dataset.state === 'done'")
    page.get_by_label("Message", exact=True).fill("pasted")
    page.get_by_label("Message", exact=True).press("Enter")
    page.locator(".msg:not(.msg--pending)", has_text="pasted").wait_for()
    attachment = _latest(server, alice, direct)["attachments"][0]
    assert attachment["content_type"] == "image/png" and (attachment["width"], attachment["height"]) == (20, 20)


def _wav(seconds):
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x10\x20" * int(seconds * 8000))
    return out.getvalue()


def test_an_uploaded_sound_file_plays_in_the_bubble_with_its_duration_and_seeks(server, people, direct,
                                                                               new_page):
    alice, bob = people["falice"], people["fbob"]
    session = api(server, alice)
    att = session.post(session.base + "/attachments", files={"file": ("memo.wav", _wav(4), "audio/wav")}).json()
    assert att["duration_ms"] == 4000
    message = session.post(session.base + f"/conversations/{direct['id']}/messages",
                           json={"body": "listen", "attachment_ids": [att["id"]]}).json()
    page = _open(new_page, server, bob, direct)
    bubble = page.locator(f"#message-{message['id']} [data-controller~=voice-player]")
    assert bubble.locator("[data-voice-time]").inner_text() == "0:00 / 0:04"
    assert bubble.locator("audio").evaluate("a => a.controls") is False
    seek = bubble.locator("[data-voice-seek]")
    assert seek.get_attribute("max") == "4000"
    bubble.get_by_role("button", name="Play").click()
    page.wait_for_function("(a) => a.currentTime > 0.3", arg=bubble.locator("audio").element_handle())
    bubble.get_by_role("button", name="Pause").click()
    seek.evaluate("s => { s.value = '3000'; s.dispatchEvent(new Event('input'));"
                  " s.dispatchEvent(new Event('change')); }")
    page.wait_for_function("(a) => Math.abs(a.currentTime - 3) < 0.1", arg=bubble.locator("audio").element_handle())
    assert bubble.locator("[data-voice-time]").inner_text() == "0:03 / 0:04"
