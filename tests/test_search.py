"""Search (shared/API.md ``GET /api/v1/search``) on SQLite and Postgres: the index follows every write at once,
membership is checked now, words match regardless of case and accents, filters and bad input."""
import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from chat.actions import attachments, members, messages
from chat.actions import search as search_action
from chat.db import transaction
from chat.schema import utcnow


def found(api, q, **params):
    response = api.get("/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.json
    return [r["message"]["body"] for r in response.json["results"]]


def send(user, conversation, body, **kw):
    return messages.send_message(user["id"], conversation["id"], body, **kw)[0]


def png():
    out = io.BytesIO()
    Image.new("RGB", (2, 2), "blue").save(out, "PNG")
    return out.getvalue()


# --- words ---------------------------------------------------------------------------------------------------

def test_finds_by_word_regardless_of_case_and_accents(api_as, alice, bob, direct):
    send(bob, direct, "Let's meet at the Café tomorrow")
    send(alice, direct, "CRÈME brûlée for dessert?")
    send(alice, direct, "nothing to see here")
    api = api_as(alice)
    assert found(api, "cafe") == ["Let's meet at the Café tomorrow"]
    assert found(api, "CAFÉ") == ["Let's meet at the Café tomorrow"]
    assert found(api, "creme brulee") == ["CRÈME brûlée for dessert?"]
    assert found(api, "Crème dessert") == ["CRÈME brûlée for dessert?"]
    assert found(api, "creme tomorrow") == []  # every word must match
    assert found(api, "dessert!?") == ["CRÈME brûlée for dessert?"]  # punctuation is not syntax
    assert found(api, '" OR * NEAR(') == []  # nor is anything else


def test_results_are_newest_first_with_a_highlight_and_the_message(api_as, alice, bob, direct):
    first = send(bob, direct, "pizza tonight?")
    second = send(alice, direct, "Pizza <b>again</b>, sure")
    body = api_as(alice).get("/search?q=pizza").json
    assert [r["message"]["id"] for r in body["results"]] == [second["id"], first["id"]]
    top = body["results"][0]
    assert top["conversation_id"] == direct["id"] and top["message"]["seq"] == second["seq"]
    assert top["highlight"] == "<mark>Pizza</mark> &lt;b&gt;again&lt;/b&gt;, sure"  # escaped, then marked
    assert body["next_cursor"] is None


def test_highlight_cuts_long_messages_around_the_first_match():
    body = "a" * 300 + " Zürich " + "b" * 300
    html = str(search_action.highlight(body, ["zurich"]))
    assert "<mark>Zürich</mark>" in html and html.startswith("…") and html.endswith("…")
    assert len(html) < 250


# --- the index follows every write ----------------------------------------------------------------------------

def test_edits_and_deletes_change_results_at_once(api_as, alice, bob, direct):
    message = send(bob, direct, "the launch code is banana")
    api = api_as(alice)
    assert found(api, "banana") == ["the launch code is banana"]
    messages.edit_message(bob["id"], message["id"], "the launch code is mango")
    assert found(api, "banana") == []  # never an edited-away word
    assert found(api, "mango") == ["the launch code is mango"]
    messages.delete_message(bob["id"], message["id"])
    assert found(api, "mango") == [] and found(api, "launch") == []


def test_a_removed_member_no_longer_finds(api_as, alice, bob, carol, book_club):
    send(alice, book_club, "chapter seven was wonderful")
    assert found(api_as(bob), "wonderful") == ["chapter seven was wonderful"]
    members.remove_member(alice["id"], book_club["id"], bob["id"])
    assert found(api_as(bob), "wonderful") == []
    assert found(api_as(carol), "wonderful") == ["chapter seven was wonderful"]


def test_others_conversations_are_never_found(api_as, alice, bob, carol, dave, direct):
    from chat.actions import conversations
    other = conversations.open_direct(carol["id"], dave["id"])[0]
    send(carol, other, "secret walrus plans")
    assert found(api_as(alice), "walrus") == []
    assert found(api_as(carol), "walrus") == ["secret walrus plans"]
    response = api_as(alice).get("/search", query_string={"q": "walrus", "conversation_id": other["id"]})
    assert response.status_code == 404


def test_search_needs_a_signed_in_user(api_as):
    assert api_as(None).get("/search?q=hello").status_code == 401


# --- filters -----------------------------------------------------------------------------------------------

def test_filter_by_conversation_sender_attachment_and_dates(api_as, alice, bob, carol, direct, book_club):
    send(bob, direct, "report draft one")
    send(alice, book_club, "report for the club")
    photo = attachments.upload(carol["id"], FileStorage(stream=io.BytesIO(png()), filename="r.png"))
    send(carol, book_club, "report picture", kind="image", attachment_ids=[photo["id"]])
    api = api_as(alice)
    assert len(found(api, "report")) == 3
    assert found(api, "report", conversation_id=direct["id"]) == ["report draft one"]
    assert found(api, "report", **{"from": "bob"}) == ["report draft one"]
    assert found(api, "report", **{"from": "@Carol"}) == ["report picture"]
    assert found(api, "report", **{"from": alice["id"]}) == ["report for the club"]
    assert found(api, "report", has="attachment") == ["report picture"]
    today = utcnow().date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert len(found(api, "report", after=today.isoformat(), before=tomorrow)) == 3
    assert found(api, "report", before=today.isoformat()) == []
    assert found(api, "report", after=tomorrow) == []
    assert len(found(api, "report", after=(utcnow() - timedelta(minutes=5)).isoformat())) == 3


def test_dates_filter_by_when_the_message_was_sent(api_as, app, alice, bob, direct):
    from chat.schema import messages as messages_table
    old = send(bob, direct, "old invoice")
    send(bob, direct, "new invoice")
    with transaction() as conn:
        conn.execute(messages_table.update().where(messages_table.c.id == old["id"])
                     .values(created_at=datetime(2026, 10, 15, 12, tzinfo=UTC)))
    api = api_as(alice)
    assert found(api, "invoice", before="2026-11-01") == ["old invoice"]
    assert found(api, "invoice", after="2026-10-15", before="2026-10-16") == ["old invoice"]
    assert found(api, "invoice", after="2026-10-15T13:00:00+00:00", before="2026-10-16") == []
    assert found(api, "invoice", after="2026-11-01") == ["new invoice"]


def test_cursor_pages_through_every_result_once(api_as, alice, bob, direct):
    sent = [send(bob if i % 2 else alice, direct, f"note number {i}") for i in range(7)]
    api = api_as(alice)
    seen, cursor = [], None
    for _ in range(5):
        params = {"q": "note", "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.get("/search", query_string=params).json
        seen += [r["message"]["id"] for r in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [m["id"] for m in reversed(sent)]


# --- bad input ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("params", "field"), [
    ({}, "q"), ({"q": ""}, "q"), ({"q": "   "}, "q"), ({"q": "x" * 201}, "q"), ({"q": "a\x00b"}, "q"),
    ({"q": "hi", "limit": "0"}, "limit"), ({"q": "hi", "limit": "51"}, "limit"), ({"q": "hi", "limit": "x"}, "limit"),
    ({"q": "hi", "before": "yesterday"}, "before"), ({"q": "hi", "after": "2026-13-01"}, "after"),
    ({"q": "hi", "has": "link"}, "has"), ({"q": "hi", "from": "nobody_here"}, "from"),
    ({"q": "hi", "cursor": "not-a-cursor"}, "cursor"), ({"q": "hi", "cursor": "WyJ4IiwgMV0"}, "cursor"),
])
def test_bad_input_is_a_422_naming_the_field(api_as, alice, params, field):
    response = api_as(alice).get("/search", query_string=params)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field


def test_200_characters_is_still_a_search(api_as, alice, bob, direct):
    send(bob, direct, "hello")
    assert found(api_as(alice), "hello " + "x" * 194) == []
    assert found(api_as(alice), "  hello  ") == ["hello"]


def test_search_is_rate_limited_per_user(backend, request, tmp_path):
    from chat import create_app
    from chat.actions import accounts
    from chat.security import limiter

    from .conftest import TEST_CONFIG, Api, IsolatedClient, _truncate_postgres
    config = dict(TEST_CONFIG, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                  RATE_LIMIT_SEARCH="2/minute", UPLOAD_FOLDER=str(tmp_path / "uploads"))
    if backend == "postgres":
        config["DATABASE_URL"] = request.getfixturevalue("postgres_url")
        _truncate_postgres(config["DATABASE_URL"])
    else:
        config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    app = create_app(config)
    app.test_client_class = IsolatedClient
    limiter.reset()
    try:
        with app.app_context():
            tokens = [accounts.issue_token(accounts.sign_up(f"{n}@example.com", n, "password123", n)["id"])
                      for n in ("erin", "frank")]
        erin, frank = (Api(app.test_client(), t) for t in tokens)
        assert [erin.get("/search?q=x").status_code for _ in range(3)] == [200, 200, 429]
        assert frank.get("/search?q=x").status_code == 200  # per user
    finally:
        limiter.reset()
        app.extensions["chat.db"].dispose()
