"""Outgoing webhooks (shared/API.md "Integrations"): who may manage them, bad URLs, and the deliveries —
signed, once per event, in order, held back by a failing receiver and caught up when it is back.

Deliveries are sent by ``chat.delivery.webhooks.deliver_due`` (the servers' background thread, or
``flask webhooks deliver``); tests call it where a server would, against a receiver on loopback.
"""
import threading

import pytest
import sqlalchemy as sa

from chat.actions import conversations, members, messages, reactions
from chat.delivery.webhooks import deliver_due
from chat.schema import webhook_deliveries, webhooks

from .webhook_support import Receiver


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def register(api, cid, url):
    return api.post(f"/conversations/{cid}/webhooks", json={"url": url})


def hooked(api_as, owner, cid, receiver):
    """Register ``receiver`` for the conversation as ``owner``; the receiver then checks signatures."""
    r = register(api_as(owner), cid, receiver.url)
    assert r.status_code == 201, r.json
    receiver.secret = r.json["secret"]
    return r.json


def stored(app, **where):
    with app.extensions["chat.db"].transaction() as conn:
        query = sa.select(webhook_deliveries).order_by(webhook_deliveries.c.outbox_id)
        for name, value in where.items():
            query = query.where(webhook_deliveries.c[name] == value)
        return conn.execute(query).all()


# --- managing them ----------------------------------------------------------------------------------------

def test_a_group_owner_registers_lists_and_deletes_a_webhook(api_as, alice, book_club):
    a = api_as(alice)
    r = register(a, book_club["id"], "https://example.com/hook")
    assert r.status_code == 201
    assert set(r.json) == {"id", "url", "secret", "created_at"} and r.json["secret"].startswith("whsec_")
    listed = a.get(f"/conversations/{book_club['id']}/webhooks").json["webhooks"]
    assert [h["id"] for h in listed] == [r.json["id"]]
    assert "secret" not in listed[0] and r.json["secret"] not in str(listed)
    assert {"url", "created_at", "last_delivery_at", "last_status", "failing_since"} <= set(listed[0])
    assert a.delete(f"/webhooks/{r.json['id']}").status_code == 204
    assert a.get(f"/conversations/{book_club['id']}/webhooks").json["webhooks"] == []
    assert a.delete(f"/webhooks/{r.json['id']}").status_code == 404


def test_an_admin_manages_them_too(api_as, alice, bob, book_club):
    members.remove_member(alice["id"], book_club["id"], bob["id"])
    members.add_member(alice["id"], book_club["id"], bob["id"], role="admin")
    b = api_as(bob)
    made = register(b, book_club["id"], "https://example.com/a")
    assert made.status_code == 201
    assert b.delete(f"/webhooks/{made.json['id']}").status_code == 204


def test_a_plain_member_may_not_and_an_outsider_sees_nothing(api_as, alice, bob, dave, book_club):
    made = register(api_as(alice), book_club["id"], "https://example.com/hook").json
    b, d = api_as(bob), api_as(dave)
    assert register(b, book_club["id"], "https://example.com/mine").status_code == 403
    assert b.get(f"/conversations/{book_club['id']}/webhooks").status_code == 403
    assert b.delete(f"/webhooks/{made['id']}").status_code == 403
    assert register(d, book_club["id"], "https://example.com/mine").status_code == 404
    assert d.get(f"/conversations/{book_club['id']}/webhooks").status_code == 404
    assert d.delete(f"/webhooks/{made['id']}").status_code == 404
    assert api_as(None).get(f"/conversations/{book_club['id']}/webhooks").status_code == 401
    assert len(api_as(alice).get(f"/conversations/{book_club['id']}/webhooks").json["webhooks"]) == 1


