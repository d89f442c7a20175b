"""``GET /api/v1/events`` (shared/API.md, "The event stream"), typing and presence, through the Flask app."""
import time

import pytest

from .test_live_sse import StreamReader


@pytest.fixture
def app_fast(app):
    app.config["SSE_HEARTBEAT_SECONDS"] = 0.2
    return app


def open_stream(api, last_event_id=None, query=None):
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    response = api.get("/events" + (query or ""), headers=headers, buffered=False)
    assert response.status_code == 200, response.get_data(as_text=True)
    chunks = iter(response.response)
    first = next(chunks)  # the stream has subscribed and fixed its position once its first byte is out
    assert first.startswith(b"retry: ")
    return response, StreamReader(_prepend(first, chunks))


def _prepend(first, chunks):
    yield first
    yield from chunks


def test_stream_needs_a_sign_in_and_answers_401_json_not_a_redirect(app_fast, api_as):
    response = api_as(None).get("/events")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_a_token_in_the_url_is_not_accepted(app_fast, api_as, alice):
    from chat.actions import accounts
    token = accounts.issue_token(alice["id"])
    for name in ("token", "access_token", "bearer"):
        assert api_as(None).get(f"/events?{name}={token}").status_code == 401


def test_headers_and_a_first_byte_at_once(app_fast, api_as, alice):
    response, _ = open_stream(api_as(alice))  # the first chunk is a retry line
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    response.close()


def test_heartbeat_comments_while_idle(app_fast, api_as, alice):
    response, reader = open_stream(api_as(alice))
    blocks = reader.read_blocks(lambda blocks: sum(1 for b in blocks if b["comment"] == "ping") >= 2, timeout=3)
    assert not [b for b in blocks if b["event"]]
    response.close()


def test_members_get_events_as_one_line_of_json_with_a_cursor(app_fast, api_as, alice, bob, book_club):
    response, reader = open_stream(api_as(bob))
    api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": "line one\nline two"})
    created, updated = reader.events(2)
    assert created["event"] == "message.created"
    assert created["json"]["body"] == "line one\nline two" and "\n" not in created["data"]
    epoch, _, entry = created["id"].rpartition(":")
    assert epoch and entry
    assert updated["event"] == "conversation.updated" and updated["json"]["unread_count"] == 1
    response.close()


def test_resume_sends_exactly_the_missed_events_in_order(app_fast, api_as, alice, bob, book_club):
    sender = api_as(alice)
    response, reader = open_stream(api_as(bob))
    first = sender.post(f"/conversations/{book_club['id']}/messages", json={"body": "before"}).json
    reader.events(2)
    last_id = reader.last_id
    response.close()
    sent = [sender.post(f"/conversations/{book_club['id']}/messages", json={"body": f"m{i}"}).json
            for i in range(10)]
    sender.patch(f"/messages/{first['id']}", json={"body": "before, edited"})
    for resume in ({"last_event_id": last_id}, {"query": f"?last_event_id={last_id}"}):
        response, reader = open_stream(api_as(bob), **resume)
        events = reader.events(21)  # 10 × (message.created, conversation.updated), and the edit
        assert [e["json"]["seq"] for e in events if e["event"] == "message.created"] == [m["seq"] for m in sent]
        assert events[-1]["event"] == "message.updated"  # not the preview: no new conversation view
        assert reader.quiet(0.5) == []
        response.close()


def test_an_unknown_cursor_gets_reset_and_then_live_events(app_fast, api_as, alice, bob, book_club):
    for stale in ("another-epoch:12-0", "garbage"):
        response, reader = open_stream(api_as(bob), last_event_id=stale)
        (reset,) = reader.events(1)
        assert reset["event"] == "reset" and reset["json"] == {} and reset["id"]
        api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": "after reset"})
        assert reader.events(1)[0]["event"] == "message.created"
        response.close()


