"""The installable app in Chromium: the service worker registers at the root scope, the manifest is linked and
valid, and the settings page offers notifications on this device."""
import json
import re

import pytest

from .browser_support import sign_in, sign_up

pytestmark = pytest.mark.browser


def test_the_service_worker_registers_and_the_manifest_is_valid(server, new_page):
    erin = sign_up(server, "erin", "Erin")
    page = new_page()
    sign_in(page, server, erin)
    scope = page.evaluate("() => navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == server.url + "/"
    script = page.evaluate("() => navigator.serviceWorker.ready.then(r => r.active && r.active.scriptURL)")
    assert script == server.url + "/service-worker.js"

    href = page.locator('link[rel="manifest"]').get_attribute("href")
    manifest = page.evaluate("href => fetch(href).then(r => r.text())", href)
    data = json.loads(manifest)
    assert data["name"] == "Chat" and data["start_url"] == "/" and data["display"] == "standalone"
    for icon in data["icons"]:
        assert page.evaluate("src => fetch(src).then(r => r.ok && r.headers.get('content-type'))",
                             icon["src"]) == "image/png"

    page.get_by_role("link", name="Account").click()
    page.wait_for_url(re.compile(r"/settings/account$"))
    section = page.locator("#push")
    assert section.get_by_role("heading", name="Notifications on this device").is_visible()
    section.get_by_role("button", name="Turn on notifications").wait_for(state="visible")
    assert section.get_attribute("data-push-state") == "off"
    section.get_by_role("button", name="Send a test notification").click()  # a plain form: nothing subscribed yet
    page.wait_for_url(re.compile(r"done=push-none"))
    assert page.get_by_text("no device of yours is subscribed").is_visible()

    page.get_by_role("button", name="Sign out", exact=True).first.click()  # the sign-out still goes through
    page.wait_for_url(re.compile(r"/login"))
