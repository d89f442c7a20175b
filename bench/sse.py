"""A hand-written HTTP/1.1 + Server-Sent Events client parser (no tool here speaks SSE well).

``ResponseParser`` turns the bytes of one HTTP response into a status, headers and body bytes (identity
or chunked); ``EventParser`` turns body bytes into ``(event, id, data)`` tuples following the
EventSource rules (``\\n`` and ``\\r\\n`` line ends, ``:`` comments, multi-line ``data``, one leading space
after the colon dropped). Both are incremental: feed them whatever arrived, in any split.
"""


class ProtocolError(Exception):
    """The server sent something that is not HTTP/1.x."""


class ResponseParser:
    """Incremental HTTP/1.x response parser; ``feed`` returns the body bytes that arrived."""

    def __init__(self):
        self.status = None
        self.headers = {}
        self.complete = False  # the body ended (a zero-length chunk, or Content-Length reached)
        self._head = b""
        self._chunked = False
        self._remaining = None  # identity body: bytes left, or None for "until close"
        self._chunk_left = 0  # chunked: bytes of the current chunk still to come
        self._buf = b""
        self._need_crlf = False

    @property
    def has_head(self):
        return self.status is not None

    def feed(self, data):
        if self.status is None:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                if len(self._head) > 65536:
                    raise ProtocolError("response head over 64 KiB")
                return b""
            head, data = self._head[:end], self._head[end + 4:]
            self._head = b""
            self._parse_head(head)
        if self._chunked:
            return self._feed_chunked(data)
        if self._remaining is not None:
            data = data[:self._remaining]
            self._remaining -= len(data)
            self.complete = self._remaining == 0
        return data

    def _parse_head(self, head):
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise ProtocolError(f"not an HTTP response: {lines[0]!r}")
        self.status = int(parts[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        if not self._chunked and "content-length" in self.headers:
            self._remaining = int(self.headers["content-length"])
            self.complete = self._remaining == 0

    def _feed_chunked(self, data):
        buf = self._buf + data if self._buf else data
        out = []
        pos = 0
        n = len(buf)
        while pos < n and not self.complete:
            if self._need_crlf:  # the CRLF that ends a chunk's data
                if n - pos < 2:
                    break
                pos += 2
                self._need_crlf = False
            elif self._chunk_left:
                take = min(self._chunk_left, n - pos)
                out.append(buf[pos:pos + take])
                pos += take
                self._chunk_left -= take
                if self._chunk_left == 0:
                    self._need_crlf = True
            else:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    break
                size = int(buf[pos:eol].split(b";", 1)[0], 16)
                pos = eol + 2
                if size == 0:
                    self.complete = True
                else:
                    self._chunk_left = size
        self._buf = buf[pos:]
        return b"".join(out)


class EventParser:
    """Incremental ``text/event-stream`` parser; ``feed`` returns completed events.

    Each event is ``(type, id, data)``; ``type`` defaults to ``"message"``, ``id`` is the last id field seen
    in the event or None. Comments are counted in ``comments`` (heartbeats), ``retry`` kept in ``retry``.
    """

    def __init__(self):
        self._buf = b""
        self.comments = 0
        self.retry = None
        self.last_id = None

    def feed(self, data):
        buf = (self._buf + data) if self._buf else data
        hold = b""
        if buf.endswith(b"\r"):  # a CR whose LF may be in the next read
            buf, hold = buf[:-1], b"\r"
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        events = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            event = self._parse_block(buf[start:end])
            if event is not None:
                events.append(event)
            start = end + 2
        self._buf = buf[start:] + hold
        return events

    def _parse_block(self, block):
        etype, eid, data = None, None, None
        for line in block.split(b"\n"):
            if not line:
                continue
            if line[:1] == b":":
                self.comments += 1
                continue
            name, sep, value = line.partition(b":")
            if sep and value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data = value if data is None else data + b"\n" + value
            elif name == b"event":
                etype = value.decode()
            elif name == b"id":
                eid = value.decode()
                self.last_id = eid
            elif name == b"retry" and value.isdigit():
                self.retry = int(value)
        if data is None:
            return None  # a block of comments, retry or id only dispatches nothing
        return (etype or "message", eid, data)
