"""Security S2 end to end: an open stream ends as soon as the credential that opened it is revoked.

The heartbeat is slow here (20 s), so only the revocation's ``session`` event can end the stream in time.
"""
import time

from chat.actions import accounts

from .test_events_api import open_stream
from .test_live_sse import StreamReader
from .web_support import web_as_fixture  # noqa: F401  (fixture)


def _expired_soon(reader):
    started = time.monotonic()
    (event,) = reader.events(1, timeout=5)
    assert event["event"] == "session-expired" and time.monotonic() - started < 5
    assert list(reader.chunks) == []  # and the stream is over


def test_revoking_a_bearer_token_ends_its_open_stream(app, api_as, alice, bob, direct):
    app.config["SSE_HEARTBEAT_SECONDS"] = 20
    token = accounts.issue_token(bob["id"])
    headers = {"Authorization": f"Bearer {token}"}
    stream = app.test_client().get("/api/v1/events", headers=headers, buffered=False)
    reader = StreamReader(stream.response)
    reader.read_blocks(lambda blocks: bool(blocks))  # open
    api_as(alice).post(f"/conversations/{direct['id']}/messages", json={"body": "before"})
    assert reader.events(1)[0]["event"] == "message.created"
    assert app.test_client().post("/api/v1/auth/logout", headers=headers).status_code == 204
    _expired_soon(reader)
    stream.close()


def test_signing_out_ends_the_pages_open_stream_and_a_copied_cookie_gets_nothing(app, web_as, alice, bob, direct):
    app.config["SSE_HEARTBEAT_SECONDS"] = 20
    web = web_as(bob)
    stream = web.client.get("/events", buffered=False)
    reader = StreamReader(stream.response)
    reader.read_blocks(lambda blocks: bool(blocks))
    assert web.post("/logout").status_code == 303
    _expired_soon(reader)
    stream.close()
    again = web.client.get("/events", buffered=False)  # the old cookie jar, replayed
    assert b"session-expired" in b"".join(again.response)


def test_signing_out_one_session_leaves_the_others_streams_alone(app, web_as, api_as, alice, bob, direct):
    app.config["SSE_HEARTBEAT_SECONDS"] = 20
    phone, laptop = web_as(bob), web_as(bob)
    response, reader = open_stream(api_as(bob))
    stream = laptop.client.get("/events", buffered=False)
    laptop_reader = StreamReader(stream.response)
    laptop_reader.read_blocks(lambda blocks: bool(blocks))
    assert phone.post("/logout").status_code == 303
    api_as(alice).post(f"/conversations/{direct['id']}/messages", json={"body": "still here"})
    assert reader.events(1)[0]["event"] == "message.created"
    laptop_reader.read_blocks(lambda blocks: any(b["event"] == "message" for b in blocks))
    response.close()
    stream.close()
