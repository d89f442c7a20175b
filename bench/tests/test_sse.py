"""The hand-written HTTP and SSE parsers, fed in every possible split."""
from bench.sse import EventParser, ResponseParser

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
STREAM = (b"retry: 3000\n\n: hello\n\nevent: message.created\nid: e1:1-0\ndata: {\"a\": 1}\n\n"
          b"event: typing\r\nid: e1:2-0\r\ndata: x\r\ndata: y\r\n\r\ndata:plain\n\n")
EXPECTED = [("message.created", "e1:1-0", b'{"a": 1}'), ("typing", "e1:2-0", b"x\ny"), ("message", None, b"plain")]


def chunked(body, size):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x;ext=1\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def run(raw, split):
    response, events = ResponseParser(), EventParser()
    got = []
    for i in range(0, len(raw), split):
        got += events.feed(response.feed(raw[i:i + split]))
    return response, events, got


def test_chunked_stream_in_every_split():
    raw = HEAD + chunked(STREAM, 7)
    for split in range(1, len(raw) + 1):
        response, events, got = run(raw, split)
        assert response.status == 200 and response.complete
        assert got == EXPECTED, split
        assert events.retry == 3000 and events.comments == 1 and events.last_id == "e1:2-0"


def test_identity_body():
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(STREAM) + STREAM
    for split in (1, 2, 5, 1000):
        response, _, got = run(raw, split)
        assert got == EXPECTED and response.complete


def test_error_status():
    response, _, got = run(b"HTTP/1.1 401 UNAUTHORIZED\r\nContent-Length: 2\r\n\r\n{}", 3)
    assert response.status == 401 and got == []