def test_a_session_cookie_opens_the_stream(app_fast, alice, bob, book_club, api_as):
    client = app_fast.test_client()
    from chat.actions import sessions
    with client.session_transaction() as session:
        session["_user_id"] = sessions.create(bob["id"])  # the identity is a server-side session
        session["_fresh"] = True
    response = client.get("/api/v1/events", buffered=False)
    assert response.status_code == 200
    reader = StreamReader(response.response)
    api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": "hi"})
    assert reader.events(1)[0]["event"] == "message.created"
    response.close()


def test_typing_is_live_for_the_others_only_and_never_replayed(app_fast, api_as, alice, bob, carol, dave,
                                                               book_club):
    bob_response, bob_stream = open_stream(api_as(bob))
    assert api_as(alice).post(f"/conversations/{book_club['id']}/typing").status_code == 204
    assert api_as(alice).post(f"/conversations/{book_club['id']}/typing").status_code == 204  # throttled
    assert api_as(dave).post(f"/conversations/{book_club['id']}/typing").status_code == 404
    assert api_as(alice).post("/conversations/not-a-conversation/typing").status_code == 404
    (typing,) = [e for e in bob_stream.quiet(0.5) if e["event"] == "typing"]
    assert typing["id"] is None and '"user_id"' in typing["data"]
    bob_response.close()
    response, reader = open_stream(api_as(bob), last_event_id=bob_stream.last_id)
    assert [e for e in reader.quiet(0.5) if e["event"] == "typing"] == []
    response.close()


def test_someone_who_left_a_group_can_no_longer_say_they_are_typing_in_it(app_fast, api_as, alice, bob, carol,
                                                                          book_club):
    path = f"/conversations/{book_club['id']}"
    assert api_as(carol).delete(f"{path}/members/{carol['id']}").status_code == 204
    bob_response, bob_stream = open_stream(api_as(bob))
    assert api_as(carol).post(f"{path}/typing").status_code == 404
    assert api_as(alice).post(f"{path}/typing").status_code == 204
    typists = [e["json"]["user_id"] for e in bob_stream.quiet(0.5) if e["event"] == "typing"]
    assert typists == [alice["id"]]
    bob_response.close()


def test_nobody_is_shown_typing_in_a_group_bigger_than_the_typing_limit(app_fast, api_as, alice, bob, book_club,
                                                                        direct):
    app_fast.config["TYPING_MAX_MEMBERS"] = 2  # the group has 3 members, the direct conversation 2
    bob_response, bob_stream = open_stream(api_as(bob))
    assert api_as(alice).post(f"/conversations/{book_club['id']}/typing").status_code == 204
    assert api_as(alice).post(f"/conversations/{direct['id']}/typing").status_code == 204
    shown = [e["json"]["conversation_id"] for e in bob_stream.quiet(0.5) if e["event"] == "typing"]
    assert shown == [direct["id"]]
    bob_response.close()


def test_presence_online_away_offline_for_people_who_share_a_conversation(app_fast, api_as, alice, bob, dave,
                                                                          book_club):
    alice_response, alice_stream = open_stream(api_as(alice))
    dave_response, dave_stream = open_stream(api_as(dave))
    bob_response, bob_stream = open_stream(api_as(bob))
    bob_stream.quiet(0.3)  # bob's stream announces him once it is running
    assert api_as(alice).get(f"/presence?user_id={bob['id']}&user_id={dave['id']}").json == {
        "presence": {bob["id"]: "online"}}
    assert api_as(bob).post("/presence", json={"status": "away"}).json == {"status": "away"}
    assert api_as(bob).post("/presence", json={"status": "asleep"}).status_code == 422
    bob_response.close()
    seen = [(e["json"]["user_id"], e["json"]["status"]) for e in alice_stream.quiet(0.5) if e["event"] == "presence"]
    assert seen == [(bob["id"], "online"), (bob["id"], "away"), (bob["id"], "offline")]
    assert [e for e in dave_stream.quiet(0.3) if e["event"] == "presence"] == []
    dave_response.close()  # streams in one test thread share Flask's context stack: close them last first
    alice_response.close()


# --- cursors that are not well formed (security S8) ------------------------------------------------------