def test_either_member_of_a_direct_conversation_manages_its_webhooks(api_as, alice, bob, dave, direct):
    made = register(api_as(bob), direct["id"], "https://example.com/bob")
    assert made.status_code == 201
    assert len(api_as(alice).get(f"/conversations/{direct['id']}/webhooks").json["webhooks"]) == 1
    assert api_as(dave).delete(f"/webhooks/{made.json['id']}").status_code == 404
    assert api_as(alice).delete(f"/webhooks/{made.json['id']}").status_code == 204


@pytest.mark.parametrize("url", ["ftp://example.com/x", "example.com/hook", "https://", "", "   ", None, 42,
                                 "javascript:alert(1)", "https://exa mple.com/", "http://[::1/x",
                                 "https://example.com/" + "a" * 2001])
def test_bad_urls_are_422_naming_url(api_as, alice, book_club, url):
    r = api_as(alice).post(f"/conversations/{book_club['id']}/webhooks", json={"url": url})
    assert r.status_code == 422 and r.json["error"]["field"] == "url"
    assert api_as(alice).get(f"/conversations/{book_club['id']}/webhooks").json["webhooks"] == []


def test_a_missing_url_and_malformed_json(api_as, alice, book_club):
    a = api_as(alice)
    assert a.post(f"/conversations/{book_club['id']}/webhooks", json={}).json["error"]["field"] == "url"
    r = a.client.post(f"/api/v1/conversations/{book_club['id']}/webhooks", data="{", headers=a._headers(None))
    assert r.status_code == 400


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/x", "http://localhost/x", "http://10.1.2.3/",
                                 "http://192.168.0.10/", "http://169.254.169.254/latest/meta-data",
                                 "http://[::1]/x", "http://[fe80::1]/", "http://100.64.0.1/", "http://0.0.0.0/",
                                 "http://[::ffff:127.0.0.1]/", "http://nothing-here.invalid/"])
def test_production_refuses_private_loopback_and_link_local_addresses(app, api_as, alice, book_club, url):
    app.config["CHAT_ENV"] = "production"
    r = register(api_as(alice), book_club["id"], url)
    assert r.status_code == 422 and r.json["error"]["field"] == "url", r.json


def test_production_checks_again_on_every_attempt(app, api_as, alice, book_club, receiver):
    hooked(api_as, alice, book_club["id"], receiver)  # development allows loopback
    messages.send_message(alice["id"], book_club["id"], "hello")
    app.config["CHAT_ENV"] = "production"
    assert deliver_due(app) == 1
    assert receiver.answered == 0  # never connected
    [hook] = api_as(alice).get(f"/conversations/{book_club['id']}/webhooks").json["webhooks"]
    assert hook["failing_since"] is not None and hook["last_status"] is None
    assert "public internet" in hook["last_error"]


class Redirector:
    """A loopback server answering every POST with ``status`` and ``Location: location``."""

    def __init__(self, status, location):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(status)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/x"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_307_is_followed_to_its_location_resolved_and_checked_afresh(app, api_as, alice, book_club, receiver):
    redirector = Redirector(307, receiver.url)
    try:
        made = register(api_as(alice), book_club["id"], redirector.url).json
        receiver.secret = made["secret"]
        messages.send_message(alice["id"], book_club["id"], "via a redirect")
        assert deliver_due(app) == 1
        assert [t for t, _ in receiver.events()] == ["message.created"]
    finally:
        redirector.stop()


@pytest.mark.parametrize("status", [301, 302, 303])
def test_other_redirects_are_failures_not_followed(app, api_as, alice, book_club, receiver, status):
    redirector = Redirector(status, receiver.url)
    try:
        register(api_as(alice), book_club["id"], redirector.url)
        messages.send_message(alice["id"], book_club["id"], "not followed")
        assert deliver_due(app) == 1 and receiver.answered == 0
        [hook] = api_as(alice).get(f"/conversations/{book_club['id']}/webhooks").json["webhooks"]
        assert hook["last_status"] == status and hook["failing_since"] is not None
    finally:
        redirector.stop()


