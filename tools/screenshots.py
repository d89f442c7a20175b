"""Regenerate the README's screenshots (docs/screenshots/*.png) at 1280 and 390 px, light and dark.

Starts the app as people run it (``flask --app app run``, embedded mode, a throwaway SQLite file), seeds the
showcase (tests/look_support.py) through the action layer, and drives Debian's Chromium with Playwright:

    python -m tools.screenshots            # from the repository's root
"""
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SIZES = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}


def main():
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from tests.browser_support import CHROMIUM_ARGS, LiveServer, require_chromium, sign_in, wait_for_stream
    from tests.look_support import seed_showcase

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp)).start()
        try:
            people, group, _ = seed_showcase(server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
                online = browser.new_context()
                noah = online.new_page()  # noah is online while maya looks around
                sign_in(noah, server, people["noah"])
                for theme in ("light", "dark"):
                    for size, viewport in SIZES.items():
                        context = browser.new_context(viewport=viewport, color_scheme=theme, device_scale_factor=1,
                                                      timezone_id="Europe/Berlin")
                        page = context.new_page()
                        sign_in(page, server, people["maya"])
                        wait_for_stream(page)
                        shots = _shots(page, server, group, size)
                        for name, action in shots:
                            action()
                            page.mouse.move(1, 1)
                            page.wait_for_function(
                                "() => document.getAnimations().every(a => a.playState !== 'running')")
                            path = OUT / f"{name}-{size}-{theme}.png"
                            page.screenshot(path=str(path))
                            print(path.relative_to(ROOT))
                        context.close()
                browser.close()
        finally:
            server.stop()


def _shots(page, server, group, size):
    def profile_and_panel():
        page.goto(server.url + "/u/noah")
        page.get_by_role("button", name="Message").click()
        page.locator(".side-panel.is-open textarea").wait_for()

    def conversation():
        page.goto(server.url + f"/c/{group['id']}")
        page.locator(".attachment--image img").evaluate("img => img.complete || new Promise(r => img.onload = r)")

    return [("profile-panel", profile_and_panel), ("conversation", conversation)]


if __name__ == "__main__":
    main()
