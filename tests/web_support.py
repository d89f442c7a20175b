"""A signed-in browser stand-in for the HTML tests: it keeps the session cookie and the page's CSRF token."""
import re

import pytest

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
HTMX = {"HX-Request": "true"}


class WebClient:
    """Flask's test client with the habits of a browser: read the CSRF token from pages, post forms."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, path, htmx=False, headers=None, **kw):
        response = self.client.get(path, headers={**(HTMX if htmx else {}), **(headers or {})}, **kw)
        match = CSRF_META.search(response.get_data(as_text=True))
        if match:
            self.token = match.group(1)
        return response

    def post(self, path, data=None, htmx=False, csrf=True, headers=None, **kw):
        if csrf and self.token is None:
            self.get("/login")
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token)
        return self.client.post(path, data=data, headers={**(HTMX if htmx else {}), **(headers or {})}, **kw)

    def sign_in(self, user, password="password123"):
        response = self.post("/login", {"login": user["username"], "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)
        self.get("/")
        return self


def text(response):
    return response.get_data(as_text=True)


def fragment(html, element_id):
    """The outer HTML of the element with ``element_id`` (a <li>, as message partials are)."""
    start = html.index(f'id="{element_id}"')
    start = html.rindex("<li", 0, start)
    depth = 0
    for match in re.finditer(r"<(/?)li\b", html[start:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            end = html.index(">", start + match.end()) + 1
            return html[start:end]
    raise AssertionError(f"unterminated {element_id}")


@pytest.fixture(name="web")
def web_fixture(app):
    """An anonymous browser."""
    return WebClient(app.test_client())


@pytest.fixture(name="web_as")
def web_as_fixture(app):
    """``web_as(user)``: a browser signed in as ``user`` through the sign-in form."""
    return lambda user: WebClient(app.test_client()).sign_in(user)
