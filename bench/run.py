"""One benchmark run: start the services, make the data, run the baselines (among them the null insert
app) and the scenarios against the null SSE server and the app, and write ``results.json``, ``report.md``
(with the table of issue 13's targets) and the plots.
"""
import json
import os
import sys
import time
from datetime import UTC, datetime

from . import baselines, profile, report, seed, services, system
from .monitor import Monitor
from .scenarios import costs, day, deliveries, fanout, history, idle, sends, storm
from .scenarios import search as search_scenario
from .targets import AppTarget, NullInsertTarget, NullTarget
from .workers import Worker, call_all

SCENARIOS = ("idle", "storm", "fanout", "deliveries", "sends", "history", "costs", "search", "day")


class Run:
    def __init__(self, sizes, out_dir, only=None, keep_db=False, profile_seconds=0, stream_workers=2,
                 wait_quiet=300, max_other_cpu=30.0):
        self.sizes, self.out_dir = sizes, os.path.abspath(out_dir)
        self.wait_quiet, self.max_other_cpu = wait_quiet, max_other_cpu
        self.monitor = self.redis = None
        self.only = set(only or SCENARIOS)
        self.keep_db, self.profile_seconds = keep_db, profile_seconds
        self.stream_worker_count = stream_workers
        self.stream_workers, self.sender = [], None
        self.started = time.monotonic()
        self.results = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        "mode": sizes.name, "sizes": sizes.as_dict(), "command": " ".join(sys.argv)}
        os.makedirs(self.out_dir, exist_ok=True)
        self._log = open(os.path.join(self.out_dir, "run.log"), "a")

    def log(self, message):
        line = f"[{time.monotonic() - self.started:7.1f}s] {message}"
        print(line, flush=True)
        self._log.write(line + "\n")
        self._log.flush()

    def wants(self, scenario):
        return scenario in self.only

    def measure(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``'s figures, with its duration and the machine's CPU split meanwhile."""
        started = time.monotonic()
        result = fn(*args, **kwargs)
        result["seconds_taken"] = round(time.monotonic() - started, 1)
        result["machine"] = self.monitor.window(started, time.monotonic())
        other = result["machine"]["other_cpu_percent"]
        if other is not None and other > self.max_other_cpu:
            self.log(f"  warning: other processes used {other}% of a core meanwhile; these figures are disturbed")
        return result

    def _wait_for_quiet_machine(self):
        """Wait (up to ``wait_quiet`` s) until other processes use under ``max_other_cpu``% of a core."""
        deadline = time.monotonic() + self.wait_quiet
        while True:
            other = self.monitor.other_now(3.0)
            if other <= self.max_other_cpu:
                self.results["other_cpu_at_start"] = round(other, 1)
                return
            if time.monotonic() > deadline:
                self.log(f"warning: other processes still use {other:.0f}% of a core; running anyway, "
                         "and every scenario records how busy the machine was")
                self.results["other_cpu_at_start"] = round(other, 1)
                return
            self.log(f"waiting for a quieter machine: other processes use {other:.0f}% of a core "
                     f"(want ≤ {self.max_other_cpu:.0f}%)")
            time.sleep(10)

    # The run ----------------------------------------------------------------------------------------

    def execute(self):
        sizes, results = self.sizes, self.results
        results["machine"] = system.machine()
        results["code"] = system.code_version(services.ROOT)
        facts, problems, notes = system.check(sizes.idle_steps[-1])
        results["limits"] = facts
        for note in notes:
            self.log("note: " + note)
        if problems:
            for problem in problems:
                self.log("cannot run: " + problem)
            raise SystemExit(2)
        self.log(f"{sizes.name} run into {self.out_dir}; open-file limit {facts['nofile'][0]}, "
                 f"somaxconn {facts['somaxconn']}, ports {facts['ip_local_port_range']}")
        redis = db = app_server = null_server = None
        db = self.db = services.PostgresDatabase()
        self.monitor = Monitor(db.name)
        self.monitor.start()
        try:
            redis = self.redis = services.RedisServer().start()
            self.monitor.watch("redis", [redis.process.pid])
            results["migrations"] = db.create()
            results["postgres"] = db.settings()
            self.log(f"database {db.name} migrated ({len(results['migrations'])} migrations); redis on {redis.port}")
            app_server = self._app_server(db, redis)
            data = self._seed(db)
            self.stream_workers = [Worker(_streams_main, f"streams-{i}") for i in range(self.stream_worker_count)]
            self.sender = Worker(_sender_main, "sender")
            self._wait_for_quiet_machine()
            self._baselines(db, redis, data)
            if self.wants("costs"):
                self.log("costs per request, in-process")
                results["costs"] = self.measure(costs.run, self, db.sqlalchemy_url, redis.url, data)
            null_server = services.NullSSEServer(results["gunicorn"]["workers"],
                                                 os.path.join(self.out_dir, "nullsse.log"),
                                                 sizes.idle_steps[-1] + 1000).start()
            self._scenarios(NullTarget(self, null_server), data)
            self.sender.call("close")
            null_server.stop()
            null_server = None
            app_server.start()
            left = seed.settle_outbox(db.url, timeout=120)
            self.log(f"app up on {app_server.port} ({results['gunicorn']['workers']} workers); "
                     f"outbox rows unpublished: {left}")
            self._scenarios(AppTarget(self, app_server), data)
        finally:
            self.monitor.stop()
            if self.sender is not None:
                try:
                    self.sender.call("close", timeout=10)
                except Exception:
                    pass
            for worker in self.stream_workers + ([self.sender] if self.sender else []):
                worker.stop()
            for server in (null_server, app_server, redis):
                if server is not None:
                    server.stop()
            if not self.keep_db:
                try:
                    db.drop()
                except Exception as error:
                    self.log(f"could not drop {db.name}: {error}")
        results["duration_seconds"] = round(time.monotonic() - self.started, 1)
        self.log(f"done in {results['duration_seconds']} s")
        path = os.path.join(self.out_dir, "results.json")
        with open(path, "w") as f:
            json.dump(results, f, indent=2, default=str)
        report.write(self.out_dir, results)
        self.log(f"wrote {path}, report.md and plots")
        return results

    def _app_server(self, db, redis):
        env = {"DATABASE_URL": db.url, "REDIS_URL": redis.url, "SECRET_KEY": "bench-secret", "CHAT_ENV": "production",
               "RATELIMIT_ENABLED": "0", "TRUSTED_PROXIES": "0",
               "UPLOAD_FOLDER": os.path.join(self.out_dir, "uploads"), "UPLOAD_FOLDER_SHARED": "1"}
        server = services.GunicornApp(env, os.path.join(self.out_dir, "gunicorn.log"))
        config = server.effective_config()
        workers = int(config.get("workers", 1))
        connections = int(config.get("worker_connections", 1000))
        need = self.sizes.idle_steps[-1] + 1000
        gunicorn = {"command": server.procfile_command, "workers": workers, "worker_class": config.get("worker_class"),
                    "worker_connections": connections, "timeout": config.get("timeout"),
                    "backlog": config.get("backlog"), "keepalive": config.get("keepalive")}
        if workers * connections < need:
            per_worker = need  # gevent workers do not share connections evenly: any one may take most
            self.log(f"note: gunicorn allows {workers} × {connections} = {workers * connections} connections; "
                     f"this run needs {need}: raising worker_connections to {per_worker} via GUNICORN_CMD_ARGS. "
                     "Raise it in gunicorn.conf.py to hold this many streams in production.")
            server = services.GunicornApp(env, server.log_path, extra_args=f"--worker-connections {per_worker}")
            gunicorn["worker_connections_raised_to"] = per_worker
        server.worker_count = workers
        self.results["gunicorn"] = gunicorn
        return server

    def _seed(self, db):
        from .scenarios.seeding import make
        started = time.monotonic()
        data = make(self, db)
        self.results["seed_seconds"] = round(time.monotonic() - started, 1)
        self.log(f"data made in {self.results['seed_seconds']} s")
        return data

    def _baselines(self, db, redis, data):
        sizes = self.sizes
        self.log("baseline: redis-benchmark PUBLISH")
        base = self.results.setdefault("baselines", {})
        base["redis_publish"] = self.measure(baselines.redis_publish, redis.port,
                                             self.results["gunicorn"]["workers"], sizes.redis_requests)
        self.log(f"  {base['redis_publish']['rps']:.0f} PUBLISH/s, p99 {base['redis_publish']['p99_ms']} ms")
        self.log(f"baseline: pgbench single-row inserts into messages, {sizes.sends_concurrency} clients")
        base["pgbench_insert"] = self.measure(baselines.pgbench_inserts, db.url, data["pgbench_targets"],
                                              sizes.sends_concurrency, sizes.pgbench_seconds, self.out_dir)
        pgbench = base["pgbench_insert"]
        self.log(f"  {pgbench['tps']:.0f} inserts/s, p99 {pgbench['latency_ms']['p99']} ms")
        if self.wants("sends"):
            self.log(f"baseline: the null insert app, {sizes.sends_concurrency} clients closed loop, "
                     f"{sizes.sends_rate:.0f} msg/s open loop")
            server = services.NullInsertApp(db.url, os.path.join(self.out_dir, "nullinsert.log"),
                                            self.results["gunicorn"]["workers"]).start()
            try:
                base["null_insert"] = self.measure(
                    baselines.null_insert, self, NullInsertTarget(self, server), data["insert_pairs"],
                    sizes.sends_rate, sizes.sends_seconds, sizes.sends_concurrency, sizes.closed_seconds)
            finally:
                self.sender.call("close")
                server.stop()
            ni = base["null_insert"]
            self.log(f"  {ni['closed_loop']['sends_per_second']:.0f} sends/s (POST p99 "
                     f"{ni['closed_loop']['post_ms']['p99']} ms); at {sizes.sends_rate:.0f} msg/s POST p99 "
                     f"{ni['open_loop']['post_ms']['p99']} ms, errors {ni['open_loop']['send_errors'] or 0}")

    def _scenarios(self, target, data):
        """Run the wanted scenarios against ``target``; the app gets a fresh server before each group, so
        that the backlog an overload leaves behind does not slow down the next figure."""
        sizes, out = self.sizes, self.results.setdefault(target.name, {})
        is_app = target.name == "app"
        groups = []
        if self.wants("idle") or self.wants("storm"):
            groups.append(("idle", lambda: self._idle_and_storm(target, data, out)))
        if self.wants("fanout"):
            groups.append(("fanout", lambda: out.__setitem__("fanout", self.measure(
                fanout.run, self, target, data["fanout_id"], data["fanout_members"], sizes.fanout_messages,
                sizes.fanout_interval))))
        if self.wants("deliveries"):
            groups.append(("deliveries", lambda: out.__setitem__("deliveries", self.measure(
                deliveries.run, self, target, data["small_people"], data["small_groups"], sizes.delivery_rates,
                sizes.step_seconds))))
        if self.wants("deliveries") and sizes.also_small_group and data.get("also_small_groups"):
            key = f"deliveries_{sizes.also_small_group}"
            groups.append((key, lambda: out.__setitem__(key, self.measure(
                deliveries.run, self, target, data["small_people"], data["also_small_groups"],
                sizes.also_delivery_rates, sizes.step_seconds))))
        if is_app and self.wants("sends"):
            groups.append(("sends", lambda: out.__setitem__("sends", self.measure(
                sends.run, self, target, data["send_pairs"], sizes.sends_rate, sizes.sends_seconds,
                sizes.sends_concurrency, sizes.closed_seconds))))
        if is_app and self.wants("history"):
            groups.append(("history", lambda: out.__setitem__("history", self.measure(
                history.run, self, target.server.port, self.db.url, data["history_id"], data["history_reader"],
                sizes.history_messages, sizes.history_depths, sizes.history_samples, data["hub"],
                sizes.inbox_conversations))))
        if is_app and self.wants("day") and data.get("day_groups"):
            groups.append(("day", lambda: out.__setitem__("day", self.measure(
                day.run, self, target, data["day_people"], data["day_groups"], sizes))))
        if is_app and self.wants("search"):  # last: its corpus (made when it runs) would weigh on the others
            groups.append(("search", lambda: out.__setitem__("search", self.measure(
                search_scenario.run_in_bench, self, target.server.port, self.db))))
        for i, (name, step) in enumerate(groups):
            if i:
                self._fresh(target, name)
            if is_app:  # others work in the same tree: the code a server loaded is the code measured
                self.results.setdefault("code_per_scenario", {})[name] = target.server.code
            self.log(f"{name} ({target.name})")
            with profile.maybe(self, target, name):
                step()

    def _idle_and_storm(self, target, data, out):
        sizes = self.sizes
        out["idle"] = self.measure(idle.run, self, target, data["people"], sizes.idle_steps, sizes.cpu_window)
        if self.wants("storm"):
            self.log(f"reconnect storm ({target.name})")
            out["storm"] = self.measure(storm.run, self, target, data["storm_groups"], sizes.storm_rate,
                                        sizes.storm_seconds, sizes.storm_drop_after, check=target.name == "app")
        call_all(self.stream_workers, "close", timeout=300)
        time.sleep(1)

    def _fresh(self, target, scenario):
        """Close every stream and connection; for the app, restart gunicorn and wait for the outbox."""
        call_all(self.stream_workers, "close", timeout=300)
        self.sender.call("close")
        if target.name != "app":
            return
        started = time.monotonic()
        target.server.stop()
        target.server.start()
        left = seed.settle_outbox(self.db.url, timeout=120)
        self.log(f"  fresh app server in {time.monotonic() - started:.1f} s (outbox rows unpublished: {left})")
        # The people whose streams the last scenario closed lapse some seconds later, and the new server
        # announces each of them offline (a contacts query and a publish each): thousands after the storm.
        # That is the last scenario's cost; the next one is measured once it has been paid, and its time
        # is reported (``settling``).
        started = time.monotonic()
        pending = seed.settle_presence(self.redis.url, timeout=300)
        seconds = round(time.monotonic() - started, 1)
        self.results.setdefault("settling", []).append({"before": scenario, "presence_seconds": seconds,
                                                        "presence_pending": pending})
        self.log(f"  presence settled in {seconds} s ({pending} people still to report)")


def _streams_main(conn):
    from . import streams
    streams.main(conn)


def _sender_main(conn):
    from . import sender
    sender.main(conn)
