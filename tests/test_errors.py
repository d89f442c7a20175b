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


def test_an_exhausted_database_pool_is_a_503_with_retry_after_not_a_500(postgres_url, tmp_path):
    """Overload, not a bug: when every connection stays busy past the pool's timeout, clients are told to
    come back (API: JSON ``busy``; pages: a short text), and the app works again once connections free up."""
    from chat import create_app
    from chat.actions import accounts

    from .conftest import TEST_CONFIG, IsolatedClient, _truncate_postgres
    from .web_support import WebClient

    _truncate_postgres(postgres_url)
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=postgres_url, DATABASE_POOL_SIZE=1, DATABASE_POOL_TIMEOUT=1,
                          UPLOAD_FOLDER=str(tmp_path / "uploads")), instance_path=str(tmp_path / "instance"))
    app.test_client_class = IsolatedClient
    try:
        with app.app_context():
            user = accounts.sign_up("pat@example.com", "pat", "password123", "Pat")
            token = accounts.issue_token(user["id"])
            browser = WebClient(app.test_client()).sign_in(user)
        client, auth = app.test_client(), {"Authorization": f"Bearer {token}"}
        engine = app.extensions["chat.db"].engine
        held = [engine.connect(), engine.connect()]  # the pool's one connection and its one overflow
        try:
            api = client.get("/api/v1/me", headers=auth)
            assert api.status_code == 503 and api.headers["Retry-After"] == "5"
            assert api.get_json()["error"]["code"] == "busy"
            page = browser.get("/")
            assert page.status_code == 503 and page.headers["Retry-After"] == "5"
            assert "try again in a few seconds" in page.get_data(as_text=True)
        finally:
            for conn in held:
                conn.close()
        assert client.get("/api/v1/me", headers=auth).status_code == 200
    finally:
        app.extensions["chat.db"].dispose()


def _app_on(postgres_url, tmp_path, **config):
    from chat import create_app

    from .conftest import TEST_CONFIG, IsolatedClient, _truncate_postgres
    _truncate_postgres(postgres_url)
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=postgres_url, UPLOAD_FOLDER=str(tmp_path / "uploads"), **config),
                     instance_path=str(tmp_path / "instance"))
    app.test_client_class = IsolatedClient
    return app


def _close_the_apps_connections(postgres_url):
    """What a database restart does to the app's pooled connections: the server closes them all."""
    import psycopg
    name = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
                         + "/postgres", autocommit=True) as admin:
        closed = admin.execute("select count(pg_terminate_backend(pid)) from pg_stat_activity "
                               "where datname = %s and pid <> pg_backend_pid()", (name,)).fetchone()[0]
    assert closed >= 1


@pytest.fixture
def pooled_me(postgres_url, tmp_path):
    """``(app, me)``: an app on Postgres, and ``me()`` asking ``/api/v1/me`` with a bearer token, just used once."""
    from chat.actions import accounts
    app = _app_on(postgres_url, tmp_path)
    with app.app_context():
        token = accounts.issue_token(accounts.sign_up("pat@example.com", "pat", "password123", "Pat")["id"])
    client = app.test_client()

    def me():
        return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me().status_code == 200
    yield app, me
    app.extensions["chat.db"].dispose()


def test_connections_the_database_closed_while_idle_are_replaced_before_use(pooled_me, postgres_url):
    """A pooled connection idle for a while is checked before use, so a database restart costs no request."""
    app, me = pooled_me
    _close_the_apps_connections(postgres_url)
    app.extensions["chat.db"].idle_check_seconds = 0  # every connection now counts as idle
    for _ in range(3):
        assert me().status_code == 200


def test_a_connection_closed_while_in_use_costs_one_503_then_the_pool_starts_over(pooled_me, postgres_url):
    """A connection used a moment ago is not checked (a round trip per request saved); if the database
    closed it meanwhile, that one request is told to try again, and the next one works."""
    _app, me = pooled_me
    _close_the_apps_connections(postgres_url)
    lost = me()
    assert lost.status_code == 503 and lost.headers["Retry-After"] == "1"
    assert lost.get_json()["error"]["code"] == "busy"
    assert me().status_code == 200
