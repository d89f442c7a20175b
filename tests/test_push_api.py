"""Push subscriptions through the API and the web routes, on SQLite and Postgres, and their RLS in SQL.

An endpoint is one browser: subscribing it again is 200 (its keys may change); subscribing an endpoint
someone else had is 201 and makes it yours (the browser changed hands). Unsubscribing someone else's
endpoint is 204 and leaves it alone.
"""
import base64
import os

import psycopg
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chat import create_app
from chat.config import ConfigError, from_environment
from chat.db import transaction
from chat.schema import push_deliveries, push_subscriptions
from chat.webpush import generate_keys, unb64url

from .test_rls import Raw
from .web_support import text, web_as_fixture, web_fixture  # noqa: F401  (fixtures)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def keys():
    public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"p256dh": b64(public), "auth": b64(os.urandom(16))}


ENDPOINT = "https://push.example.com/send/abc123"


def owners():
    with transaction() as conn:
        return {r.endpoint: str(r.user_id) for r in conn.execute(sa.select(push_subscriptions))}


def test_the_key_is_the_configured_public_key(app, api_as, alice):
    response = api_as(alice).get("/push/key")
    assert response.status_code == 200
    key = response.get_json()["public_key"]
    assert key == app.config["VAPID_PUBLIC_KEY"] and len(unb64url(key)) == 65 and unb64url(key)[0] == 4
    assert api_as(None).get("/push/key").status_code == 401


def test_subscribe_is_201_then_200_and_updates_keys(api_as, alice):
    api = api_as(alice)
    first = api.post("/push/subscriptions", {"endpoint": ENDPOINT, "keys": keys()})
    assert first.status_code == 201 and first.get_json()["endpoint"] == ENDPOINT
    newer = keys()
    again = api.post("/push/subscriptions", {"endpoint": ENDPOINT, "keys": newer})
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    with transaction() as conn:
        row = conn.execute(sa.select(push_subscriptions)).one()
    assert (row.p256dh, row.auth) == (newer["p256dh"], newer["auth"])
    assert api_as(None).post("/push/subscriptions", {"endpoint": ENDPOINT, "keys": keys()}).status_code == 401


