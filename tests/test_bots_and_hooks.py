"""Bots (a user made by a person, posting with its own token) and incoming webhooks (a secret URL that posts
into one conversation as the person who made it) — shared/API.md "Integrations"."""
import pytest
import sqlalchemy as sa

from chat.actions import accounts, conversations, members
from chat.schema import incoming_webhooks

from .conftest import Api
from .test_limits import make_app  # noqa: F401  (fixture)
from .web_support import web_as_fixture, web_fixture  # noqa: F401  (fixtures)


def make_bot(api, username="helper_bot", display_name="Helper"):
    return api.post("/bots", json={"username": username, "display_name": display_name})


# --- bots -----------------------------------------------------------------------------------------------

def test_a_bot_is_a_user_with_its_own_token_that_posts_where_its_maker_adds_it(api_as, alice, book_club):
    a = api_as(alice)
    r = make_bot(a)
    assert r.status_code == 201
    bot, token = r.json["user"], r.json["token"]
    assert bot["username"] == "helper_bot" and bot["display_name"] == "Helper" and bot["bot"] is True
    assert a.get("/me").json["bot"] is False
    as_bot = api_as(None)
    as_bot.token = token
    assert as_bot.get("/me").json["id"] == bot["id"]
    assert as_bot.post(f"/conversations/{book_club['id']}/messages", json={"body": "hi"}).status_code == 404
    assert a.post(f"/conversations/{book_club['id']}/members", json={"user_id": bot["id"]}).status_code == 201
    sent = as_bot.post(f"/conversations/{book_club['id']}/messages", json={"body": "beep"})
    assert sent.status_code == 201 and sent.json["sender_id"] == bot["id"]
    assert a.get(f"/users/{bot['id']}").json["bot"] is True


def test_a_bot_cannot_sign_in_with_a_password(api_as, client, web, alice):
    bot = make_bot(api_as(alice)).json["user"]
    for password in ("", "password123", "!bot", "x" * 10):
        r = client.post("/api/v1/auth/token", json={"login": bot["username"], "password": password})
        assert r.status_code in (401, 422)
    for password in ("password123", "!bot"):
        r = web.post("/login", {"login": bot["username"], "password": password})
        assert r.status_code != 303 and "Wrong" in r.get_data(as_text=True)


def test_only_its_maker_adds_a_bot_and_bots_make_no_bots(api_as, alice, bob, dave):
    bot = make_bot(api_as(alice)).json
    club = api_as(bob).post("/conversations", json={"name": "bob's", "member_ids": [dave["id"]]}).json
    assert api_as(bob).post(f"/conversations/{club['id']}/members", json={"user_id": bot["user"]["id"]}) \
        .status_code == 403
    as_bot = api_as(None)
    as_bot.token = bot["token"]
    assert make_bot(as_bot, "bot_of_a_bot").status_code == 403


def test_bad_bot_input(api_as, alice, bob):
    a = api_as(alice)
    assert make_bot(a, "bob").status_code == 409 and make_bot(a, "bob").json["error"]["field"] == "username"
    for username in ("", "No Spaces", "ab", "x" * 33, None, 7):
        r = make_bot(a, username)
        assert r.status_code == 422 and r.json["error"]["field"] == "username", username
    r = make_bot(a, "fine_name", "d" * 81)
    assert r.status_code == 422 and r.json["error"]["field"] == "display_name"
    assert api_as(None).post("/bots", json={"username": "anon_bot"}).status_code == 401


def test_a_bot_shows_a_badge_beside_its_messages(app, api_as, web_as, alice, book_club):
    a = api_as(alice)
    made = make_bot(a).json
    a.post(f"/conversations/{book_club['id']}/members", json={"user_id": made["user"]["id"]})
    as_bot = api_as(None)
    as_bot.token = made["token"]
    as_bot.post(f"/conversations/{book_club['id']}/messages", json={"body": "beep boop"})
    page = web_as(alice).get(f"/c/{book_club['id']}").get_data(as_text=True)
    assert 'class="tag tag--bot"' in page and "beep boop" in page


# --- incoming webhooks --------------------------------------------------------------------------------

def make_hook(api, cid):
    return api.post(f"/conversations/{cid}/incoming-webhooks")


