"""Load-generator process: holds many SSE streams open (asyncio, plain sockets) and times every event.

Each ``message.created`` event carries ``metadata.t`` (the sender's scheduled send time, on the machine's
``CLOCK_MONOTONIC``, which every process shares) and ``metadata.s`` (the load step). The latency of a
delivery is the time the event was parsed minus ``t``. With tracking on, every stream counts each
``client_id`` it receives, so the orchestrator can count losses and duplicates.

With ``split_catchup`` on, a message scheduled before its stream's latest reconnect began (the person was
away when it was sent) is a *catch-up* delivery: its latency is counted from the reconnect, under the step
``catchup_key(step)``, apart from the live deliveries.

Driven by ``bench.workers`` over a pipe: ``open``, ``stats``, ``collect``, ``drop``, ``resume``, ``churn``,
``close``.
"""
import asyncio
import json
import random
import socket
import struct
import time
from collections import defaultdict

from .sse import EventParser, ProtocolError, ResponseParser
from .workers import serve

_LINGER_RST = struct.pack("ii", 1, 0)


def catchup_key(step):
    """The latency bucket of the catch-up deliveries of ``step`` (see the module doc)."""
    return f"catchup-{step}"


def delivery_bucket(step, scheduled, reconnected_at, now, split_catchup):
    """(bucket, latency) of a delivery of a message of ``step`` scheduled at ``scheduled``, parsed at ``now``,
    on a stream whose latest reconnect began at ``reconnected_at`` (None: never reconnected)."""
    if split_catchup and reconnected_at is not None and scheduled < reconnected_at:
        return catchup_key(step), now - reconnected_at
    return step, now - scheduled


class Stream(asyncio.Protocol):
    """One SSE connection, as a user's browser tab holds it."""

    def __init__(self, owner, key, token, port):
        self.owner, self.key, self.token, self.port = owner, key, token, port
        self.transport = None
        self.last_id = None
        self.seen = {} if owner.tracking else None
        self.state = "new"  # new → connecting → open → lost (or away: closed by us, to come back)
        self.reconnected_at = None  # when the latest reconnect with a Last-Event-ID began
        self.opened = None  # future: True once the 200 head arrived, or an error string
        self._response = self._events = None

    def request(self):
        headers = [f"GET {self.owner.path} HTTP/1.1", f"Host: {self.owner.host}:{self.port}",
                   "Accept: text/event-stream", "Cache-Control: no-cache", f"Authorization: Bearer {self.token}"]
        if self.last_id:
            headers.append(f"Last-Event-ID: {self.last_id}")
        return ("\r\n".join(headers) + "\r\n\r\n").encode()

    def connection_made(self, transport):
        self.transport = transport
        self._response, self._events = ResponseParser(), EventParser()
        transport.write(self.request())

    def data_received(self, data):
        try:
            body = self._response.feed(data)
        except ProtocolError as error:
            self._fail(str(error))
            return
        if self.state == "connecting" and self._response.has_head:
            if self._response.status != 200:
                self._fail(f"HTTP {self._response.status}")
                return
            self.state = "open"
            if not self.opened.done():
                self.opened.set_result(True)
        if body:
            owner = self.owner
            for event in self._events.feed(body):
                owner.on_event(self, event)
        if self._response.complete:
            self.transport.close()  # the server ended the stream; a browser would resume

    def _fail(self, reason):
        if self.opened is not None and not self.opened.done():
            self.opened.set_result(reason)
        self.transport.abort()

    def connection_lost(self, exc):
        if self.opened is not None and not self.opened.done():
            self.opened.set_result(f"closed before the head ({exc or 'EOF'})")
        was_open = self.state == "open"
        self.state = "lost"
        self.transport = None
        if was_open:
            self.owner.on_lost(self)

    def abort(self):
        """Drop the connection at once with a RST, as a network failure does (no TIME_WAIT left behind)."""
        if self.transport is not None:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
                except OSError:
                    pass
            self.transport.abort()