@pytest.mark.parametrize(("body", "field"), [
    ({"keys": keys()}, "endpoint"),
    ({"endpoint": "ftp://push.example.com/x", "keys": keys()}, "endpoint"),
    ({"endpoint": "http://push.example.com/x", "keys": keys()}, "endpoint"),
    ({"endpoint": "http://localhost:8080/x", "keys": keys()}, "endpoint"),
    ({"endpoint": "https://user:pw@push.example.com/x", "keys": keys()}, "endpoint"),
    ({"endpoint": "https://push.example.com/" + "x" * 2000, "keys": keys()}, "endpoint"),
    ({"endpoint": 7, "keys": keys()}, "endpoint"),
    ({"endpoint": ENDPOINT}, "keys"),
    ({"endpoint": ENDPOINT, "keys": "p256dh"}, "keys"),
    ({"endpoint": ENDPOINT, "keys": {**keys(), "p256dh": b64(b"\x04" + b"\x01" * 64)}}, "keys.p256dh"),
    ({"endpoint": ENDPOINT, "keys": {**keys(), "p256dh": "not base64!"}}, "keys.p256dh"),
    ({"endpoint": ENDPOINT, "keys": {**keys(), "p256dh": None}}, "keys.p256dh"),
    ({"endpoint": ENDPOINT, "keys": {**keys(), "auth": b64(os.urandom(8))}}, "keys.auth"),
    ({"endpoint": ENDPOINT, "keys": {**keys(), "auth": 12}}, "keys.auth"),
])
def test_bad_subscriptions_are_422_naming_the_field(api_as, alice, body, field):
    response = api_as(alice).post("/push/subscriptions", body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert owners() == {}


def test_development_takes_a_loopback_receiver_and_production_only_public_https(app, api_as, alice):
    api = api_as(alice)
    assert api.post("/push/subscriptions", {"endpoint": "http://127.0.0.1:9999/push/1", "keys": keys()}
                    ).status_code == 201
    app.config["CHAT_ENV"] = "production"
    for endpoint in ("http://127.0.0.1:9999/push/2", "https://10.1.2.3/push", "https://127.0.0.1/push",
                     "https://[::1]/push", "https://localhost/push", "https://169.254.169.254/latest"):
        response = api.post("/push/subscriptions", {"endpoint": endpoint, "keys": keys()})
        assert response.status_code == 422 and response.get_json()["error"]["field"] == "endpoint", endpoint
    assert api.post("/push/subscriptions", {"endpoint": ENDPOINT, "keys": keys()}).status_code == 201


def test_an_endpoint_is_one_browser_and_changes_hands(api_as, alice, bob):
    api_as(alice).post("/push/subscriptions", {"endpoint": ENDPOINT, "keys": keys()})
    taken = api_as(bob).post("/push/subscriptions", {"endpoint": ENDPOINT, "keys": keys()})
    assert taken.status_code == 201  # new for bob; nothing says whose it was
    assert owners() == {ENDPOINT: bob["id"]}


def test_unsubscribe_removes_only_your_own(api_as, alice, bob):
    api_as(alice).post("/push/subscriptions", {"endpoint": ENDPOINT, "keys": keys()})
    other = "https://push.example.com/send/bobs"
    api_as(bob).post("/push/subscriptions", {"endpoint": other, "keys": keys()})
    assert api_as(bob).delete("/push/subscriptions", json={"endpoint": ENDPOINT}).status_code == 204
    assert owners() == {ENDPOINT: alice["id"], other: bob["id"]}  # alice's stays
    assert api_as(alice).delete("/push/subscriptions", json={"endpoint": ENDPOINT}).status_code == 204
    assert api_as(alice).delete("/push/subscriptions", json={"endpoint": ENDPOINT}).status_code == 204  # idempotent
    assert owners() == {other: bob["id"]}
    response = api_as(alice).delete("/push/subscriptions", json={"endpoint": ["x"]})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "endpoint"
    assert api_as(None).delete("/push/subscriptions", json={"endpoint": other}).status_code == 401


def test_the_web_routes_need_the_csrf_token(app, web_as, alice):
    browser = web_as(alice)
    body = {"endpoint": ENDPOINT, "keys": keys()}
    refused = browser.client.post("/settings/push/subscribe", json=body)
    assert refused.status_code == 400 and owners() == {}
    headers = {"X-CSRFToken": browser.token}
    assert browser.client.post("/settings/push/subscribe", json=body, headers=headers).status_code == 201
    assert browser.client.post("/settings/push/subscribe", json=body, headers=headers).status_code == 200
    bad = browser.client.post("/settings/push/subscribe", json={"endpoint": "ftp://x"}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "endpoint"
    assert browser.client.post("/settings/push/unsubscribe", json={"endpoint": ENDPOINT}).status_code == 400
    assert owners() == {ENDPOINT: alice["id"]}
    assert browser.client.post("/settings/push/unsubscribe", json={"endpoint": ENDPOINT},
                               headers=headers).status_code == 204
    assert owners() == {}


def test_the_settings_page_has_the_section_and_a_plain_test_form(app, web_as, alice):
    browser = web_as(alice)
    page = text(browser.get("/settings/account"))
    assert "Notifications on this device" in page and 'data-controller="push"' in page
    assert f'data-key="{app.config["VAPID_PUBLIC_KEY"]}"' in page
    assert "0 devices of yours are set" in page
    response = browser.post("/settings/push/test")  # no device yet: said so, no error page
    assert response.status_code == 303 and "done=push-none" in response.headers["Location"]
    assert "no device of yours is subscribed" in text(browser.get(response.headers["Location"]))


def test_the_manifest_and_the_service_worker(app, web_as, web, alice):
    manifest = web.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.mimetype == "application/manifest+json"
    data = manifest.get_json(force=True)
    assert data["start_url"] == "/" and data["display"] == "standalone"
    for icon in data["icons"]:
        image = web.client.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == "image/png", icon
    assert {"192x192", "512x512"} <= {i["sizes"] for i in data["icons"]}
    worker = web.get("/service-worker.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/" and "no-cache" in worker.headers["Cache-Control"]
    assert 'addEventListener("fetch"' not in text(worker) and "caches." not in text(worker)  # no offline cache
    page = text(web_as(alice).get("/"))
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page and "js/push.js" in page


# --- keys -------------------------------------------------------------------------------------------------

def test_development_keeps_one_key_pair_in_the_instance_folder(tmp_path):
    first = from_environment({}, str(tmp_path))
    again = from_environment({}, str(tmp_path))
    assert first["VAPID_PRIVATE_KEY"] == again["VAPID_PRIVATE_KEY"] == (tmp_path / "vapid_private_key").read_text()
    assert len(unb64url(first["VAPID_PUBLIC_KEY"])) == 65 and first["VAPID_SUBJECT"].startswith("mailto:")


def test_production_takes_keys_from_the_environment_or_runs_without_push(tmp_path):
    private, public = generate_keys()
    env = {"CHAT_ENV": "production", "SECRET_KEY": "s"}
    assert from_environment(env, str(tmp_path))["VAPID_PRIVATE_KEY"] is None  # push off, logged at start
    assert not (tmp_path / "vapid_private_key").exists()
    full = {**env, "VAPID_PRIVATE_KEY": private, "VAPID_PUBLIC_KEY": public, "VAPID_SUBJECT": "mailto:ops@example.com"}
    assert from_environment(full, str(tmp_path))["VAPID_PUBLIC_KEY"] == public
    _, other_public = generate_keys()
    for change, named in ((dict(VAPID_PUBLIC_KEY=None), "VAPID_PUBLIC_KEY"),
                          (dict(VAPID_PRIVATE_KEY=None), "VAPID_PRIVATE_KEY"),
                          (dict(VAPID_SUBJECT=None), "VAPID_SUBJECT"),
                          (dict(VAPID_SUBJECT="admin@example.com"), "VAPID_SUBJECT"),
                          (dict(VAPID_PRIVATE_KEY="short"), "VAPID_PRIVATE_KEY"),
                          (dict(VAPID_PUBLIC_KEY=other_public), "VAPID_PUBLIC_KEY"),
                          (dict(VAPID_PUBLIC_KEY=private), "VAPID_PUBLIC_KEY")):
        broken = {k: v for k, v in {**full, **change}.items() if v is not None}
        with pytest.raises(ConfigError, match=named):
            from_environment(broken, str(tmp_path))


def test_without_keys_push_is_off_and_says_so(tmp_path, monkeypatch, caplog):
    for name in ("VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHAT_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s")
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.sqlite3'}",
                      "PASSWORD_HASH_COST": "fast", "RATELIMIT_ENABLED": False}, instance_path=str(tmp_path / "i"))
    try:
        assert "Web Push is off" in caplog.text
        hooks = app.extensions["chat.relay"].publish_hooks
        assert "push_publish_hook" not in [hook.__name__ for hook in hooks]  # webhooks' hook may be there
        from chat.actions import accounts
        with app.app_context():
            user = accounts.sign_up("ann@example.com", "ann", "password123")
            token = accounts.issue_token(user["id"])
            response = app.test_client().get("/api/v1/push/key", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "push_disabled"
    finally:
        app.extensions["chat.db"].dispose()


def test_flask_push_keys_prints_a_pair_in_the_contracts_format(runner):
    result = runner.invoke(args=["push", "keys"])
    lines = dict(line.split("=", 1) for line in result.output.split())
    private, public = lines["VAPID_PRIVATE_KEY"], lines["VAPID_PUBLIC_KEY"]
    assert len(unb64url(private)) == 32 and len(unb64url(public)) == 65
    from chat.webpush import public_key_for
    assert public_key_for(private) == public
    assert runner.invoke(args=["push", "send"]).output.strip() == "Nothing to send."


# --- RLS, in SQL ------------------------------------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_rls_a_person_sees_and_changes_only_their_own_subscriptions(app, api_as, alice, bob):
    api_as(alice).post("/push/subscriptions", {"endpoint": ENDPOINT, "keys": keys()})
    pg = Raw(app.config["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://"))
    with pg.as_user(bob["id"]) as cur:
        cur.execute("select count(*) from public.push_subscriptions")
        assert cur.fetchone()[0] == 0
        cur.execute("delete from public.push_subscriptions where endpoint = %s", (ENDPOINT,))
        assert cur.rowcount == 0
        cur.execute("update public.push_subscriptions set auth = 'x' where endpoint = %s", (ENDPOINT,))
        assert cur.rowcount == 0
    with pg.as_user(bob["id"]) as cur, pytest.raises(psycopg.errors.InsufficientPrivilege):
        cur.execute("update public.push_subscriptions set user_id = %s", (bob["id"],))
    with pg.as_user(bob["id"]) as cur, pytest.raises(psycopg.errors.InsufficientPrivilege):
        cur.execute("update public.push_subscriptions set last_success_at = now()")
    with pg.as_user(bob["id"]) as cur, pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level"):
        cur.execute("insert into public.push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at) "
                    "values (gen_random_uuid(), %s, 'https://push.example.com/x', 'k', 'a', now())", (alice["id"],))
    with pg.as_user(alice["id"]) as cur:
        cur.execute("select endpoint from public.push_subscriptions")
        assert cur.fetchall() == [(ENDPOINT,)]
        cur.execute("delete from public.push_subscriptions where endpoint = %s", (ENDPOINT,))
        assert cur.rowcount == 1
    assert owners() == {ENDPOINT: alice["id"]}  # every raw transaction above was rolled back


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_rls_push_work_is_the_servers_alone_and_release_needs_a_user(app, alice, bob, api_as):
    api_as(alice).post("/push/subscriptions", {"endpoint": ENDPOINT, "keys": keys()})
    pg = Raw(app.config["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://"))
    for statement in ("select * from public.push_deliveries", "delete from public.push_deliveries",
                      "update public.push_deliveries set attempts = 0"):
        with pg.as_user(bob["id"]) as cur, pytest.raises(psycopg.errors.InsufficientPrivilege):
            cur.execute(statement)
    with pg.as_role("anon") as cur, pytest.raises(psycopg.errors.InsufficientPrivilege):
        cur.execute("select public.release_push_endpoint(%s)", (ENDPOINT,))
    with pg.as_user(alice["id"]) as cur:  # one's own endpoint is not released
        cur.execute("select public.release_push_endpoint(%s)", (ENDPOINT,))
        cur.execute("select count(*) from public.push_subscriptions")
        assert cur.fetchone()[0] == 1
    with pg.as_server() as cur:
        cur.execute("select p.prosecdef, p.proconfig from pg_proc p where p.proname = 'release_push_endpoint'")
        assert cur.fetchone() == (True, ['search_path=""'])
        cur.execute("select relrowsecurity from pg_class where relname = 'push_deliveries'")
        assert cur.fetchone() == (True,)
    with transaction() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(push_deliveries)).scalar_one() == 0


def test_subscription_changes_are_limited_per_user(tmp_path):
    from chat.actions import accounts

    from .conftest import TEST_CONFIG
    app = create_app(dict(TEST_CONFIG, RATELIMIT_ENABLED=True, RATE_LIMIT_PUSH="1/minute",
                          DATABASE_URL=f"sqlite:///{tmp_path / 'chat.sqlite3'}"), instance_path=str(tmp_path / "i"))
    try:
        with app.app_context():
            tokens = [accounts.issue_token(accounts.sign_up(f"{n}@example.com", n, "password123")["id"])
                      for n in ("ann", "ben")]
        client = app.test_client()
        post = lambda token: client.post("/api/v1/push/subscriptions",  # noqa: E731
                                         json={"endpoint": ENDPOINT + token[-4:], "keys": keys()},
                                         headers={"Authorization": f"Bearer {token}"})
        assert post(tokens[0]).status_code == 201
        limited = post(tokens[0])
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
        assert post(tokens[1]).status_code == 201  # per user
    finally:
        app.extensions["chat.db"].dispose()
