"""The SSE wire format, and a small SSE reader the delivery tests share."""
import json
import time

from chat.delivery.sse import format_event as _sse


def parse_sse(text):
    """Events in ``text`` (complete blocks only): ``[{"event", "id", "data", "comment"}]``."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        event = {"event": None, "id": None, "data": None, "comment": None, "retry": None}
        data = []
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "":
                event["comment"] = value
            elif field == "data":
                data.append(value)
            elif field in ("event", "id", "retry"):
                event[field] = value
        event["data"] = "\n".join(data) if data else None
        events.append(event)
    return events


class StreamReader:
    """Reads an SSE response body chunk by chunk: ``next_events(n)`` parses whole events as they come."""

    def __init__(self, chunks):
        self.chunks = iter(chunks)
        self.buffer = ""
        self.last_id = None

    def read_blocks(self, predicate, timeout=5.0):
        """Read until ``predicate(blocks)`` holds; return every block read (comments included)."""
        blocks, deadline = [], time.monotonic() + timeout
        while not predicate(blocks):
            if time.monotonic() > deadline:
                seen = [b["event"] or f": {b['comment']}" for b in blocks]
                raise AssertionError(f"timed out after {timeout} s; got {seen[:40]}")
            chunk = next(self.chunks)
            self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
            complete, sep, rest = self.buffer.rpartition("\n\n")
            if sep:
                self.buffer = rest
                for block in parse_sse(complete + sep):
                    blocks.append(block)
                    if block["id"]:
                        self.last_id = block["id"]
        return blocks

    def events(self, count, timeout=5.0):
        """The next ``count`` events (comments and retry lines skipped), with JSON data decoded."""
        def enough(blocks):
            return sum(1 for b in blocks if b["event"]) >= count
        return _decoded(self.read_blocks(enough, timeout))

    def quiet(self, seconds):
        """Events that arrive within ``seconds`` (reads through heartbeats)."""
        until = time.monotonic() + seconds
        return _decoded(self.read_blocks(lambda blocks: time.monotonic() > until, timeout=seconds + 5))


def _decoded(blocks):
    found = [b for b in blocks if b["event"]]
    for b in found:
        b["json"] = json.loads(b["data"]) if b["data"] and b["data"][:1] in "{[" else None
    return found


def test_event_has_type_id_and_one_line_of_data():
    text = _sse([("message.created", '{"a":1}')], "e1:5-0")
    assert text == 'event: message.created\nid: e1:5-0\ndata: {"a":1}\n\n'


def test_multi_line_data_becomes_several_data_lines():
    text = _sse([("message", "<li>\n  hi\r\n</li>")], None)
    assert text == "event: message\ndata: <li>\ndata:   hi\ndata: </li>\n\n"
    assert parse_sse(text)[0]["data"] == "<li>\n  hi\n</li>"


def test_id_goes_with_the_last_part_of_an_event():
    text = _sse([("message", "<li/>"), ("conversation", "<a/>")], "e:1-0")
    first, second = parse_sse(text)
    assert first["id"] is None and second["id"] == "e:1-0"


def test_an_event_rendered_as_nothing_still_moves_the_cursor():
    assert _sse([], "e:7-0") == "id: e:7-0\n\n"


def test_unicode_line_separators_stay_inside_one_data_line():
    text = _sse([("m", 'a\u2028b')], None)
    assert parse_sse(text)[0]["data"] == "a\u2028b"
