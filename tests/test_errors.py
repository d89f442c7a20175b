"""Errors: JSON under /api/, pages in the app's layout elsewhere, fragments for htmx (chat.errors)."""
import pytest

from .web_support import text, web_as_fixture, web_fixture  # noqa: F401  (fixtures)


@pytest.fixture
def failing(app):
    """Routes that fail unexpectedly, for the 500 responses."""
    def boom():
        raise RuntimeError("a bug")
    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/v1/boom", "api_boom", boom)
    return app


def in_app_layout(html):
    return '<header class="topbar">' in html and 'id="conversation-list"' in html


def test_a_missing_page_is_a_404_page_in_the_layout(web_as, web, alice):
    r = web_as(alice).get("/no/such/page")
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert in_app_layout(text(r)) and "We can’t find that." in text(r) and "<title>" in text(r)
    signed_out = web.get("/no/such/page")
    assert signed_out.status_code == 404
    assert 'class="plain"' in text(signed_out) and "We can’t find that." in text(signed_out)
    assert not in_app_layout(text(signed_out))  # no sidebar for someone not signed in


def test_a_bug_is_a_500_page_in_the_layout_not_plain_text(failing, web_as, alice):
    r = web_as(alice).get("/boom")
    assert r.status_code == 500 and r.mimetype == "text/html"
    assert in_app_layout(text(r)) and "Something went wrong on our side" in text(r)
    assert "a bug" not in text(r)  # nothing of the exception leaks


def test_htmx_gets_the_small_fragment(failing, web_as, alice):
    me = web_as(alice)
    for path, status in (("/no/such/page", 404), ("/boom", 500)):
        r = me.get(path, htmx=True)
        assert r.status_code == status
        assert text(r).lstrip().startswith('<div class="notice notice--error"') and "<html" not in text(r)


def test_a_wrong_method_is_a_405_page_that_says_what_is_allowed(web_as, alice):
    r = web_as(alice).get("/logout")  # sign-out takes a POST only
    assert r.status_code == 405 and "POST" in r.headers["Allow"] and 'class="notice notice--error"' in text(r)


def test_api_errors_stay_json(failing, api_as, alice):
    api = api_as(alice)
    missing = api.get("/no/such/thing")
    assert missing.status_code == 404
    assert missing.json == {"error": {"code": "not_found", "message": missing.json["error"]["message"]}}
    boom = api.get("/boom")
    assert boom.status_code == 500
    assert boom.json == {"error": {"code": "internal_error",
                                   "message": "Something went wrong on our side; try again."}}
    wrong = api.client.delete("/api/v1/me", headers={"Authorization": f"Bearer {api.token}"})
    assert wrong.status_code == 405 and wrong.json["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]