@pytest.mark.parametrize("entry", ["1_000-0", " 5-0", "5-0 ", "12345678901234567890-0", "1-18446744073709551616",
                                   "١-0", "5", "-1-0"])
def test_a_malformed_cursor_gets_reset_not_a_silent_stream(app_fast, api_as, alice, bob, book_club, entry):
    epoch = app_fast.extensions["chat.broker"].epoch()
    response, reader = open_stream(api_as(bob), query=f"?last_event_id={epoch}:{entry}")
    (reset,) = reader.events(1)
    assert reset["event"] == "reset"
    api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": "after reset"})
    assert reader.events(1)[0]["event"] == "message.created"
    response.close()


def test_the_last_cursor_in_the_url_wins(app_fast, api_as, alice, bob, book_club):
    sender = api_as(alice)
    response, reader = open_stream(api_as(bob))
    sender.post(f"/conversations/{book_club['id']}/messages", json={"body": "one"})
    first = reader.events(2)[-1]["id"]
    sender.post(f"/conversations/{book_club['id']}/messages", json={"body": "two"})
    second = reader.events(2)[-1]["id"]
    response.close()
    sender.post(f"/conversations/{book_club['id']}/messages", json={"body": "three"})
    response, reader = open_stream(api_as(bob), query=f"?last_event_id={first}&last_event_id={second}")
    assert [e["json"]["body"] for e in reader.events(2) if e["event"] == "message.created"] == ["three"]
    assert reader.quiet(0.3) == []
    response.close()


# --- "position unknown" cursors (security S4): replay a new log, reset in the same one ---------------------

def test_a_blind_cursor_from_an_older_life_of_the_log_replays_all_of_it(app_fast, api_as, alice, bob, book_club):
    sender = api_as(alice)
    sent = [sender.post(f"/conversations/{book_club['id']}/messages", json={"body": f"m{i}"}).json
            for i in range(3)]
    response, reader = open_stream(api_as(bob), query="?last_event_id=%3Fan-older-epoch")
    events = reader.events(6)
    assert [e["json"]["seq"] for e in events if e["event"] == "message.created"] == [m["seq"] for m in sent]
    assert [e for e in events if e["event"] == "reset"] == [] and reader.quiet(0.3) == []
    response.close()


@pytest.mark.parametrize("marker", ["?", "?{epoch}"])
def test_a_blind_cursor_in_the_same_log_gets_reset(app_fast, api_as, alice, bob, book_club, marker):
    api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": "before"})
    epoch = app_fast.extensions["chat.broker"].epoch()
    response, reader = open_stream(api_as(bob), last_event_id=marker.format(epoch=epoch))
    (reset,) = reader.events(1)
    assert reset["event"] == "reset"
    response.close()


# --- streams end with their credentials (security S2) ----------------------------------------------------

@pytest.fixture
def checked(app_fast, bob):
    """A stream route whose ``alive`` check the test flips (the real routes pass the session's)."""
    from flask import g

    from chat.delivery.stream import json_render, sse_response
    state = {"alive": True, "checks": 0}

    def alive():
        assert g is not None  # runs in an app context
        state["checks"] += 1
        if state["alive"] == "raise":
            raise RuntimeError("the session store is unreachable")
        return state["alive"]
    app_fast.add_url_rule("/_test/checked-events", "checked_events",
                          lambda: sse_response(bob["id"], None, json_render, alive=alive))
    return state


def open_checked(app):
    response = app.test_client().get("/_test/checked-events", buffered=False)
    assert response.status_code == 200
    return response, StreamReader(response.response)


def test_a_stream_whose_credentials_lapse_ends_at_the_next_heartbeat(app_fast, checked):
    response, reader = open_checked(app_fast)
    reader.read_blocks(lambda blocks: sum(1 for b in blocks if b["comment"] == "ping") >= 2)
    assert checked["checks"] >= 1
    checked["alive"] = False
    (expired,) = reader.events(1)
    assert expired["event"] == "session-expired"
    assert list(reader.chunks) == []  # and the stream is over
    response.close()


