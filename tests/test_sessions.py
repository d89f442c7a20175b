"""Sessions that end (S2, S3, U12): server-side sessions, revocable remember-me, password change,
"sign out everywhere", expiring bearer tokens, and the ``alive`` checks event streams use.

Everything goes through the real sign-in form, cookies and API on SQLite and Postgres.
"""
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_login import current_user

from chat import auth, credential_watch
from chat.actions import accounts, sessions, validate
from chat.db import transaction
from chat.schema import api_tokens, utcnow
from chat.schema import sessions as sessions_table

from .sql_support import starting_with, statements_run
from .test_events_api import open_stream
from .web_support import WebClient, text


def sign_in(app, user, remember=False):
    web = WebClient(app.test_client())
    web.get("/login")
    data = {"login": user["username"], "password": "password123"}
    if remember:
        data["remember"] = "y"
    response = web.post("/login", data)
    assert response.status_code == 303, text(response)
    web.get("/")
    return web


def cookie(web, name):
    found = web.client.get_cookie(name)
    return found.value if found else None


def replay(app, **cookies):
    """A fresh browser holding only copies of the given cookies."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def me_status(client, **kw):
    return client.get("/api/v1/me", **kw).status_code


# --- signing out ends every copy -----------------------------------------------------------------------

def test_a_copied_session_cookie_stops_working_after_sign_out(app, alice):
    web = sign_in(app, alice)
    copy = replay(app, session=cookie(web, "session"))
    assert me_status(copy) == 200 and copy.get("/").status_code == 200
    assert "Chats" in text(copy.get("/"))
    assert web.post("/logout").status_code == 303
    assert me_status(copy) == 401
    response = copy.get("/c/whatever")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_remember_cookie_is_opt_in_lax_httponly_and_ends_with_sign_out(app, alice):
    assert cookie(sign_in(app, alice), "remember_token") is None  # not ticked: no remember cookie
    web = sign_in(app, alice, remember=True)
    remembered = cookie(web, "remember_token")
    assert remembered and alice["id"] not in remembered  # a session secret, not "user id|HMAC"
    header = [h for h in web.client.get("/settings/account").headers.getlist("Set-Cookie")] + \
        [h for h in _login_headers(app, alice)]
    assert any("remember_token=" in h and "HttpOnly" in h and "SameSite=Lax" in h for h in header), header
    assert me_status(replay(app, remember_token=remembered)) == 200  # alone, it signs in ...
    web.post("/logout")
    assert me_status(replay(app, remember_token=remembered)) == 401  # ... until signed out


def _login_headers(app, user):
    web = WebClient(app.test_client())
    web.get("/login")
    response = web.post("/login", {"login": user["username"], "password": "password123", "remember": "y"})
    return response.headers.getlist("Set-Cookie")


def test_each_sign_in_gets_a_different_identity(app, alice):
    first, second = sign_in(app, alice, remember=True), sign_in(app, alice, remember=True)
    assert cookie(first, "remember_token") != cookie(second, "remember_token")
    second.post("/logout")
    assert me_status(first.client) == 200  # signing out one browser leaves the other alone


def test_api_logout_with_a_cookie_ends_that_session(app, alice):
    web = sign_in(app, alice)
    copy = replay(app, session=cookie(web, "session"))
    response = web.client.post("/api/v1/auth/logout", headers={"X-CSRFToken": web.token})
    assert response.status_code == 204
    assert me_status(copy) == 401 and me_status(web.client) == 401


def test_an_expired_session_is_refused(app, alice):
    web = sign_in(app, alice)
    with transaction() as conn:
        conn.execute(sessions_table.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    assert me_status(web.client) == 401


def test_a_forged_user_id_in_the_cookie_is_not_an_identity(app, alice):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = alice["id"]  # what the cookie used to hold
        session["_fresh"] = True
    assert me_status(client) == 401


# --- the account page -------------------------------------------------------------------------------------

def test_the_account_page_lists_sessions_and_signs_one_out(app, alice):
    phone, laptop = sign_in(app, alice), sign_in(app, alice)
    page = text(laptop.get("/settings/account"))
    assert "Where you are signed in" in page and page.count('id="session-') == 2 and "this device" in page
    assert 'href="/settings/account"' in page  # linked from the app bar
    phone_id = next(s["id"] for s in sessions.list_active(alice["id"]) if s["id"] != _session_id(laptop))
    response = laptop.post(f"/settings/account/sessions/{phone_id}/revoke")
    assert response.status_code == 303
    assert me_status(phone.client) == 401 and me_status(laptop.client) == 200
    assert text(laptop.get("/settings/account")).count('id="session-') == 1


def _session_id(web):
    with web.client.application.test_request_context():
        found = sessions.user_for_secret(_secret(web))
    return found[1]


def _secret(web):
    with web.client.session_transaction() as session:
        return session["_user_id"]


def test_nobody_signs_out_someone_elses_session(app, alice, bob):
    sign_in(app, alice)
    bobs = sign_in(app, bob)
    alices_id = sessions.list_active(alice["id"])[0]["id"]
    assert bobs.post(f"/settings/account/sessions/{alices_id}/revoke").status_code == 404
    assert bobs.post("/settings/account/sessions/not-an-id/revoke").status_code == 404
    assert len(sessions.list_active(alice["id"])) == 1
    assert bobs.post(f"/settings/account/sessions/{alices_id}/revoke", csrf=False).status_code == 400


def test_changing_the_password_keeps_this_session_and_ends_every_other_credential(app, alice):
    here, elsewhere = sign_in(app, alice), sign_in(app, alice)
    token = accounts.issue_token(alice["id"])
    response = here.post("/settings/account/password", {"current_password": "password123",
                                                         "new_password": "a-new-password"})
    assert response.status_code == 303
    assert me_status(here.client) == 200
    assert me_status(elsewhere.client) == 401
    assert me_status(app.test_client(), headers={"Authorization": f"Bearer {token}"}) == 401
    assert accounts.authenticate("alice", "a-new-password")["id"] == alice["id"]


def test_a_wrong_current_password_changes_nothing(app, alice):
    here, elsewhere = sign_in(app, alice), sign_in(app, alice)
    response = here.post("/settings/account/password", {"current_password": "not-my-password",
                                                         "new_password": "a-new-password"})
    assert response.status_code == 422 and "current password is not right" in text(response)
    response = here.post("/settings/account/password", {"current_password": "password123", "new_password": "short"})
    assert response.status_code == 422 and "at least 8 characters" in text(response)
    assert me_status(elsewhere.client) == 200
    assert accounts.authenticate("alice", "password123")["id"] == alice["id"]


def test_sign_out_everywhere_ends_every_session_and_token(app, alice, bob):
    here, elsewhere = sign_in(app, alice), sign_in(app, alice)
    bobs = sign_in(app, bob)
    token = accounts.issue_token(alice["id"])
    response = here.post("/settings/account/sign-out-everywhere")
    assert response.status_code == 303 and "/login" in response.headers["Location"]
    assert me_status(here.client) == me_status(elsewhere.client) == 401
    assert me_status(app.test_client(), headers={"Authorization": f"Bearer {token}"}) == 401
    assert me_status(bobs.client) == 200  # only alice's


# --- the JSON API -----------------------------------------------------------------------------------------

def test_api_password_change_keeps_the_calling_token_only(app, alice, api_as):
    caller, other, web = api_as(alice), api_as(alice), sign_in(app, alice)
    r = caller.post("/me/password", json={"current_password": "wrong-one", "new_password": "a-new-password"})
    assert r.status_code == 401 and r.json["error"]["field"] == "current_password"
    r = caller.post("/me/password", json={"current_password": "password123", "new_password": "short"})
    assert r.status_code == 422 and r.json["error"]["field"] == "new_password"
    assert other.get("/me").status_code == 200  # nothing changed yet
    r = caller.post("/me/password", json={"current_password": "password123", "new_password": "a-new-password"})
    assert r.status_code == 204
    assert caller.get("/me").status_code == 200
    assert other.get("/me").status_code == 401 and me_status(web.client) == 401


def test_api_logout_all(app, alice, bob, api_as):
    caller, other, bobs = api_as(alice), api_as(alice), api_as(bob)
    web = sign_in(app, alice)
    assert caller.post("/auth/logout-all").status_code == 204
    assert caller.get("/me").status_code == other.get("/me").status_code == me_status(web.client) == 401
    assert bobs.get("/me").status_code == 200
    assert api_as(None).post("/auth/logout-all").status_code == 401


# --- bearer tokens ----------------------------------------------------------------------------------------

def _token_row(token):
    with transaction() as conn:
        return conn.execute(sa.select(api_tokens).where(
            api_tokens.c.token_hash == accounts._token_hash(token))).one()


def test_tokens_expire_after_api_token_days(app, alice, api_as):
    app.config["API_TOKEN_DAYS"] = 90
    a = api_as(alice)
    row = _token_row(a.token)
    assert timedelta(days=89) < row.expires_at - row.created_at <= timedelta(days=90)
    with transaction() as conn:
        conn.execute(api_tokens.update().where(api_tokens.c.id == row.id)
                     .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert a.get("/me").status_code == 401


def test_tokens_without_expiry_keep_working(app, alice, api_as):
    app.config["API_TOKEN_DAYS"] = 0
    a = api_as(alice)
    assert _token_row(a.token).expires_at is None and a.get("/me").status_code == 200


def test_last_used_at_is_written_at_most_once_a_minute(app, alice, api_as):
    a = api_as(alice)
    assert _token_row(a.token).last_used_at is None
    a.get("/me")
    first = _token_row(a.token).last_used_at
    assert first is not None
    a.get("/me")
    assert _token_row(a.token).last_used_at == first  # within the minute: not written again
    with transaction() as conn:
        conn.execute(api_tokens.update().values(last_used_at=first - timedelta(minutes=2)))
    a.get("/me")
    assert _token_row(a.token).last_used_at > first - timedelta(minutes=2)



def test_a_server_leaves_uses_to_its_upkeep_which_writes_them_in_one_statement(app, alice, bob, api_as):
    """A server's request does not wait for a write of its own: the upkeep writes the uses it was left."""
    a, b = api_as(alice), api_as(bob)
    assert "write_uses" in [hook.__name__ for hook in app.extensions["chat.relay"].upkeep_hooks]
    app.config["DELIVERY_SYNC"] = False  # as a server runs (its relay's upkeep calls write_uses)
    try:
        assert a.get("/me").status_code == 200 and b.get("/me").status_code == 200
        assert _token_row(a.token).last_used_at is None and _token_row(b.token).last_used_at is None
        with statements_run(app.extensions["chat.db"].engine) as statements:
            sessions.write_uses()
            sessions.write_uses()  # nothing left to write
        updates = starting_with(statements, "update")
        assert len(updates) == 1
        first = _token_row(a.token).last_used_at
        assert first is not None and _token_row(b.token).last_used_at is not None
        a.get("/me")
        sessions.write_uses()
        assert _token_row(a.token).last_used_at == first  # within the minute: not written again
    finally:
        app.config["DELIVERY_SYNC"] = True

