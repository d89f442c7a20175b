"""Who else is using the CPU: a run shares its cores with whatever else the machine does.

A background thread samples every process once a second and splits the CPU time into this run's (the
orchestrator, its children and the Postgres backends of its database) and everything else's. Each scenario
records both, and the CPU time the hypervisor stole for other virtual machines, so a figure taken while
something else was busy says so.

It also keeps the CPU seconds of named sets of processes (``watch``: the app's gunicorn, redis-server) and of
the run's Postgres backends (``postgres``), so that a scenario can say what its work cost each part
(``cpu_seconds``).
"""
import contextlib
import os
import threading
import time

import psutil


def _steal():
    """CPU seconds the hypervisor gave to other machines (``steal``), summed over CPUs."""
    return getattr(psutil.cpu_times(), "steal", 0.0)


class Monitor(threading.Thread):
    def __init__(self, database_name=None, interval=1.0):
        super().__init__(name="bench-monitor", daemon=True)
        self.database_name = database_name
        self.interval = interval
        self.samples = []  # (monotonic time, own cpu %, other cpu %, steal %, {tag: cpu s}) — % of one core
        self._halt = threading.Event()
        self._last = {}
        self._watched = {}  # tag -> set of pids

    def watch(self, tag, pids):
        """Count the CPU time of ``pids`` under ``tag`` from now on (replacing what ``tag`` watched)."""
        self._watched = dict(self._watched, **{tag: set(pids)})

    def _is_ours(self, proc, mine):
        if proc.pid in mine:
            return True
        if self.database_name and proc.info["name"] and proc.info["name"].startswith("postgres"):
            cmdline = " ".join(proc.info["cmdline"] or ())
            return self.database_name in cmdline
        return False

    def _sample(self):
        me = psutil.Process()
        mine = {me.pid} | {c.pid for c in me.children(recursive=True)}
        own = other = 0.0
        seen, tags = {}, {}
        watched = self._watched
        for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
            times = proc.info["cpu_times"]
            if times is None:
                continue
            total = times.user + times.system
            key = (proc.pid, proc.info["name"])
            seen[key] = total
            delta = total - self._last.get(key, total)
            if self._is_ours(proc, mine):
                own += delta
                if proc.pid not in mine:
                    tags["postgres"] = tags.get("postgres", 0.0) + delta
            else:
                other += delta
            for tag, pids in watched.items():
                if proc.pid in pids:
                    tags[tag] = tags.get(tag, 0.0) + delta
        self._last = seen
        return own, other, tags

    def run(self):
        self._sample()
        last, steal = time.monotonic(), _steal()
        while not self._halt.wait(self.interval):
            own, other, tags = self._sample()
            now, stolen = time.monotonic(), _steal()
            elapsed = now - last
            self.samples.append((now, 100 * own / elapsed, 100 * other / elapsed, 100 * (stolen - steal) / elapsed,
                                 tags))
            last, steal = now, stolen

    def stop(self):
        self._halt.set()

    def window(self, start, end):
        picked = [s for s in self.samples if start <= s[0] <= end]
        if not picked:
            return {"own_cpu_percent": None, "other_cpu_percent": None, "other_cpu_percent_max": None}
        return {"own_cpu_percent": round(sum(s[1] for s in picked) / len(picked), 1),
                "steal_cpu_percent": round(sum(s[3] for s in picked) / len(picked), 1),
                "other_cpu_percent": round(sum(s[2] for s in picked) / len(picked), 1),
                "other_cpu_percent_max": round(max(s[2] for s in picked), 1),
                "load_average": [round(x, 2) for x in os.getloadavg()]}

    def cpu_seconds(self, start, end):
        """{tag: CPU seconds} of the watched processes (and ``postgres``) between ``start`` and ``end``."""
        total = {}
        for sample in self.samples:
            if start <= sample[0] <= end:
                for tag, seconds in sample[4].items():
                    total[tag] = total.get(tag, 0.0) + seconds
        return {tag: round(seconds, 2) for tag, seconds in total.items()}

    @contextlib.contextmanager
    def segment(self, record):
        """Record into ``record["machine"]`` the CPU split while the block runs."""
        start = time.monotonic()
        try:
            yield
        finally:
            record["machine"] = self.window(start, time.monotonic())

    def other_now(self, seconds=3.0):
        """Other processes' CPU (% of a core) over the last ``seconds``."""
        deadline = time.monotonic() + seconds + self.interval * 1.5
        while time.monotonic() < deadline:
            time.sleep(self.interval)
        recent = [s[2] for s in self.samples if s[0] >= time.monotonic() - seconds]
        return sum(recent) / len(recent) if recent else 0.0
