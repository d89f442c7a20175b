"""Load-generator process that sends messages: open-loop on a schedule, or closed-loop as fast as it can.

Open loop: message ``i`` of a step is *scheduled* at ``t0 + i / rate`` whether or not earlier ones have
finished (no coordinated omission); its latency, and every delivery's, is measured from that time. The
scheduled time travels in ``metadata.t`` so receivers measure against the same clock.

Targets: the app (``POST /api/v1/conversations/{id}/messages`` with a member's bearer token and a unique
``client_id``, so a retry on a dead keep-alive connection is safe) or the null SSE server (``POST
/publish/<room>`` on every instance, with a message-shaped body built here).
"""
import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime

from .workers import serve


class HttpConnection:
    """One keep-alive HTTP/1.1 connection (asyncio streams); responses need Content-Length."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method, path, body=b"", headers=()):
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                    f"Content-Length: {len(body)}", *headers]
            try:
                self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                status_head = await self.reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                self.close()
                if attempt == 2:
                    raise
                continue  # the server closed an idle keep-alive connection: the request is safe to repeat
            lines = status_head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            length, close = 0, False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
            data = await self.reader.readexactly(length) if length else b""
            if close:
                self.close()
            return status, data
        raise AssertionError("unreachable")

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Pool:
    """At most ``size`` keep-alive connections; a request waits for a free one (and that wait counts)."""

    def __init__(self, host, port, size):
        self.free = asyncio.Queue()
        for _ in range(size):
            self.free.put_nowait(HttpConnection(host, port))

    async def request(self, *args, **kwargs):
        conn = await self.free.get()
        try:
            return await conn.request(*args, **kwargs)
        except BaseException:
            conn.close()
            raise
        finally:
            self.free.put_nowait(conn)

    def close(self):
        while not self.free.empty():
            self.free.get_nowait().close()


def message_shape(cid, room, sender, t, step, seq):
    """A body shaped like the app's message object, for the null server to deliver."""
    return json.dumps({
        "id": str(uuid.uuid4()), "conversation_id": room, "seq": seq, "sender_id": sender, "kind": "text",
        "body": f"bench message {cid}", "metadata": {"t": t, "s": step}, "client_id": cid, "attachments": [],
        "created_at": datetime.now(UTC).isoformat(), "edited_at": None, "deleted_at": None,
    }, separators=(",", ":")).encode()