# --- event streams: alive checks and the revocation event -------------------------------------------------

def test_stream_alive_follows_the_session(app, alice):
    web = sign_in(app, alice)
    with app.test_request_context(headers={"Cookie": f"session={cookie(web, 'session')}"}):
        assert current_user.is_authenticated
        alive = auth.stream_alive(current_user)
        session_id = current_user.session_id
    assert alive() is True
    web.post("/logout")
    assert alive() is False
    sessions.revoke(session_id)  # twice is harmless
    assert alive() is False


def test_stream_alive_follows_the_token(app, alice, api_as):
    a = api_as(alice)
    with app.test_request_context(headers={"Authorization": f"Bearer {a.token}"}):
        alive = auth.stream_alive(current_user)
    other = api_as(alice)
    assert other.post("/auth/logout").status_code == 204
    assert alive() is True  # another token's revocation is not this one's
    assert a.post("/auth/logout").status_code == 204
    assert alive() is False


def test_revocation_is_announced_to_the_users_open_streams(app, alice, api_as):
    app.config["SSE_HEARTBEAT_SECONDS"] = 0.2
    watcher = api_as(alice)
    response, reader = open_stream(watcher)
    assert watcher.post("/auth/logout").status_code == 204  # the token that opened the stream
    # The announcement makes the stream check its credential now: it ends at once, and the internal
    # ``session`` event itself never reaches the client.
    events = reader.read_blocks(lambda blocks: any(b["event"] == "session-expired" for b in blocks), timeout=5)
    assert [b["event"] for b in events if b["event"]] == ["session-expired"]
    response.close()


