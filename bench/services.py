"""The services a run starts for itself, all on loopback: a fresh Postgres database, redis-server, the app
under gunicorn as the Procfile starts it, and the null SSE server. Each is stopped (or dropped) at the end.
"""
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class ServiceError(RuntimeError):
    """A service did not start; the message says what to do."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout, process=None, what="service"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceError(f"{what} exited with status {process.returncode} while starting")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise ServiceError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def stop_process(process, timeout=15):
    """SIGTERM, then SIGKILL after ``timeout`` s: only the process this run started (and its children)."""
    if process is None or process.poll() is not None:
        return
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    for child in children:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


class PostgresDatabase:
    """A database of this run's own on the local server, migrated with ``chat.migrations.upgrade``."""

    def __init__(self, admin_url=PG_ADMIN_URL):
        self.admin_url = admin_url
        self.name = "chat_bench_" + uuid.uuid4().hex[:10]
        self.url = admin_url.rsplit("/", 1)[0] + "/" + self.name  # plain postgresql:// (pgbench, psycopg)

    @property
    def sqlalchemy_url(self):
        return self.url.replace("postgresql://", "postgresql+psycopg://", 1)

    def create(self):
        import psycopg
        try:
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'create database "{self.name}"')
        except psycopg.OperationalError as error:
            raise ServiceError(f"PostgreSQL is not reachable at {self.admin_url}: {error}. Start it, or set "
                               "BENCH_PG_URL to a superuser URL (trust auth) of a server on loopback.") from None
        from chat import migrations
        from chat.db import Database
        db = Database(self.sqlalchemy_url)
        try:
            applied = migrations.upgrade(db)
        finally:
            db.dispose()
        if not applied:
            raise ServiceError("chat.migrations.upgrade applied no migrations: supabase/migrations/ is empty, "
                               "so there is no Postgres schema to benchmark yet.")
        return applied

    def settings(self):
        import psycopg
        with psycopg.connect(self.url, autocommit=True) as conn:
            names = ("server_version", "max_connections", "shared_buffers", "synchronous_commit", "fsync",
                     "work_mem")
            return {n: conn.execute(f"show {n}").fetchone()[0] for n in names}

    def drop(self):
        import psycopg
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{self.name}" with (force)')


class RedisServer:
    """A redis-server of this run's own, on a free port, persisting nothing."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise ServiceError("redis-server is not on PATH: apt-get install redis-server")
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--maxclients", "20000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, 10, self.process, "redis-server")
        return self

    def stop(self):
        stop_process(self.process)


def procfile_web_command():
    """The ``web:`` line of the Procfile, or None when there is no Procfile yet."""
    path = ROOT / "Procfile"
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith("web:"):
            return line[len("web:"):].strip()
    return None


def gunicorn_argv(port):
    """The Procfile's web command as argv for ``port`` (``$PORT``/``${PORT:-…}`` substituted)."""
    command = procfile_web_command()
    if command is None:
        command = "gunicorn -c gunicorn.conf.py app:app" if (ROOT / "gunicorn.conf.py").exists() else \
            "gunicorn -k gevent -w 2 app:app"
    command = re.sub(r"\$\{PORT(:-[^}]*)?\}|\$PORT", str(port), command)
    argv = shlex.split(command)
    if argv and argv[0] == "gunicorn":
        argv = [sys.executable, "-m", "gunicorn", *argv[1:]]
    return argv, command


