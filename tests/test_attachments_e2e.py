"""Attachments on the production shape, end to end: two gunicorn gevent workers, Postgres, the test's own
redis-server, an S3 server on loopback (moto), and Chromium with a fake microphone.

Alice sends a picture carrying GPS data and records a voice message; Bob sees the picture and plays the
recording; every web process is restarted; both are still served, through either worker; the stored picture
carries no GPS data; once Alice deletes the messages, every URL of theirs is a 404 for both of them.
"""
import http.client
import io
import json

import pytest
import requests
from PIL import ExifTags, Image

from .browser_support import CHROMIUM_ARGS, PASSWORD, require_chromium
from .live_support import Gunicorn, OwnDatabase, seed
from .s3_support import s3_bucket_fixture, s3_config_fixture, s3_server_fixture  # noqa: F401  (fixtures)
from .services import RedisServer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

GPS = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}


def picture_with_gps():
    image = Image.new("RGB", (64, 48), (200, 40, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Test camera"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo) == GPS  # it does carry GPS
    return data


def through_each_worker(server, token, paths):
    """``{pid: {path: (status, bytes)}}`` with an answer from every worker: each round asks one kept-alive
    connection (one worker) for its pid, then for every path, and checks the connection was never reopened."""
    wanted, seen = set(server.worker_pids()), {}
    for _ in range(200):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("GET", "/_delivery/stats")
            pid = json.loads(connection.getresponse().read())["pid"]
            sock = connection.sock
            answers = {}
            for path in paths:
                connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
                response = connection.getresponse()
                answers[path] = (response.status, response.read())
                assert connection.sock is sock, "the worker closed the connection"
        finally:
            connection.close()
        seen.setdefault(pid, answers)
        if wanted <= set(seen):
            return seen
    raise AssertionError(f"only workers {sorted(seen)} of {sorted(wanted)} answered")


@pytest.fixture
def production(s3_config):
    database = OwnDatabase()
    redis_server = RedisServer().start()
    server = None
    try:
        people, groups = seed(database.url, [2])
        # Plain http on loopback: the session cookie cannot be Secure here.
        settings = dict(s3_config, SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False)
        server = Gunicorn(database.url, redis_server.url, workers=2, settings=settings).start()
        yield server, people, groups[0], s3_config
    finally:
        if server is not None:
            server.stop()
        redis_server.stop()
        database.drop()


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright
    path = require_chromium()
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            "--autoplay-policy=no-user-gesture-required"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=args, headless=True)
        yield browser
        browser.close()


def open_chat(browser, server, person, group, **options):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, **options)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(server.url("/login"))
    page.get_by_label("Email or username").fill(person["name"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url("/"))
    page.goto(server.url(f"/c/{group['id']}"))
    page.wait_for_function("() => window.ChatLive && window.ChatLive.isOpen()")
    return page


def test_a_picture_and_a_voice_message_survive_restarts_on_every_worker_keep_no_gps_and_go_with_the_message(
        production, chromium, tmp_path):
    server, (alice, bob), group, s3 = production
    picture = tmp_path / "holiday.jpg"
    picture.write_bytes(picture_with_gps())

    a = open_chat(chromium, server, alice, group, permissions=["microphone"])
    b = open_chat(chromium, server, bob, group)

    # Alice sends the picture, then records and sends a voice message.
    a.locator("[data-file-input]").set_input_files(str(picture))
    a.wait_for_function("() => document.querySelector('[data-attachment-chip]').dataset.state === 'done'")
    a.get_by_label("Message", exact=True).press("Enter")
    a.locator(".msg:not(.msg--pending) .attachment--image img").wait_for()
    a.get_by_role("button", name="Record a voice message").click()
    a.wait_for_function("() => document.querySelector('[data-record-timer]').textContent >= '0:02'")
    a.locator("[data-record-send]").click()
    a.locator(".msg:not(.msg--pending) .attachment--audio").wait_for()

    # Bob sees the picture (its thumbnail loads) and plays the voice message.
    image = b.locator(".msg .attachment--image img")
    image.wait_for()
    b.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    voice = b.locator(".msg .attachment--audio")
    voice.wait_for()
    duration = int(voice.locator("[data-duration-ms]").get_attribute("data-duration-ms"))
    assert 1500 <= duration <= 8000
    assert voice.locator("[data-voice-time]").inner_text().endswith(f"/ 0:0{duration // 1000}")
    voice.get_by_role("button", name="Play").click()
    b.wait_for_function("(a) => a.currentTime > 0.5", arg=voice.locator("audio").element_handle())
    voice.get_by_role("button", name="Pause").click()

    # The attachments as the API lists them.
    bob_api = requests.Session()
    bob_api.headers["Authorization"] = f"Bearer {bob['token']}"
    listed = bob_api.get(server.url(f"/api/v1/conversations/{group['id']}/messages")).json()
    sent = [m for m in listed["messages"] if m["attachments"]]
    assert len(sent) == 2
    photo = next(m["attachments"][0] for m in sent if m["attachments"][0]["content_type"] == "image/jpeg")
    recording = next(m["attachments"][0] for m in sent if m["attachments"][0]["content_type"].startswith("audio/"))
    assert recording["duration_ms"] == duration
    urls = [photo["url"], photo["thumbnail_url"], recording["url"]]

    # Every web process restarts: new workers, nothing kept in any process or on any local disk.
    before = set(server.worker_pids())
    server.stop()
    server.start()
    assert not before & set(server.worker_pids())

    # Both are still served, through either worker, the same bytes from each.
    answers = through_each_worker(server, bob["token"], urls)
    assert len(answers) == 2
    first, second = answers.values()
    for url in urls:
        assert first[url][0] == 200 and first[url] == second[url], url
    stored = first[photo["url"]][1]
    assert Image.open(io.BytesIO(stored)).size == (64, 48)
    exif = Image.open(io.BytesIO(stored)).getexif()
    assert ExifTags.IFD.GPSInfo not in exif and not exif.get_ifd(ExifTags.IFD.GPSInfo)
    thumbnail = Image.open(io.BytesIO(first[photo["thumbnail_url"]][1]))
    assert thumbnail.format == "WEBP" and not thumbnail.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert first[recording["url"]][1][:4] in (b"\x1a\x45\xdf\xa3", b"OggS")  # what Chromium recorded

    # Bob's page, reloaded against the new workers, shows and plays them again.
    b.reload()
    image = b.locator(".msg .attachment--image img")
    b.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    voice = b.locator(".msg .attachment--audio")
    voice.get_by_role("button", name="Play").click()
    b.wait_for_function("(a) => a.currentTime > 0.5", arg=voice.locator("audio").element_handle())
    voice.get_by_role("button", name="Pause").click()

    # Alice deletes both messages; every URL is then a 404 for Bob and for Alice, on every worker.
    a.reload()
    a.wait_for_function("() => window.ChatLive && window.ChatLive.isOpen()")
    for selector in (".attachment--image", ".attachment--audio"):
        a.locator(".msg", has=a.locator(selector)).get_by_role("link", name="Delete message").click()
        # Gone from Alice's page before the next click: a click on a message that a swap is replacing is lost.
        a.locator(selector).first.wait_for(state="detached")
    b.locator(".msg__tombstone").nth(1).wait_for()
    for person in (bob, alice):
        for pid, got in through_each_worker(server, person["token"], urls).items():
            assert [got[url][0] for url in urls] == [404, 404, 404], (person["name"], pid)
    import boto3
    client = boto3.client("s3", endpoint_url=s3["S3_ENDPOINT_URL"], region_name=s3["S3_REGION"])
    assert client.list_objects_v2(Bucket=s3["S3_BUCKET"]).get("KeyCount", 0) == 0  # the files are gone