class StreamSet:
    """Every stream of this process, and what they received."""

    def __init__(self):
        self.streams = []
        self.host, self.ports, self.path = "127.0.0.1", [], "/api/v1/events"
        self.tracking = False
        self.auto_resume = False  # reconnect a stream the server ended, after its retry delay, as EventSource does
        self.split_catchup = False  # time deliveries that waited for a reconnect apart (see the module doc)
        self._retries = set()  # reconnect tasks in flight (asyncio keeps only weak references)
        self.lost = self.reconnects = 0
        self._reset_counters()

    def on_lost(self, stream):
        """A stream that was open ended without us dropping it."""
        self.lost += 1
        if self.auto_resume:
            delay = (stream._events.retry or 3000) / 1000 if stream._events else 3.0
            asyncio.get_running_loop().call_later(delay, self._reconnect, stream)

    def _reconnect(self, stream):
        if self.auto_resume and stream.state == "lost":
            self._retries.add(task := asyncio.ensure_future(self._retry(stream)))
            task.add_done_callback(self._retries.discard)

    async def _retry(self, stream, attempts=10):
        for _ in range(attempts):
            self.reconnects += 1
            if await self.connect(stream, 30.0) is True or not self.auto_resume:
                return
            await asyncio.sleep((stream._events.retry or 3000) / 1000 if stream._events else 3.0)

    def _reset_counters(self):
        self.latencies = defaultdict(list)  # step -> [seconds]
        self.timed = 0  # timed deliveries since the last reset
        self.events = defaultdict(int)  # type -> count
        self.event_bytes = defaultdict(int)  # type -> bytes of data
        self.resets = 0
        self.heartbeats_base = sum(s._events.comments for s in self.streams if s._events)

    def on_event(self, stream, event):
        now = time.monotonic()
        etype, eid, data = event
        if eid:
            stream.last_id = eid
        self.events[etype] += 1
        self.event_bytes[etype] += len(data)
        if etype == "message.created":
            message = json.loads(data)
            meta = message.get("metadata") or {}
            t = meta.get("t")
            if t is not None:
                bucket, latency = delivery_bucket(meta.get("s", 0), t, stream.reconnected_at, now,
                                                  self.split_catchup)
                self.latencies[bucket].append(latency)
                self.timed += 1
            if stream.seen is not None:
                cid = message.get("client_id")
                stream.seen[cid] = stream.seen.get(cid, 0) + 1
        elif etype == "reset":
            self.resets += 1

    async def connect(self, stream, timeout):
        loop = asyncio.get_running_loop()
        stream.state = "connecting"
        if stream.last_id:
            stream.reconnected_at = time.monotonic()
        stream.opened = loop.create_future()
        try:
            await asyncio.wait_for(loop.create_connection(lambda: stream, self.host, stream.port), timeout)
            result = await asyncio.wait_for(asyncio.shield(stream.opened), timeout)
        except TimeoutError:
            result = "timeout"
        except OSError as error:
            result = type(error).__name__ + (f" errno {error.errno}" if error.errno else "")
        if result is not True:
            stream.state = "lost"
            if stream.transport is not None:
                stream.transport.abort()
        return result

    async def connect_all(self, streams, concurrency, timeout, opened_at=None):
        """Connect ``streams`` with at most ``concurrency`` handshakes in flight; return a summary. Each
        stream that opens appends the time it did to ``opened_at``, if given."""
        gate = asyncio.Semaphore(concurrency)
        errors = defaultdict(int)
        started = time.monotonic()

        async def one(stream):
            async with gate:
                result = await self.connect(stream, timeout)
            if result is not True:
                errors[result] += 1
            elif opened_at is not None:
                opened_at.append(time.monotonic())

        await asyncio.gather(*(one(s) for s in streams))
        ok = len(streams) - sum(errors.values())
        return {"ok": ok, "failed": len(streams) - ok, "errors": dict(errors),
                "seconds": time.monotonic() - started}

    # Commands -------------------------------------------------------------------------------------

    async def op_configure(self, ports, path, tracking=False, auto_resume=False, host="127.0.0.1",
                           split_catchup=False):
        """Where streams go (``ports`` taken in turn), and what to keep of what they receive."""
        self.host, self.ports, self.path = host, ports, path
        self.tracking, self.auto_resume, self.split_catchup = tracking, auto_resume, split_catchup
        return {}

    async def op_open(self, users, concurrency=200, timeout=30.0):
        """Open one stream per ``(key, token)`` in ``users`` (added to those already open)."""
        first = len(self.streams)
        new = [Stream(self, key, token, self.ports[(first + i) % len(self.ports)])
               for i, (key, token) in enumerate(users)]
        self.streams.extend(new)
        return await self.connect_all(new, concurrency, timeout)

    async def op_stats(self):
        open_ = sum(1 for s in self.streams if s.state == "open")
        heartbeats = sum(s._events.comments for s in self.streams if s._events) - self.heartbeats_base
        return {"open": open_, "streams": len(self.streams), "lost": self.lost, "reconnects": self.reconnects,
                "resets": self.resets, "with_cursor": sum(1 for s in self.streams if s.last_id),
                "events": dict(self.events), "heartbeats": heartbeats,
                "received": self.timed}

    async def op_describe(self, keys):
        """State, last id and count of messages received of the streams of ``keys`` (diagnosing losses)."""
        wanted = set(keys)
        return {s.key: {"state": s.state, "last_id": s.last_id, "received": sum((s.seen or {}).values())}
                for s in self.streams if s.key in wanted}

    async def op_open_keys(self):
        return {"keys": [s.key for s in self.streams if s.state == "open"]}

    async def op_collect(self, reset=True, seen=False, steps=None):
        """Latencies per step (and, with ``seen``, what each stream received); then start afresh.

        With ``steps``, only those steps' latencies are returned (and forgotten); nothing else is reset.
        """
        if steps is not None:
            return {"latencies": {k: self.latencies.pop(k, []) for k in steps}, "events": dict(self.events),
                    "resets": self.resets}
        result = {"latencies": dict(self.latencies), "events": dict(self.events), "resets": self.resets,
                  "event_bytes": dict(self.event_bytes)}
        if seen:
            result["seen"] = {s.key: s.seen for s in self.streams if s.seen is not None}
        if reset:
            self._reset_counters()
            for s in self.streams:
                if s.seen is not None:
                    s.seen = {}
        return result

    async def op_drop(self):
        """Drop every open stream at once (RST), as a network blip or a deploy does."""
        self.auto_resume = False
        dropped = 0
        for s in self.streams:
            if s.state == "open":
                s.abort()
                dropped += 1
        await asyncio.sleep(0.1)
        return {"dropped": dropped}

    async def op_resume(self, concurrency=10000, timeout=60.0, attempts=5, then_auto_resume=True):
        """Reconnect every stream that is not open, each with the last id it saw, all at once.

        A reconnect that fails is tried again after the stream's ``retry`` delay, as EventSource does,
        up to ``attempts`` times; the summary counts the streams still down at the end, and says when each
        stream came back (``back``: seconds after the first try, in the order they did).
        """
        todo = [s for s in self.streams if s.state != "open"]
        with_cursor = sum(1 for s in todo if s.last_id)
        self.lost = self.reconnects = 0  # count only what happens after the drop
        started, tries, errors, opened_at = time.monotonic(), 0, defaultdict(int), []
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(max((s._events.retry or 3000) / 1000 if s._events else 3.0 for s in todo))
            tries += len(todo)
            summary = await self.connect_all(todo, concurrency, timeout, opened_at)
            for k, v in summary["errors"].items():
                errors[k] += v
            todo = [s for s in todo if s.state != "open"]
            if not todo:
                break
        self.auto_resume = then_auto_resume  # from now on, a stream the server ends comes back by itself
        total = len(self.streams)
        return {"ok": total - len(todo), "failed": len(todo), "errors": dict(errors), "attempts": tries,
                "seconds": time.monotonic() - started, "with_cursor": with_cursor,
                "back": [round(t - started, 3) for t in opened_at]}

    async def op_churn(self, per_second, duration, away=(1.0, 10.0), seed=0, timeout=30.0, attempts=5):
        """People coming and going: ``per_second`` times a second for ``duration`` s, close a random open stream
        that holds a cursor (gracefully, as a closed tab does) and reopen it ``away`` seconds later with its
        ``Last-Event-ID``; a failed reopen is tried again after the ``retry`` delay. While no stream holds a
        cursor yet, the schedule waits (up to two minutes). Returns when every stream closed here is back (or
        gave up)."""
        rng = random.Random(seed)
        began = started = time.monotonic()
        errors, back, gave_up, closed, no_cursor = defaultdict(int), [0], [0], 0, 0
        away_ids = set()

        async def come_back(stream, pause):
            await asyncio.sleep(pause)
            for _ in range(attempts):
                result = await self.connect(stream, timeout)
                if result is True:
                    back[0] += 1
                    break
                errors[result] += 1
                await asyncio.sleep((stream._events.retry or 3000) / 1000 if stream._events else 3.0)
            else:
                gave_up[0] += 1
            away_ids.discard(id(stream))

        tasks, k, total = [], 0, int(per_second * duration)
        deadline = started + duration + 120
        while k < total:
            delay = started + k / per_second - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            candidates = [s for s in self.streams if s.state == "open" and s.last_id and id(s) not in away_ids]
            if not candidates:  # nobody has received an event yet: wait for the first (the schedule waits too)
                if time.monotonic() > deadline:
                    break
                no_cursor += 1
                await asyncio.sleep(0.25)
                started += 0.25
                continue
            stream = rng.choice(candidates)
            away_ids.add(id(stream))
            stream.state = "away"  # so that connection_lost does not count it as lost, nor resume it itself
            stream.transport.close()
            closed += 1
            k += 1
            tasks.append(asyncio.ensure_future(come_back(stream, rng.uniform(*away))))
        await asyncio.gather(*tasks)
        return {"closed": closed, "reopened": back[0], "gave_up": gave_up[0], "errors": dict(errors),
                "skipped_no_cursor": no_cursor, "seconds": time.monotonic() - began}

    async def op_close(self):
        """Close every stream (gracefully, FIN) and forget them."""
        self.auto_resume = False
        for s in self.streams:
            if s.transport is not None:
                s.transport.close()
        await asyncio.sleep(0.2)
        count = len(self.streams)
        self.streams = []
        self.lost = self.reconnects = 0
        self._reset_counters()
        return {"closed": count}


def main(conn):
    """Process entry point (``multiprocessing`` spawn target)."""
    serve(conn, StreamSet())