class Sender:
    def __init__(self):
        self.mode = "app"
        self.pools = []
        self.targets = []  # [(conversation id or room, [sender tokens or keys])]
        self.seq = 0

    async def op_configure(self, mode, ports, targets, host="127.0.0.1", pool_size=50):
        """``mode`` "app" (one port) or "null" (every instance's port); ``targets``: see module doc."""
        for pool in self.pools:
            pool.close()
        self.mode, self.targets = mode, targets
        self.pools = [Pool(host, port, pool_size) for port in ports]
        return {}

    async def _send(self, index, t, step, cid, target):
        room, senders = self.targets[target]
        sender = senders[index % len(senders)]
        if self.mode == "app":
            body = json.dumps({"body": f"bench message {cid}", "client_id": cid,
                               "metadata": {"t": t, "s": step}}).encode()
            headers = ("Content-Type: application/json", f"Authorization: Bearer {sender}")
            status, _ = await self.pools[0].request("POST", f"/api/v1/conversations/{room}/messages", body, headers)
        else:
            self.seq += 1
            body = message_shape(cid, room, sender, t, step, self.seq)
            answers = await asyncio.gather(*(p.request("POST", f"/publish/{room}", body) for p in self.pools))
            status = max(a[0] for a in answers)
        return status

    async def op_open_loop(self, rate, duration, step=0, prefix=None, timeout=30.0, pick="round_robin"):
        """Send ``rate``/s for ``duration`` s; return per-message (client_id, target, status, latency)."""
        prefix = prefix or uuid.uuid4().hex[:8]
        count = max(1, int(rate * duration))
        results = [None] * count
        loop = asyncio.get_running_loop()
        rng = random.Random(step)

        async def one(i, t, target):
            cid = f"{prefix}-{i}"
            try:
                status = await asyncio.wait_for(self._send(i, t, step, cid, target), timeout)
            except TimeoutError:
                status = "timeout"
            except (OSError, asyncio.IncompleteReadError) as error:
                status = type(error).__name__
            results[i] = (cid, target, status, time.monotonic() - t)

        t0 = time.monotonic() + 0.05
        tasks, late = [], 0
        for i in range(count):
            t = t0 + i / rate
            delay = t - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.01:
                late += 1
            target = i % len(self.targets) if pick == "round_robin" else rng.randrange(len(self.targets))
            tasks.append(asyncio.ensure_future(one(i, t, target)))
        await asyncio.gather(*tasks)
        return {"results": results, "late_starts": late, "seconds": time.monotonic() - t0}

    async def op_closed_loop(self, concurrency, duration, step=0, prefix=None, timeout=30.0):
        """``concurrency`` senders, each on its own target and connection, sending back to back."""
        prefix = prefix or uuid.uuid4().hex[:8]
        deadline = time.monotonic() + duration
        latencies, errors = [], {}

        async def worker(w):
            n = 0
            while time.monotonic() < deadline:
                t = time.monotonic()
                cid = f"{prefix}-{w}-{n}"
                n += 1
                try:
                    status = await asyncio.wait_for(self._send(n, t, step, cid, w % len(self.targets)), timeout)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
                    status = type(error).__name__
                if status in (200, 201, 204):
                    latencies.append(time.monotonic() - t)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1

        started = time.monotonic()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        return {"latencies": latencies, "errors": errors, "seconds": time.monotonic() - started}

    async def op_day(self, actions, step=0, prefix="day", timeout=30.0):
        """Run a schedule of ``actions`` open loop (app mode): ``(offset s, kind, target, member, message)``
        with kind ``message`` (a send as that member; ``message`` numbers it), ``typing``, or ``read`` (the
        read mark of that member up to message ``message``'s ``seq``, once its send has answered).

        Returns the messages as ``open_loop`` does, and per other kind its statuses and latencies.
        """
        loop = asyncio.get_running_loop()
        count = 1 + max((a[4] for a in actions if a[1] == "message"), default=-1)
        results = [None] * count
        seqs = {}
        other = {"typing": {"latencies": [], "errors": {}, "skipped": 0},
                 "read": {"latencies": [], "errors": {}, "skipped": 0}}

        async def post(t, path, body, token):
            headers = ("Content-Type: application/json", f"Authorization: Bearer {token}")
            try:
                return await asyncio.wait_for(self.pools[0].request("POST", path, body, headers), timeout)
            except TimeoutError:
                return "timeout", b""
            except (OSError, asyncio.IncompleteReadError) as error:
                return type(error).__name__, b""

        async def one(t, kind, target, member, index):
            room, senders = self.targets[target]
            token = senders[member % len(senders)]
            if kind == "message":
                cid = f"{prefix}-{index}"
                body = json.dumps({"body": f"bench message {cid}", "client_id": cid,
                                   "metadata": {"t": t, "s": step}}).encode()
                status, data = await post(t, f"/api/v1/conversations/{room}/messages", body, token)
                if status in (200, 201):
                    seqs[index] = json.loads(data)["seq"]
                results[index] = (cid, target, status, time.monotonic() - t)
                return
            bucket = other[kind]
            if kind == "read":
                if index not in seqs:
                    bucket["skipped"] += 1  # its message has not been answered yet (or failed)
                    return
                status, _ = await post(t, f"/api/v1/conversations/{room}/read",
                                       json.dumps({"seq": seqs[index]}).encode(), token)
            else:
                status, _ = await post(t, f"/api/v1/conversations/{room}/typing", b"", token)
            if status in (200, 201, 204):
                bucket["latencies"].append(time.monotonic() - t)
            else:
                bucket["errors"][str(status)] = bucket["errors"].get(str(status), 0) + 1

        t0 = time.monotonic() + 0.05
        tasks, late = [], 0
        for offset, kind, target, member, index in actions:
            t = t0 + offset
            delay = t - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.01:
                late += 1
            tasks.append(asyncio.ensure_future(one(t, kind, target, member, index)))
        await asyncio.gather(*tasks)
        return {"results": [r for r in results if r is not None], "late_starts": late, "other": other,
                "seconds": time.monotonic() - t0}

    async def op_close(self):
        """Close every keep-alive connection (before a server is stopped: it would wait for them)."""
        for pool in self.pools:
            pool.close()
        self.pools = []
        return {}

    async def op_request(self, method, path, body=b"", headers=()):
        """One request on the first pool (set-up calls such as the null server's rooms)."""
        return await self.pools[0].request(method, path, body, headers)

    async def op_request_all(self, method, path, body=b"", headers=()):
        """The same request to every pool (every null-server instance)."""
        return await asyncio.gather(*(p.request(method, path, body, headers) for p in self.pools))


def main(conn):
    serve(conn, Sender())