def test_in_production_each_hop_is_checked_before_connecting(app):
    """``send`` resolves and checks the URL of every hop (the first and each 307/308 Location) in one loop;
    a loopback or private address is refused without a connection. (A redirect from a public host to a
    private one cannot be staged on loopback, so this calls the hop check directly.)"""
    from chat.delivery import webhook_post
    for url in ("http://127.0.0.1:9/x", "http://10.0.0.1/x", "http://[::1]:9/"):
        status, error = webhook_post.send(url, "s", "d", b"{}", timeout=1, production=True)
        assert status is None and "public internet" in error


# --- deliveries -----------------------------------------------------------------------------------------

def test_every_event_arrives_once_signed_and_in_order(app, api_as, alice, bob, book_club, receiver):
    hooked(api_as, alice, book_club["id"], receiver)
    sent = [messages.send_message(alice["id"], book_club["id"], f"message {i}")[0] for i in range(5)]
    messages.edit_message(alice["id"], sent[1]["id"], "message 1, edited")
    reactions.add_reaction(bob["id"], sent[2]["id"], "👍")
    assert deliver_due(app) == 7
    assert deliver_due(app) == 0  # nothing twice
    assert receiver.bad_signatures == [] and receiver.answered == 7
    got = receiver.events()
    assert [t for t, _ in got] == ["message.created"] * 5 + ["message.updated", "reaction.added"]
    assert [d["seq"] for _, d in got[:5]] == [m["seq"] for m in sent]
    assert got[5][1]["body"] == "message 1, edited" and got[6][1]["emoji"] == "👍"
    first = receiver.accepted[0]
    assert first["json"]["conversation_id"] == book_club["id"] and first["json"]["created_at"]
    assert first["headers"]["X-Chat-Delivery"] == first["json"]["id"]
    assert first["headers"]["Content-Type"] == "application/json"
    assert len(set(receiver.delivery_ids())) == 7
    [hook] = api_as(alice).get(f"/conversations/{book_club['id']}/webhooks").json["webhooks"]
    assert hook["last_status"] == 204 and hook["failing_since"] is None and hook["last_delivery_at"]


def test_a_failing_receiver_holds_back_later_events_until_it_is_back(app, api_as, alice, book_club, receiver):
    app.config.update(WEBHOOK_RETRY_BASE_SECONDS=0)  # retry at once: the order is what is under test
    hooked(api_as, alice, book_club["id"], receiver)
    messages.send_message(alice["id"], book_club["id"], "before")
    assert deliver_due(app) == 1
    receiver.mode = "fail"
    for i in range(3):
        messages.send_message(alice["id"], book_club["id"], f"during {i}")
    assert deliver_due(app) == 1  # the first failure holds back the rest
    assert deliver_due(app) == 1
    [hook] = api_as(alice).get(f"/conversations/{book_club['id']}/webhooks").json["webhooks"]
    assert hook["last_status"] == 500 and hook["failing_since"] is not None
    receiver.stop()  # now refusing connections
    assert deliver_due(app) == 1
    [hook] = api_as(alice).get(f"/conversations/{book_club['id']}/webhooks").json["webhooks"]
    assert hook["last_status"] is None and "refused" in hook["last_error"]
    messages.send_message(alice["id"], book_club["id"], "after")
    receiver.start()
    receiver.mode = "ok"
    assert deliver_due(app) == 4
    assert [d["body"] for _, d in receiver.events()] == ["before", "during 0", "during 1", "during 2", "after"]
    assert len(set(receiver.delivery_ids())) == 5
    [hook] = api_as(alice).get(f"/conversations/{book_club['id']}/webhooks").json["webhooks"]
    assert hook["failing_since"] is None and hook["last_status"] == 204
    head = stored(app)[1]
    assert head.attempts == 4 and head.delivered_at is not None