def _stream_credential(app, user, token=None):
    """What a stream opened with a new session of ``user`` (or with bearer ``token``) asks at its heartbeats."""
    with app.app_context():
        if token:
            data, token_id = accounts.token_credential(token)
            return auth.stream_alive(auth.User(data, token_id=token_id))
        data, session_id = sessions.user_for_secret(sessions.create(user["id"]))
        return auth.stream_alive(auth.User(data, session_id=session_id))


def test_heartbeat_checks_of_many_streams_are_one_query_per_kind(app, alice, bob, api_as):
    credentials = ([_stream_credential(app, user) for user in (alice, bob, alice)]
                   + [_stream_credential(app, user, api_as(user).token) for user in (alice, bob)])
    assert [c.heartbeat() for c in credentials] == [True] * 5  # each known to this process's watch now
    watch = credential_watch.watch(app)
    assert len(watch.asked) == 5
    # Revoked behind the streams' backs (no announcement): only the heartbeat check can tell.
    sessions.revoke(credentials[1].credential)
    sessions.revoke_token(credentials[4].credential)
    assert [c.heartbeat() for c in credentials] == [True] * 5  # the last check is recent: it answers
    watch.checked_at -= watch.every
    statements = []
    engine = app.extensions["chat.db"].engine
    listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        answers = [c.heartbeat() for c in credentials]
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert answers == [True, False, True, True, False]
    checks = [s for s in statements if "FROM sessions" in s or "FROM api_tokens" in s]
    assert len(checks) == 2, statements
    assert credentials[1]() is False and credentials[0]() is True  # calling it still asks the database