def test_an_incoming_webhook_posts_as_its_maker_marked_via_webhook(app, api_as, client, alice, bob, book_club,
                                                                   record):
    rec = record(bob)
    r = make_hook(api_as(alice), book_club["id"])
    assert r.status_code == 201 and set(r.json) >= {"id", "url"} and "/hooks/" in r.json["url"]
    path = r.json["url"].split("://", 1)[1].partition("/")[2]
    posted = client.post("/" + path, json={"body": "  build passed  "})
    assert posted.status_code == 201
    message = posted.json
    assert message["sender_id"] == alice["id"] and message["body"] == "build passed"
    assert message["metadata"]["via"] == "webhook"
    assert [e.type for e in rec.take(bob)].count("message.created") == 1
    with app.extensions["chat.db"].transaction() as conn:
        hashes = conn.execute(sa.select(incoming_webhooks.c.secret_hash)).scalars().all()
    secret = path.rsplit("/", 1)[1]
    assert len(hashes) == 1 and secret not in hashes[0]  # only a hash is kept


def test_bad_posts_to_an_incoming_webhook(api_as, client, alice, book_club):
    path = "/hooks/" + make_hook(api_as(alice), book_club["id"]).json["url"].rsplit("/", 1)[1]
    for body in ({}, {"body": ""}, {"body": "   "}, {"body": 5}, {"body": "x" * 4001}):
        r = client.post(path, json=body)
        assert r.status_code == 422 and r.json["error"]["field"] == "body", body
    assert client.post(path, data="{", content_type="application/json").status_code == 400
    assert client.post("/hooks/not-a-secret", json={"body": "hi"}).status_code == 404
    assert client.post("/hooks/" + "x" * 300, json={"body": "hi"}).status_code == 404


def test_deleting_an_incoming_webhook_makes_its_url_404(api_as, client, alice, bob, dave, book_club):
    made = make_hook(api_as(alice), book_club["id"]).json
    path = "/hooks/" + made["url"].rsplit("/", 1)[1]
    assert api_as(bob).delete(f"/incoming-webhooks/{made['id']}").status_code == 404
    assert api_as(dave).delete(f"/incoming-webhooks/{made['id']}").status_code == 404
    assert client.post(path, json={"body": "still here"}).status_code == 201
    assert api_as(alice).delete(f"/incoming-webhooks/{made['id']}").status_code == 204
    assert client.post(path, json={"body": "gone"}).status_code == 404
    assert api_as(alice).delete(f"/incoming-webhooks/{made['id']}").status_code == 404


def test_an_outsider_cannot_make_one_and_a_maker_who_left_stops_it(api_as, client, alice, bob, dave, book_club):
    assert make_hook(api_as(dave), book_club["id"]).status_code == 404
    assert make_hook(api_as(None), book_club["id"]).status_code == 401
    made = make_hook(api_as(bob), book_club["id"]).json
    path = "/hooks/" + made["url"].rsplit("/", 1)[1]
    members.remove_member(bob["id"], book_club["id"], bob["id"])
    assert client.post(path, json={"body": "after leaving"}).status_code == 404


def test_an_incoming_webhook_needs_no_csrf_token_even_beside_a_session(web_as, api_as, alice, book_club):
    made = make_hook(api_as(alice), book_club["id"]).json
    browser = web_as(alice)  # signed in with a cookie; the hook's URL ignores it
    r = browser.client.post("/hooks/" + made["url"].rsplit("/", 1)[1], json={"body": "from a script"})
    assert r.status_code == 201


@pytest.mark.usefixtures("make_app")
def test_posting_through_a_hook_is_rate_limited(request):
    app = request.getfixturevalue("make_app")(RATE_LIMIT_INCOMING_WEBHOOKS="2/minute")
    with app.app_context():
        alice, bob = (accounts.sign_up(f"{n}@example.com", n, "password123") for n in ("alice", "bob"))
        group = conversations.create_group(alice["id"], "limited", [bob["id"]])
        made = make_hook(Api(app.test_client(), accounts.issue_token(alice["id"])), group["id"]).json
    client = app.test_client()
    path = "/hooks/" + made["url"].rsplit("/", 1)[1]
    codes = [client.post(path, json={"body": f"n{i}"}).status_code for i in range(3)]
    assert codes == [201, 201, 429]
    r = client.post(path, json={"body": "again"})
    assert r.json["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) > 0
