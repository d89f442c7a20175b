"""Sessions that end, in Chromium (U12, S3): "Keep me signed in", sign-out, and copied cookies."""
import re

import pytest

from .browser_support import PASSWORD, screenshot, sign_up, wait_for_stream

pytestmark = pytest.mark.browser


def test_sign_out_ends_every_copy_of_the_cookies(server, new_page):
    dana = sign_up(server, "dana", "Dana Scully")
    page = new_page()
    page.goto(server.url + "/login")
    page.get_by_label("Email or username").fill("dana")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Keep me signed in").check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")
    wait_for_stream(page)
    cookies = page.context.cookies()
    remember = [c for c in cookies if c["name"] == "remember_token"]
    assert remember and remember[0]["httpOnly"] and remember[0]["sameSite"] == "Lax"
    assert dana["id"] not in remember[0]["value"]

    copy = new_page()  # a cookie jar copied before sign-out (another machine, malware, a backup)
    copy.context.add_cookies(cookies)
    copy.goto(server.url + "/")
    assert copy.get_by_role("heading", name="Chats").is_visible()

    page.get_by_role("link", name="Account").click()
    page.wait_for_url(re.compile(r"/settings/account$"))
    assert page.locator(".session-list li").count() == 1
    screenshot(page, "account-desktop")
    page.get_by_role("button", name="Sign out", exact=True).first.click()
    page.wait_for_url(re.compile(r"/login"))

    copy.goto(server.url + "/people")
    copy.wait_for_url(re.compile(r"/login"))
    remembered_only = new_page()
    remembered_only.context.add_cookies(remember)
    remembered_only.goto(server.url + "/c/x")
    remembered_only.wait_for_url(re.compile(r"/login"))
