"""What a scenario runs against: the app, or the null SSE server, behind one interface.

Scenarios open streams and send messages through a ``Target``; only the target knows the URL paths, how a
person authenticates (a real bearer token, or the null server's user key), and how a group is made known
(the database already has it, or ``PUT /rooms/<id>`` on every null instance).
"""
import json
import time

from . import services
from .workers import call_all


class Target:
    name = "?"
    path = "/"
    ports = ()

    def __init__(self, run):
        self.run = run

    def credentials(self, person):
        raise NotImplementedError

    def sender(self, person):
        return self.credentials(person)[1]

    def processes(self):
        raise NotImplementedError

    def prepare_groups(self, groups):
        """``groups``: [(conversation id, [person…])]."""

    def configure_streams(self, tracking=False, auto_resume=False, split_catchup=False):
        call_all(self.run.stream_workers, "configure", ports=list(self.ports), path=self.path,
                 tracking=tracking, auto_resume=auto_resume, split_catchup=split_catchup)

    def open_streams(self, people, concurrency=200, timeout=60):
        """Open a stream for each person, spread over the stream workers; return the merged summary."""
        workers = self.run.stream_workers
        creds = [self.credentials(p) for p in people]
        answers = call_all(workers, "open", timeout=timeout + 120, concurrency=concurrency,
                           args_for=lambda i: {"users": creds[i::len(workers)], "timeout": timeout})
        return merge_summaries(answers)

    def configure_sender(self, groups, pool_size=50):
        """``groups``: [(conversation id, [person…])]; the sender sends as each member in turn."""
        targets = [(cid, [self.sender(p) for p in members]) for cid, members in groups]
        self.run.sender.call("configure", mode=self.mode, ports=list(self.ports), targets=targets,
                             pool_size=pool_size)

    def memory(self):
        return services.memory(self.processes())

    def cpu_seconds(self):
        return services.cpu_seconds(self.processes())


class AppTarget(Target):
    name, mode, path = "app", "app", "/api/v1/events"

    def __init__(self, run, server):
        super().__init__(run)
        self.server = server
        self.ports = (server.port,)

    def credentials(self, person):
        return person["key"], person["token"]

    def processes(self):
        return self.server.processes()


class NullTarget(Target):
    name, mode, path = "null", "null", "/events"

    def __init__(self, run, server):
        super().__init__(run)
        self.server = server
        self.ports = tuple(server.ports)

    def credentials(self, person):
        return person["key"], person["key"]

    def processes(self):
        return self.server.processes()

    def prepare_groups(self, groups):
        self.run.sender.call("configure", mode=self.mode, ports=list(self.ports), targets=[], pool_size=4)
        for cid, members in groups:
            body = json.dumps([p["key"] for p in members]).encode()
            for status, _ in self.run.sender.call("request_all", method="PUT", path=f"/rooms/{cid}", body=body):
                assert status == 204, status


class NullInsertTarget(Target):
    """The null insert app (``bench.nullinsert``): the app's send path and request shape, one INSERT each."""
    name, mode, path = "null_insert", "app", "/api/v1/events"

    def __init__(self, run, server):
        super().__init__(run)
        self.server = server
        self.ports = (server.port,)

    def credentials(self, person):
        return person["key"], person["id"]  # the bearer "token" is the sender's user id

    def processes(self):
        return self.server.processes()


def merge_summaries(answers):
    merged = {"ok": 0, "failed": 0, "errors": {}, "seconds": 0.0}
    for a in answers:
        merged["ok"] += a["ok"]
        merged["failed"] += a["failed"]
        merged["seconds"] = max(merged["seconds"], a["seconds"])
        for k, v in a["errors"].items():
            merged["errors"][k] = merged["errors"].get(k, 0) + v
        for key in ("with_cursor", "attempts"):
            if key in a:
                merged[key] = merged.get(key, 0) + a[key]
        if "back" in a:
            merged.setdefault("back", []).extend(a["back"])
    return merged


def stream_stats(run):
    answers = call_all(run.stream_workers, "stats")
    merged = {}
    for a in answers:
        for k, v in a.items():
            if isinstance(v, dict):
                bucket = merged.setdefault(k, {})
                for kk, vv in v.items():
                    bucket[kk] = bucket.get(kk, 0) + vv
            else:
                merged[k] = merged.get(k, 0) + v
    return merged


def collect(run, seen=False, reset=True, steps=None):
    """Everything the stream workers measured: ``latencies`` {step: [s]}, events, resets, and ``seen``."""
    answers = call_all(run.stream_workers, "collect", timeout=300, seen=seen, reset=reset, steps=steps)
    latencies, events, resets, seen_by, sizes = {}, {}, 0, {}, {}
    for a in answers:
        for k, v in a.get("event_bytes", {}).items():
            sizes[k] = sizes.get(k, 0) + v
        for step, values in a["latencies"].items():
            latencies.setdefault(step, []).extend(values)
        for k, v in a["events"].items():
            events[k] = events.get(k, 0) + v
        resets += a["resets"]
        seen_by.update(a.get("seen", {}))
    mean_bytes = {k: round(sizes[k] / events[k]) for k in sizes if events.get(k)}
    return {"latencies": latencies, "events": events, "resets": resets, "seen": seen_by, "event_bytes": mean_bytes}


def wait_for_settled(run, timeout=60.0, quiet=2.0):
    """Wait until the streams stop receiving anything at all (presence announcements after a ramp)."""
    deadline = time.monotonic() + timeout
    last, last_change = None, time.monotonic()
    while time.monotonic() < deadline:
        stats = stream_stats(run)
        total = sum(stats.get("events", {}).values())
        if total != last:
            last, last_change = total, time.monotonic()
        elif time.monotonic() - last_change >= quiet:
            return round(time.monotonic() - (deadline - timeout), 1)
        time.sleep(0.25)
    return None


def wait_for_quiet(run, expected=None, timeout=30.0, quiet=2.0):
    """Wait until ``expected`` timed deliveries arrived, or nothing new arrived for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        received = stream_stats(run)["received"]
        if expected is not None and received >= expected:
            return received
        if received != last:
            last, last_change = received, time.monotonic()
        elif time.monotonic() - last_change >= quiet:
            return received
        time.sleep(0.25)
    return last