def test_a_retry_waits_its_backoff(app, api_as, alice, book_club, receiver):
    app.config.update(WEBHOOK_RETRY_BASE_SECONDS=3600)
    hooked(api_as, alice, book_club["id"], receiver)
    receiver.mode = "fail"
    messages.send_message(alice["id"], book_club["id"], "one")
    assert deliver_due(app) == 1
    assert deliver_due(app) == 0  # not due for an hour
    [row] = stored(app)
    assert row.attempts == 1 and (row.next_attempt_at - row.created_at).total_seconds() > 3500


def test_a_delivery_failing_past_the_retry_period_is_dropped_and_the_next_goes(app, api_as, alice, book_club,
                                                                                receiver):
    app.config.update(WEBHOOK_RETRY_BASE_SECONDS=0, WEBHOOK_RETRY_FOR_SECONDS=0)
    hooked(api_as, alice, book_club["id"], receiver)
    receiver.mode = "fail"
    messages.send_message(alice["id"], book_club["id"], "lost")
    assert deliver_due(app) == 1
    receiver.mode = "ok"
    messages.send_message(alice["id"], book_club["id"], "next")
    assert deliver_due(app) == 1
    assert [d["body"] for _, d in receiver.events()] == ["next"]
    assert stored(app)[0].abandoned_at is not None


def test_only_its_own_conversation_and_not_after_its_maker_left(app, api_as, alice, bob, carol, book_club,
                                                                receiver):
    members.remove_member(alice["id"], book_club["id"], bob["id"])
    members.add_member(alice["id"], book_club["id"], bob["id"], role="admin")
    hooked(api_as, bob, book_club["id"], receiver)
    other = conversations.create_group(alice["id"], "other", [carol["id"]])
    messages.send_message(alice["id"], other["id"], "elsewhere")
    messages.send_message(alice["id"], book_club["id"], "here")
    members.remove_member(bob["id"], book_club["id"], bob["id"])
    messages.send_message(alice["id"], book_club["id"], "after bob left")
    deliver_due(app)
    got = receiver.events()
    assert [d.get("body") for t, d in got if t == "message.created"] == ["here"]
    assert all(d.get("conversation_id", book_club["id"]) == book_club["id"] for _, d in got)


def test_deleting_a_webhook_drops_its_pending_deliveries(app, api_as, alice, book_club, receiver):
    made = hooked(api_as, alice, book_club["id"], receiver)
    messages.send_message(alice["id"], book_club["id"], "queued")
    assert len(stored(app)) == 1
    assert api_as(alice).delete(f"/webhooks/{made['id']}").status_code == 204
    assert stored(app) == [] and deliver_due(app) == 0


def test_a_webhook_another_sender_holds_is_left_alone(app, api_as, alice, book_club, receiver):
    """The lease: while one sender works through a webhook, another process's sender skips it."""
    from datetime import timedelta

    from chat.schema import utcnow
    made = hooked(api_as, alice, book_club["id"], receiver)
    messages.send_message(alice["id"], book_club["id"], "one")
    with app.extensions["chat.db"].transaction() as conn:
        conn.execute(webhooks.update().where(webhooks.c.id == made["id"])
                     .values(leased_until=utcnow() + timedelta(minutes=1)))
    assert deliver_due(app) == 0 and receiver.answered == 0
    with app.extensions["chat.db"].transaction() as conn:
        conn.execute(webhooks.update().where(webhooks.c.id == made["id"])
                     .values(leased_until=utcnow() - timedelta(seconds=1)))  # its holder died: the lease lapses
    assert deliver_due(app) == 1 and receiver.answered == 1


def test_the_deliver_command(app, runner, api_as, alice, book_club, receiver):
    hooked(api_as, alice, book_club["id"], receiver)
    messages.send_message(alice["id"], book_club["id"], "from the command")
    result = runner.invoke(args=["webhooks", "deliver"])
    assert result.exit_code == 0 and "Attempted 1" in result.output
    assert [d["body"] for _, d in receiver.events()] == ["from the command"]
