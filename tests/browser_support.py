"""Browser tests' helpers: a real server in a subprocess, Debian's Chromium through Playwright, people.

The server is the app as people run it (``flask --app app run``: embedded mode, SQLite file, in-process
broker) on a free port. Tests seed data through the real action layer against the same database file and
act through the browser (or the HTTP API) like a person would.
"""
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from .services import free_port, unavailable

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "password123"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def require_chromium():
    """Chromium's path; fails under CI=true (skips elsewhere) when it or Playwright is missing."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        unavailable("Chromium", f"install it (apt-get install chromium) or set CHROMIUM_PATH (tried {CHROMIUM})")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("Playwright", "pip install playwright (the browser comes from apt, not from Playwright)")
    return CHROMIUM


class LiveServer:
    """``flask --app app run`` on a free port with its own SQLite file, secret and upload folder."""

    def __init__(self, tmp_path, extra_env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
        self.env = dict(os.environ, DATABASE_URL=self.database_url, SECRET_KEY="browser-test-secret",
                        CHAT_ENV="development", RATELIMIT_ENABLED="0", UPLOAD_FOLDER=str(tmp_path / "uploads"),
                        SSE_HEARTBEAT_SECONDS="5", PYTHONUNBUFFERED="1", CHAT_SERVER_WORKERS="1",
                        WEB_CONCURRENCY="1", **(extra_env or {}))
        self.env.pop("REDIS_URL", None)
        self.env.pop("FLASK_DEBUG", None)
        self.log_path = tmp_path / "server.log"
        self.process = None

    def start(self):
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(self.port), "--no-reload",
             "--no-debugger", "--with-threads"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server exited:\n" + self.log_path.read_text())
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("the server did not start:\n" + self.log_path.read_text())

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
            self.log.close()

    @contextmanager
    def actions(self):
        """An app context on the server's database, to seed data through the action layer."""
        from chat import create_app
        app = create_app({"DATABASE_URL": self.database_url, "SECRET_KEY": "seed", "TESTING": True,
                          "PASSWORD_HASH_COST": "default", "UPLOAD_FOLDER": self.env["UPLOAD_FOLDER"]})
        with app.app_context():
            yield app
        app.extensions["chat.db"].dispose()


def sign_up(server, username, display_name=None):
    """A person made through the action layer (with the server's password hashing)."""
    from chat.actions import accounts
    with server.actions():
        return accounts.sign_up(f"{username}@example.com", username, PASSWORD, display_name or username.title())


def api(server, user):
    """A requests session for ``user`` on the JSON API (bearer token)."""
    session = requests.Session()
    token = session.post(server.url + "/api/v1/auth/token",
                         json={"login": user["username"], "password": PASSWORD}).json()["token"]
    session.headers["Authorization"] = f"Bearer {token}"
    session.base = server.url + "/api/v1"
    return session


def sign_in(page, server, user):
    page.goto(server.url + "/login")
    page.get_by_label("Email or username").fill(user["username"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")


def wait_for_stream(page):
    """Until the page's event stream is open (the connection banner is hidden and the SSE source is open)."""
    page.wait_for_function("() => window.ChatLive && window.ChatLive.isOpen()", timeout=10_000)


def wait_for_target(page, element_id):
    """Wait until the browser marks the URL's fragment (``#element_id``) as ``:target``: it does so once it
    has processed the fragment, which may be after the element exists (a busy machine)."""
    page.wait_for_function("(id) => { const t = document.querySelector(':target'); return t && t.id === id; }",
                           arg=element_id)


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.fixture(scope="module", name="chromium_path")
def chromium_path_fixture():
    return require_chromium()


@pytest.fixture(scope="module", name="server")
def server_fixture(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("server")).start()
    yield live
    live.stop()


@pytest.fixture(scope="module", name="browser")
def browser_fixture(chromium_path):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(name="new_page")
def new_page_fixture(browser):
    """``new_page(viewport=…)`` opens a page in a fresh context (its own cookies); all closed at the end."""
    contexts = []

    def make(viewport=None, **options):
        context = browser.new_context(viewport=viewport or DESKTOP, timezone_id="Europe/Berlin", **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    yield make
    for context in contexts:
        context.close()