def test_many_credentials_are_checked_together_dead_ones_found(app, alice, bob):
    """More ids than one SQLite statement takes; revoked, expired and unknown ones are dead."""
    with app.app_context():
        session_ids = [sessions.user_for_secret(sessions.create(u["id"]))[1] for u in (alice, bob, alice)]
        token_ids = [accounts.token_credential(accounts.issue_token(u["id"]))[1] for u in (alice, bob, bob)]
        sessions.revoke(session_ids[1])
        sessions.revoke_token(token_ids[0])
        with transaction() as conn:
            conn.execute(api_tokens.update().where(api_tokens.c.id == token_ids[2])
                         .values(expires_at=utcnow() - timedelta(seconds=1)))
        unknown = [str(validate.new_id()) for _ in range(sessions.LIVE_AMONG_CHUNK + 500)]
        assert sessions.dead_among("sessions", [*unknown, *session_ids]) == {*unknown, session_ids[1]}
        assert sessions.dead_among("api_tokens", [token_ids[1], *unknown, *token_ids]) == {
            *unknown, token_ids[0], token_ids[2]}
        assert sessions.dead_among("sessions", session_ids[::2]) == set()
        assert sessions.dead_among("sessions", []) == set()
        assert sessions.dead_among("api_tokens", token_ids[1:2]) == set()


def test_credentials_of_closed_streams_are_no_longer_checked(app, alice):
    first, second = _stream_credential(app, alice), _stream_credential(app, alice)
    assert first.heartbeat() and second.heartbeat()
    watch = credential_watch.watch(app)
    watch.asked[("sessions", first.credential)] -= watch.forget + 1  # its stream stopped asking long ago
    watch.checked_at -= watch.every
    assert second.heartbeat()
    assert list(watch.asked) == [("sessions", second.credential)]


def test_a_token_revoked_without_announcement_ends_its_stream_at_a_heartbeat(app, alice, api_as):
    app.config["SSE_HEARTBEAT_SECONDS"] = 0.2
    watcher = api_as(alice)
    response, reader = open_stream(watcher)
    reader.read_blocks(lambda blocks: any(b["comment"] == "ping" for b in blocks), timeout=5)
    with app.app_context():
        (token_id,) = [i for k, i in credential_watch.watch(app).asked if k == "api_tokens"]
        sessions.revoke_token(token_id)
    events = reader.read_blocks(lambda blocks: any(b["event"] == "session-expired" for b in blocks), timeout=5)
    assert [b["event"] for b in events if b["event"]] == ["session-expired"]
    response.close()


# --- storage ----------------------------------------------------------------------------------------------

def test_sessions_store_only_a_hash_of_the_secret(app, alice):
    web = sign_in(app, alice)
    secret = _secret(web)
    with transaction() as conn:
        stored = conn.execute(sa.select(sessions_table.c.token_hash)).scalars().all()
    assert stored == [sessions.secret_hash(secret)] and secret not in stored


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_databases_made_before_sessions_are_upgraded(app):
    from chat import migrations
    db = app.extensions["chat.db"]
    with db.engine.begin() as conn:
        conn.exec_driver_sql("drop table sessions")
        conn.exec_driver_sql("alter table api_tokens drop column expires_at")
        conn.exec_driver_sql("delete from schema_migrations where version = '0002_sessions'")
    assert migrations.upgrade(db) == ["0002_sessions"]
    inspector = sa.inspect(db.engine)
    assert "sessions" in inspector.get_table_names()
    assert "expires_at" in {c["name"] for c in inspector.get_columns("api_tokens")}
    assert migrations.upgrade(db) == []