def test_a_session_event_ends_a_revoked_stream_at_once(app_fast, checked, alice, bob, api_as, book_club):
    app_fast.config["SSE_HEARTBEAT_SECONDS"] = 20
    broker = app_fast.extensions["chat.broker"]
    response, reader = open_checked(app_fast)
    reader.read_blocks(lambda blocks: bool(blocks))  # the retry line: the stream is open
    broker.publish_ephemeral([bob["id"]], "session", {})  # still alive: nothing is sent, nothing ends
    api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": "still here"})
    assert [e["event"] for e in reader.events(2)] == ["message.created", "conversation.updated"]
    assert checked["checks"] == 1
    checked["alive"] = False
    broker.publish_ephemeral([bob["id"]], "session", {})
    started = time.monotonic()
    (expired,) = reader.events(1, timeout=3)
    assert expired["event"] == "session-expired" and time.monotonic() - started < 3
    assert checked["checks"] == 2
    response.close()


def test_an_alive_check_that_fails_keeps_the_stream_open(app_fast, checked, alice, bob, api_as, book_club):
    checked["alive"] = "raise"
    response, reader = open_checked(app_fast)
    reader.read_blocks(lambda blocks: sum(1 for b in blocks if b["comment"] == "ping") >= 2)
    api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": "still here"})
    assert reader.events(1)[0]["event"] == "message.created"
    response.close()


def test_a_session_event_for_someone_else_changes_nothing(app_fast, checked, alice, api_as, book_club):
    app_fast.config["SSE_HEARTBEAT_SECONDS"] = 20
    response, reader = open_checked(app_fast)
    checked["alive"] = False  # would end the stream if it were asked
    app_fast.extensions["chat.broker"].publish_ephemeral([alice["id"]], "session", {})
    api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": "still here"})
    assert [e["event"] for e in reader.events(2)] == ["message.created", "conversation.updated"]
    assert checked["checks"] == 0
    response.close()


# --- a cap on one person's streams (security S7) ---------------------------------------------------------

def test_more_streams_than_allowed_end_the_oldest_and_keep_the_rest(app_fast, api_as, alice, bob, book_club):
    app_fast.extensions["chat.broker"].max_streams = 2
    oldest, old_reader = open_stream(api_as(bob))
    middle, middle_reader = open_stream(api_as(bob))
    other, other_reader = open_stream(api_as(alice))  # someone else's streams do not count
    newest, new_reader = open_stream(api_as(bob))
    # A forgotten tab waits long before coming back (and pushing out another).
    old_reader.read_blocks(lambda blocks: any(b["retry"] == "600000" for b in blocks))
    assert list(old_reader.chunks) == []
    api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": "hi"})
    for reader in (middle_reader, new_reader, other_reader):  # (presence events may come first)
        reader.read_blocks(lambda blocks: any(b["event"] == "message.created" for b in blocks))
    for response in (newest, other, middle, oldest):
        response.close()


def test_a_stream_does_not_keep_the_catch_up_it_sent(app_fast, api_as, alice, bob, book_club):
    """A resume's catch-up can be long, and a stream then idles for hours: the text is let go once sent."""
    from chat.delivery.sse import json_render
    from chat.delivery.stream import EventStream, current_cursor
    cursor = current_cursor(bob["id"])
    for i in range(20):
        api_as(alice).post(f"/conversations/{book_club['id']}/messages", json={"body": f"{i} " + "x" * 500})
    body = EventStream(app_fast, bob["id"], json_render, heartbeat=0.2).run(cursor)
    try:
        assert next(body).count(b"event: message.created") == 20
        assert next(body) == b": ping\n\n"  # the next thing it sent: it went back to waiting in between
        kept = {name: value for name, value in body.gi_frame.f_locals.items() if isinstance(value, (str, bytes))}
        assert all(len(value) < 100 for value in kept.values()), {k: len(v) for k, v in kept.items()}
    finally:
        body.close()