class GunicornApp:
    """The app as production starts it: the Procfile's command, with the run's own env and port."""

    def __init__(self, env, log_path, extra_args=""):
        self.port = free_port()
        self.argv, self.procfile_command = gunicorn_argv(self.port)
        self.env = dict(os.environ, **env, PORT=str(self.port))
        if extra_args:
            self.env["GUNICORN_CMD_ARGS"] = extra_args
        self.log_path = log_path
        self.process = None

    def effective_config(self):
        """gunicorn's resolved settings for this command (``--print-config``), as a dict of strings."""
        out = subprocess.run([*self.argv, "--print-config"], env=self.env, cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
        config = {}
        for line in out.stdout.splitlines():
            name, sep, value = line.partition("=")
            if sep:
                config[name.strip()] = value.strip()
        return config

    def start(self, timeout=60):
        from .system import code_version
        self.code = code_version(ROOT)
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=self.log, stderr=self.log,
                                        start_new_session=True)
        wait_for_port(self.port, timeout, self.process, "gunicorn")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            raise ServiceError(f"the app did not answer /healthz with 200 within {timeout} s; see {self.log_path}")
        self._wait_for_workers(timeout)
        return self

    def _wait_for_workers(self, timeout):
        want = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = self.workers()
            want = want or self._configured_workers()
            if want is None or len(workers) >= want:
                return
            time.sleep(0.2)

    def _configured_workers(self):
        return getattr(self, "worker_count", None)

    def workers(self):
        try:
            return psutil.Process(self.process.pid).children(recursive=False)
        except psutil.NoSuchProcess:
            return []

    def processes(self):
        try:
            master = psutil.Process(self.process.pid)
            return [master, *master.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self):
        stop_process(self.process, timeout=20)
        if getattr(self, "log", None):
            self.log.close()


class NullInsertApp(GunicornApp):
    """``bench.nullinsert:app`` under gunicorn with ``gunicorn.conf.py``'s settings (``bench/nullinsert_conf.py``)."""

    def __init__(self, database_url, log_path, workers, pool_size=None):
        env = {"NULLINSERT_DATABASE_URL": database_url}
        if pool_size:
            env["DATABASE_POOL_SIZE"] = str(pool_size)
        super().__init__(env, log_path)
        self.argv = [sys.executable, "-m", "gunicorn", "bench.nullinsert:app", "-c",
                     str(ROOT / "bench" / "nullinsert_conf.py")]
        self.procfile_command = "gunicorn bench.nullinsert:app -c bench/nullinsert_conf.py"
        self.worker_count = workers


class NullSSEServer:
    """``instances`` single-worker gunicorn gevent servers running ``bench.nullsse:app``."""

    def __init__(self, instances, log_path, worker_connections):
        self.ports = [free_port() for _ in range(instances)]
        self.log_path = log_path
        self.worker_connections = worker_connections
        self.procs = []

    def start(self):
        self.log = open(self.log_path, "ab")
        for port in self.ports:
            argv = [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", "1", "--worker-connections",
                    str(self.worker_connections), "-b", f"127.0.0.1:{port}", "--backlog", "4096",
                    "--timeout", "60", "--graceful-timeout", "2", "--log-level", "warning",
                    "bench.nullsse:app"]
            self.procs.append(subprocess.Popen(argv, cwd=ROOT, stdout=self.log, stderr=self.log,
                                               start_new_session=True))
        for port, proc in zip(self.ports, self.procs, strict=False):
            wait_for_port(port, 30, proc, "null SSE server")
        return self

    def processes(self):
        found = []
        for proc in self.procs:
            try:
                master = psutil.Process(proc.pid)
                found += [master, *master.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        return found

    def stop(self):
        for proc in self.procs:
            stop_process(proc)
        if getattr(self, "log", None):
            self.log.close()


def memory(processes):
    """Summed PSS, USS and RSS of ``processes``, in bytes.

    PSS (each shared page divided among the processes sharing it) sums to what the group really holds;
    USS alone undercounts pages a worker still shares copy-on-write with the master, and jumps as they
    are touched.
    """
    pss = uss = rss = 0
    for p in processes:
        try:
            info = p.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        pss += getattr(info, "pss", info.uss)
        uss += info.uss
        rss += info.rss
    return {"pss": pss, "uss": uss, "rss": rss}


def cpu_seconds(processes):
    total = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total