# --- Row Level Security (Postgres) -------------------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_rls_users_see_only_their_own_sessions_and_write_none(app, alice, bob):
    from psycopg import errors

    from .test_rls import Raw
    sign_in(app, alice), sign_in(app, bob)
    pg = Raw(app.config["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://"))
    a, b = alice["id"], bob["id"]
    assert pg.count_as_server("select count(*) from sessions") == 2
    assert [str(r[0]) for r in pg.rows(a, "select user_id from sessions")] == [a]
    assert pg.rows(a, "select id from sessions where user_id = %s", (b,)) == []
    assert pg.refused(a, "select token_hash from sessions")  # the secret's hash is the server's alone
    assert pg.refused(a, "update sessions set revoked_at = null")  # a revoked session cannot be revived
    assert pg.refused(a, "update sessions set revoked_at = now()")
    assert pg.refused(a, "delete from sessions")
    assert pg.refused(a, "insert into sessions (id, user_id, token_hash, created_at, last_used_at, expires_at) "
                         "values (gen_random_uuid(), %s, 'x', now(), now(), now() + interval '1 day')", (a,))
    with pg.as_role("anon") as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute("select id from sessions")


def test_signing_in_again_in_the_same_browser_replaces_its_session(app, alice, bob):
    web = sign_in(app, alice)
    old = replay(app, session=cookie(web, "session"))
    web.get("/login")
    assert web.post("/login", {"login": "bob", "password": "password123"}).status_code == 303
    assert web.client.get("/api/v1/me").json["username"] == "bob"
    assert me_status(old) == 401 and sessions.list_active(alice["id"]) == []


def test_sessions_that_ended_over_a_day_ago_are_deleted_and_live_ones_kept(app, alice, bob):
    expired, revoked, live = sign_in(app, alice), sign_in(app, bob), sign_in(app, alice)
    recent = sign_in(app, bob)
    long_ago = utcnow() - timedelta(days=2)
    with transaction() as conn:
        rows = conn.execute(sa.select(sessions_table.c.id).order_by(sessions_table.c.created_at)).scalars().all()
        assert len(rows) == 4
        conn.execute(sessions_table.update().where(sessions_table.c.id == rows[0]).values(expires_at=long_ago))
        conn.execute(sessions_table.update().where(sessions_table.c.id == rows[1]).values(revoked_at=long_ago))
        conn.execute(sessions_table.update().where(sessions_table.c.id == rows[3])
                     .values(revoked_at=utcnow() - timedelta(hours=1)))
    assert sessions.prune_ended() == 2
    with transaction() as conn:
        left = conn.execute(sa.select(sessions_table.c.id).order_by(sessions_table.c.created_at)).scalars().all()
    assert left == rows[2:]
    assert me_status(live.client) == 200
    assert me_status(expired.client) == 401 and me_status(revoked.client) == 401
    assert me_status(recent.client) == 401


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_two_servers_writing_the_same_uses_at_once_do_not_deadlock(app, alice):
    """Each server's upkeep writes the uses its requests left, one transaction each: the same tokens, met in
    different orders, may make one transaction wait for the other but never deadlock (Postgres would abort
    one, and its uses would be lost)."""
    now = utcnow()
    ids = [validate.new_id() for _ in range(300)]
    with transaction() as conn:
        conn.execute(api_tokens.insert(), [{"id": i, "user_id": alice["id"], "token_hash": f"hash-{i}",
                                            "created_at": now} for i in ids])
    for minutes in (1, 2, 3):
        used = now + timedelta(minutes=minutes)
        barrier, errors = threading.Barrier(2), []
        threads = [threading.Thread(target=_write_uses_at_once, args=(app, barrier, errors, order, used))
                   for order in (ids, ids[::-1])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        with transaction() as conn:
            written = conn.execute(sa.select(api_tokens.c.last_used_at).where(api_tokens.c.id.in_(ids))).scalars()
            assert set(written) == {used}


def _write_uses_at_once(app, barrier, errors, order, used):
    with app.app_context():
        barrier.wait()
        try:
            sessions._write_uses(api_tokens, {i: used for i in order})
        except Exception as error:  # a deadlock, reported by Postgres to one of the two
            errors.append(error)
